/** readJsonFile: every way an input file can be wrong gives a ConfigError naming the file. */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from '@jest/globals';

import { readJsonFile } from '../../src/cli/input-files.js';
import { ConfigError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'input-files-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
function file(content: string | Buffer, name = `f${(counter += 1)}.json`): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

async function rejection(path: string, what = 'config'): Promise<ConfigError> {
  try {
    await readJsonFile(path, what);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).failureType).toBe('config_error');
    return error as ConfigError;
  }
  throw new Error(`accepted ${path}`);
}

describe('readJsonFile', () => {
  it('parses a JSON file', async () => {
    await expect(readJsonFile(file('{"a": [1, 2]}'), 'config')).resolves.toEqual({ a: [1, 2] });
  });

  it('accepts a UTF-8 byte-order mark', async () => {
    const path = file(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"api_token": "x"}')]));
    await expect(readJsonFile(path, 'config')).resolves.toEqual({ api_token: 'x' });
  });

  it('accepts surrounding whitespace and non-object JSON (the caller validates the shape)', async () => {
    await expect(readJsonFile(file('\n  [1]  \n'), 'state')).resolves.toEqual([1]);
  });

  it('a missing file: names the file and says it does not exist', async () => {
    const path = join(dir, 'nope.json');
    const error = await rejection(path);
    expect(error.message).toBe(`The config file ${path} does not exist`);
  });

  it('a directory: names it and says it is not a file', async () => {
    const path = join(dir, 'a-dir');
    mkdirSync(path);
    expect((await rejection(path, 'catalog')).message).toBe(`The catalog file ${path} is not a file`);
  });

  it('an empty or blank file: names it and says it is empty', async () => {
    const empty = file('');
    expect((await rejection(empty)).message).toBe(`The config file ${empty} is empty; it must hold JSON`);
    const blank = file(' \n\t ');
    expect((await rejection(blank, 'state')).message).toContain(`The state file ${blank} is empty`);
    const bomOnly = file(Buffer.from([0xef, 0xbb, 0xbf]));
    expect((await rejection(bomOnly)).message).toContain('is empty');
  });

  it('non-JSON: names the file and says it is not valid JSON', async () => {
    const path = file('api_token: abc\n');
    const error = await rejection(path);
    expect(error.message).toContain(`The config file ${path} is not valid JSON (`);
    const truncated = file('{"streams": [');
    expect((await rejection(truncated, 'catalog')).message).toContain(`The catalog file ${truncated} is not valid JSON`);
  });

  it('an oversized file is rejected before it is read', async () => {
    const path = file('');
    truncateSync(path, 50 * 1024 * 1024 + 1); // sparse: no 50 MB written
    const error = await rejection(path);
    expect(error.message).toContain(path);
    expect(error.message).toMatch(/52428801 bytes; that is too large to be a config/);
  });

  it('a file of exactly the limit is read (and then judged on its content)', async () => {
    const path = file('');
    truncateSync(path, 50 * 1024 * 1024); // NUL bytes: not JSON, but not "too large"
    const error = await rejection(path);
    expect(error.message).toContain('is not valid JSON');
  });

  const root = process.getuid?.() === 0;
  (root ? it.skip : it)('an unreadable file: names it and says it is not readable', async () => {
    const path = file('{}');
    chmodSync(path, 0o000);
    expect((await rejection(path)).message).toBe(`The config file ${path} is not readable`);
  });
});
