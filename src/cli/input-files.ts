import { readFile, stat } from 'node:fs/promises';
import { ConfigError } from '../errors.js';

/** Config, catalog and state files are small; anything larger is not what we were given. */
const MAX_INPUT_BYTES = 50 * 1024 * 1024;

/** Reads and parses one JSON input file, with an error naming the file and what is wrong. */
export async function readJsonFile(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new ConfigError(`The ${what} file ${path} is not a file`);
    if (info.size > MAX_INPUT_BYTES) throw new ConfigError(`The ${what} file ${path} is ${info.size} bytes; that is too large to be a ${what}`);
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable' : `cannot be read (${code ?? 'error'})`;
    throw new ConfigError(`The ${what} file ${path} ${why}`);
  }
  // Editors on some systems save a byte-order mark; it is not part of the JSON.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') throw new ConfigError(`The ${what} file ${path} is empty; it must hold JSON`);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`The ${what} file ${path} is not valid JSON (${describeSyntaxError(error)})`);
  }
}

/**
 * V8's JSON errors quote a slice of the input ("Unexpected token 'a', "api_token:"... is
 * not valid JSON"). Input files hold the API token, and the token is not known (nor
 * redacted) until the config parses, so the quoted slice is dropped; the position stays.
 */
function describeSyntaxError(error: unknown): string {
  if (!(error instanceof SyntaxError)) return 'invalid JSON';
  const withoutSource = error.message
    .replace(/,\s*(\.\.\.)?"[\s\S]*"(\.\.\.)? is not valid JSON$/, '')
    .replace(/ is not valid JSON$/, '')
    .replace(/^("[\s\S]*")$/, 'unexpected input');
  return withoutSource.trim() === '' ? 'invalid JSON' : withoutSource;
}
