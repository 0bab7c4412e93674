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

process.exitCode = await runCommandLine(process.argv.slice(2), emitter);
