#!/usr/bin/env node
import { runCommandLine } from './commands/dispatch.js';
import { Emitter } from './protocol/emitter.js';

/**
 * Entry point: `spec`, `check`, `discover` or `read`, with the default run options, whose
 * stdout is protocol messages only. Whatever goes wrong ends as one TRACE ERROR on stdout
 * and a non-zero exit code; the exit code is set rather than forced so that stdout is
 * flushed before the process ends. `--help` and `--version` print plain text for a person
 * and exit 0.
 */
const emitter = new Emitter();

// A destination that stops reading closes our stdout; there is no one left to tell.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 1);
  throw error;
});

// docker stop and Airbyte's cancel send SIGTERM (a terminal, SIGINT): a read stops asking,
// saves what it read and ends; a second signal ends the process at once. Without these
// handlers node as PID 1 would ignore SIGTERM.
const cancel = new AbortController();
for (const name of ['SIGTERM', 'SIGINT'] as const) {
  process.on(name, () => {
    if (cancel.signal.aborted) process.exit(1);
    cancel.abort(name);
  });
}

process.exitCode = await runCommandLine(process.argv.slice(2), emitter, { cancel: cancel.signal });
