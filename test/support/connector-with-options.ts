#!/usr/bin/env node
/**
 * The connector's command line as src/main.ts runs it, with internal run options
 * (src/run-options.ts) given by a test as the first argument:
 *
 *   node dist/test/support/connector-with-options.js '{"checkpointRecords":20}' read --config …
 *
 * For tests of the process as a whole (SIGKILL, stdout, stderr) that need a knob the
 * production entry point does not have.
 */
import { runCommandLine } from '../../src/commands/dispatch.js';
import { Emitter } from '../../src/protocol/emitter.js';
import type { RunOptions } from '../../src/run-options.js';

const [options = '{}', ...argv] = process.argv.slice(2);
const emitter = new Emitter();
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 1);
  throw error;
});
process.exitCode = await runCommandLine(argv, emitter, JSON.parse(options) as RunOptions);
