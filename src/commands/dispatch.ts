import { readJsonFile } from '../cli/input-files.js';
import type { Command } from '../cli/args.js';
import { parseConfig } from '../config/config.js';
import { loadSpec } from '../config/spec.js';
import type { Emitter } from '../protocol/emitter.js';
import { read } from '../read/read.js';
import { parseSelection } from '../read/selection.js';
import { parseState } from '../read/state-input.js';
import { buildCatalog } from '../streams/catalog.js';
import { check } from './check.js';

/** Runs one command; returns the exit code. Errors thrown here become one TRACE ERROR. */
export async function dispatch(command: Command, emitter: Emitter): Promise<number> {
  switch (command.name) {
    case 'spec':
      emitter.spec(loadSpec());
      return 0;
    case 'check':
      return check(await readJsonFile(command.config, 'config'), emitter);
    case 'discover': {
      const config = parseConfig(await readJsonFile(command.config, 'config'));
      emitter.redactor.add(config.apiToken);
      emitter.catalog(buildCatalog());
      return 0;
    }
    case 'read': {
      const config = parseConfig(await readJsonFile(command.config, 'config'));
      emitter.redactor.add(config.apiToken);
      const selection = parseSelection(await readJsonFile(command.catalog, 'catalog'));
      const states = parseState(command.state === undefined ? [] : await readJsonFile(command.state, 'state'), selection);
      return read(config, selection, states, emitter);
    }
  }
}
