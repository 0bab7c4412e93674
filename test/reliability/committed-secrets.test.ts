/**
 * No committed file holds a string shaped like a real CircleCI token. Secret scanners
 * (GitHub push protection, gitleaks) match tokens by shape, not by validity, so a fake
 * token of the real shape in integration_tests/ or a test would make a push of this
 * repository be refused or reported as a leaked credential.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

import { describe, expect, it } from '@jest/globals';

import { createWorld } from '../../tools/fake-circleci/index.js';
import { REPO_ROOT } from '../support/protocol.js';

/** CircleCI's v2 personal (CCIPAT_) and project (CCIPRJ_) token shapes, as scanners match them. */
const TOKEN_SHAPE = /\bCCIP(?:AT|RJ)_[A-Za-z0-9]{22}_[A-Fa-f0-9]{40}\b/;

/**
 * What a push would carry: the files git tracks plus the untracked ones it does not ignore
 * (a new file counts before it is added). A real token in secrets/ stays out, as git keeps it out.
 */
function committedFiles(): string[] {
  const tracked = gitFiles(['ls-files', '-z'], ['ls-files', '-z', '--others', '--exclude-standard']);
  const paths = tracked ?? walk(REPO_ROOT);
  // A tracked file deleted in the working tree is not there to read.
  return paths.filter((path) => statSync(path, { throwIfNoEntry: false })?.isFile());
}

/** Absolute paths from these `git` listings, or undefined when REPO_ROOT is not a checkout or git is missing. */
function gitFiles(...listings: string[][]): string[] | undefined {
  if (!existsSync(join(REPO_ROOT, '.git'))) return undefined;
  try {
    const names = listings.flatMap((args) => execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).split('\0'));
    return [...new Set(names.filter((name) => name !== ''))].map((name) => join(REPO_ROOT, name));
  } catch {
    return undefined;
  }
}

/** Without git: the directories and files .gitignore names (plus .git itself) are skipped by hand. */
const IGNORED_DIRS = new Set(['.git', 'node_modules', 'dist', 'secrets', 'coverage']);
const IGNORED_PATHS = new Set([join('.ci', 'out')]);

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (IGNORED_DIRS.has(name) || IGNORED_PATHS.has(relative(REPO_ROOT, path))) return [];
    if (statSync(path).isDirectory()) return walk(path);
    return name.endsWith('.log') ? [] : [path];
  });
}

describe('committed files', () => {
  it('hold no string of a real CircleCI token shape', () => {
    const files = committedFiles();
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
