// The Node flags of the command the image runs, read from the Dockerfile's ENTRYPOINT,
// so the benchmark measures the connector as it ships (a flag added to or removed from
// the image changes what is measured, with no second list to keep in step).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const SCRIPT = /\/dist\/src\/main\.js$/;

/** The arguments between `node` and the script in the Dockerfile's exec-form ENTRYPOINT. */
export function shippedNodeFlags(repoRoot: string): string[] {
  const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
  const line = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile);
  if (!line) throw new Error('Dockerfile: no exec-form ENTRYPOINT ["node", ..., ".../dist/src/main.js"] found');
  const entrypoint = JSON.parse(line[1]!) as string[];
  const script = entrypoint.findIndex((arg) => SCRIPT.test(arg));
  if (script < 1 || !/(^|\/)node$/.test(entrypoint[0]!)) throw new Error(`Dockerfile: ENTRYPOINT ${line[1]} is not node [flags] .../dist/src/main.js`);
  return entrypoint.slice(1, script);
}
