/**
 * No committed file holds a string shaped like a real CircleCI token. Secret scanners
 * (GitHub push protection, gitleaks) match tokens by shape, not by validity, so a fake
 * token of the real shape in integration_tests/ or a test would make a push of this
 * repository be refused or reported as a leaked credential.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

import { describe, expect, it } from '@jest/globals';

import { createWorld } from '../../tools/fake-circleci/index.js';
import { REPO_ROOT } from '../support/protocol.js';

/** CircleCI's v2 personal (CCIPAT_) and project (CCIPRJ_) token shapes, as scanners match them. */
const TOKEN_SHAPE = /\bCCIP(?:AT|RJ)_[A-Za-z0-9]{22}_[A-Fa-f0-9]{40}\b/;
/** Built, installed or produced by runs: not committed. */
const NOT_COMMITTED = new Set(['.git', 'node_modules', 'dist', 'out']);

function committedFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (NOT_COMMITTED.has(name)) return [];
    const path = join(dir, name);
    return statSync(path).isDirectory() ? committedFiles(path) : [path];
  });
}

describe('committed files', () => {
  it('hold no string of a real CircleCI token shape', () => {
    const files = committedFiles(REPO_ROOT);
    expect(files.some((file) => file.endsWith(join('integration_tests', 'sample_config.json')))).toBe(true);
    const found = files.filter((file) => TOKEN_SHAPE.test(readFileSync(file, 'utf8'))).map((file) => relative(REPO_ROOT, file));
    expect(found).toEqual([]);
  });

  it('the fake world\'s tokens keep CircleCI\'s prefixes but not the scanned shape', () => {
    const world = createWorld({ seed: 1 });
    for (const token of [world.token, world.projectToken]) {
      expect(token).toMatch(/^CCIP(AT|RJ)_/);
      expect(token).not.toMatch(TOKEN_SHAPE);
    }
  });

  it('the shape check recognises a token of the real shape', () => {
    expect(`"api_token": "CCIPAT_${'a1'.repeat(11)}_${'0f'.repeat(20)}"`).toMatch(TOKEN_SHAPE);
  });
});
