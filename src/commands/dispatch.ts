import { readJsonFile } from '../cli/input-files.js';
import { parseArgs, type Command } from '../cli/args.js';
import { parseConfig } from '../config/config.js';
import { loadSpec } from '../config/spec.js';
import { helpText, versionText } from '../cli/usage.js';
import { asConnectorError } from '../errors.js';
import type { Emitter } from '../protocol/emitter.js';
import { parseSelection } from '../read/selection.js';
import { parseState } from '../read/state-input.js';
import type { RunOptions } from '../run-options.js';
import { buildCatalog } from '../streams/catalog.js';
import { check } from './check.js';

/**
 * The whole command line: parses it and runs the command. Whatever goes wrong ends as one
 * TRACE ERROR and exit code 1; everything is flushed before this returns. `--help` and
 * `--version` are for a person at a terminal: plain text on stdout, exit 0.
 */
export async function runCommandLine(argv: string[], emitter: Emitter, options: RunOptions = {}): Promise<number> {
  try {
    const invocation = parseArgs(argv);
    if (invocation.name === 'help' || invocation.name === 'version') {
      process.stdout.write(invocation.name === 'help' ? helpText() : versionText());
      return 0;
    }
    return await dispatch(invocation, emitter, options);
  } catch (error) {
    const failure = asConnectorError(error);
    emitter.error(failure.message, failure.failureType, failure.internalMessage ? { internalMessage: failure.internalMessage } : {});
    return 1;
  } finally {
    emitter.flush();
  }
}

/**
 * Runs one command; returns the exit code. Errors thrown here become one TRACE ERROR.
 * `options` are the internal knobs (run-options.ts): production runs the defaults.
 *
 * The HTTP stack (got, the client, the readers) is loaded only by the commands that talk
 * to CircleCI, and only after their inputs are valid: spec, discover and every input
 * error answer without paying for it.
 */
export async function dispatch(command: Command, emitter: Emitter, options: RunOptions = {}): Promise<number> {
  switch (command.name) {
    case 'spec':
      emitter.spec(loadSpec());
      return 0;
    case 'check': {
      const raw = await readJsonFile(command.config, 'config');
      protectToken(raw, emitter);
      return check(raw, emitter, options);
    }
    case 'discover': {
      const raw = await readJsonFile(command.config, 'config');
      protectToken(raw, emitter);
      parseConfig(raw);
      emitter.catalog(buildCatalog());
      return 0;
    }
    case 'read': {
      const raw = await readJsonFile(command.config, 'config');
      protectToken(raw, emitter);
      const config = parseConfig(raw);
      const selection = parseSelection(await readJsonFile(command.catalog, 'catalog'));
      const states = parseState(command.state === undefined ? [] : await readJsonFile(command.state, 'state'), selection);
      const { read } = await import('../read/read.js');
      return read(config, selection, states, emitter, options);
    }
  }
}

/**
 * Registers the token for redaction before the config is validated: a validation message
 * may quote a field, and a token pasted into the wrong field must not be printed either.
 */
function protectToken(raw: unknown, emitter: Emitter): void {
  if (raw === null || typeof raw !== 'object') return;
  const token = (raw as { api_token?: unknown }).api_token;
  if (typeof token !== 'string') return;
  emitter.redactor.add(token);
  if (token.trim() !== token) emitter.redactor.add(token.trim());
}
