/**
 * The repository root, shared by tools/ and test/: both run from their sources' compiled
 * copies under dist/, so the root is found by walking up to package.json rather than by a
 * fixed number of `..`.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The nearest directory at or above this module holding package.json (works from tools/ and dist/tools/). */
export function repoRoot(): string {
  const here = fileURLToPath(import.meta.url);
  for (let dir = dirname(here); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${here}`);
  }
}
