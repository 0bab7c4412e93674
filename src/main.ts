#!/usr/bin/env node
import { parseArgs } from './cli/args.js';
import { helpText, versionText } from './cli/usage.js';
import { dispatch } from './commands/dispatch.js';
import { asConnectorError } from './errors.js';
import { Emitter } from './protocol/emitter.js';

/**
 * Entry point: `spec`, `check`, `discover` or `read`, whose stdout is protocol messages
 * only; an error before or outside a read ends as one TRACE ERROR and a non-zero exit
 * code. The exit code is set rather than forced so that stdout is flushed before the
 * process ends. `--help` and `--version` print plain text for a person and exit 0.
 */
const emitter = new Emitter();

// A destination that stops reading closes our stdout; there is no one left to tell.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 1);
  throw error;
});

async function main(): Promise<void> {
  try {
    const command = parseArgs(process.argv.slice(2));
    if (command.name === 'help' || command.name === 'version') {
      process.stdout.write(command.name === 'help' ? helpText() : versionText());
      process.exitCode = 0;
      return;
    }
    process.exitCode = await dispatch(command, emitter);
  } catch (error) {
    const failure = asConnectorError(error);
    emitter.error(failure.message, failure.failureType, failure.internalMessage ? { internalMessage: failure.internalMessage } : {});
    process.exitCode = 1;
  } finally {
    emitter.flush();
  }
}

await main();
