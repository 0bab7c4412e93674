#!/usr/bin/env node
import { parseArgs } from './cli/args.js';
import { dispatch } from './commands/dispatch.js';
import { asConnectorError } from './errors.js';
import { Emitter } from './protocol/emitter.js';

/**
 * Entry point: `spec`, `check`, `discover` or `read`. Whatever goes wrong ends as one
 * TRACE ERROR on stdout and a non-zero exit code; the exit code is set rather than
 * forced so that stdout is flushed before the process ends.
 */
const emitter = new Emitter();

// A destination that stops reading closes our stdout; there is no one left to tell.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 1);
  throw error;
});

async function main(): Promise<void> {
  try {
    process.exitCode = await dispatch(parseArgs(process.argv.slice(2)), emitter);
  } catch (error) {
    const failure = asConnectorError(error);
    emitter.error(failure.message, failure.failureType, failure.internalMessage ? { internalMessage: failure.internalMessage } : {});
    process.exitCode = 1;
  } finally {
    emitter.flush();
  }
}

await main();
