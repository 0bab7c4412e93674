/**
 * `npm run demo` (dist/tools/demo/demo.js) on the tiny world: both syncs run, the table
 * lists every stream with the totals, the outputs it names exist and hold protocol
 * messages, and the token appears nowhere in what it prints.
 */
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { STREAM_NAMES } from '../../src/streams/schemas/index.js';
import { acceptanceWorld } from '../../tools/acceptance/fake-account.js';
import { nodeBinary, spawnCollect, type ProcessResult } from '../../tools/acceptance/connector-process.js';
import { createWorld } from '../../tools/fake-circleci/index.js';
import { REPO_ROOT, assertProtocolLines } from '../support/protocol.js';

describe('npm run demo', () => {
  let run: ProcessResult;
  let outDir: string;

  beforeAll(async () => {
    run = await spawnCollect(nodeBinary(), [join(REPO_ROOT, 'dist', 'tools', 'demo', 'demo.js'), '--size', 'tiny', '--seed', '3'], { timeoutMs: 60_000 });
    outDir = /Outputs in (\S+):/.exec(run.stdout)?.[1] ?? '';
  });
  afterAll(() => {
    if (outDir.includes('source-circleci-demo-')) rmSync(outDir, { recursive: true, force: true });
  });

  it('exits 0 and prints one table row per stream, then the totals', () => {
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    const rows = run.stdout.split('\n').filter((line) => /^\S+\s+\d+\s+\d+\s+\d+\s+\d+$/.test(line));
    expect(rows.map((row) => row.split(/\s+/)[0])).toEqual([...STREAM_NAMES, 'total']);
    const [, first, second, requests1, requests2] = rows.at(-1)!.split(/\s+/).map(Number);
    expect(first).toBeGreaterThan(second!);
    expect(requests1).toBeGreaterThan(requests2!);
    expect(second).toBeGreaterThan(0); // the world moved on between the syncs
  });

  it('writes both syncs as protocol messages, and the states, where it says', () => {
    expect(existsSync(outDir)).toBe(true);
    expect(readdirSync(outDir).sort()).toEqual(['catalog.json', 'state-after-sync-1.json', 'state-after-sync-2.json', 'sync-1.jsonl', 'sync-2.jsonl']);
    for (const file of ['sync-1.jsonl', 'sync-2.jsonl']) expect(assertProtocolLines(readFileSync(join(outDir, file), 'utf8')).length).toBeGreaterThan(0);
  });

  it('never prints the token, nor leaves it in its outputs', () => {
    const token = createWorld({ preset: 'tiny', seed: 3 }).token;
    expect(token).not.toBe(acceptanceWorld().token);
    expect(run.stdout + run.stderr).not.toContain(token);
    for (const file of readdirSync(outDir)) expect(readFileSync(join(outDir, file), 'utf8')).not.toContain(token);
  });
});
