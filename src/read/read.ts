import type { Config } from '../config/config.js';
import { asConnectorError, type ConnectorError } from '../errors.js';
import { createClient } from '../http/create-client.js';
import type { Emitter } from '../protocol/emitter.js';
import type { StreamName } from '../streams/schemas/index.js';
import { readProjectHistory } from './project-history.js';
import type { ReadContext } from './read-context.js';
import type { Selection } from './selection.js';
import { emptyState, serialiseState, type IncrementalState } from './state-input.js';
import { StreamFailures } from './stream-failures.js';
import { readTree } from './tree-reader.js';

/**
 * One `read`: the organization tree, then the project histories, then a final state and
 * status per stream. A stream that failed ends INCOMPLETE with a TRACE ERROR naming it,
 * after the others have saved their state. Returns the process exit code.
 */
export async function read(config: Config, selection: Selection, states: Map<StreamName, IncrementalState>, emitter: Emitter): Promise<number> {
  const client = createClient(config, emitter);
  const failures = new StreamFailures();
  const context: ReadContext = {
    config,
    client,
    emitter,
    selection,
    states,
    failures,
    listContext: { client, config, log: (level, message) => emitter.log(level, message) },
  };
  for (const stream of selection.keys()) emitter.streamStatus(stream, 'STARTED');
  for (const stream of selection.keys()) emitter.streamStatus(stream, 'RUNNING');
  let fatal: ConnectorError | undefined;
  const finished = new Set<StreamName>();
  try {
    for (const stream of await readTree('collaborations', context)) finished.add(stream);
    for (const stream of await readProjectHistory(context)) finished.add(stream);
  } catch (error) {
    fatal = asConnectorError(error);
  } finally {
    await client.close();
  }

  for (const [stream, mode] of selection) {
    if (!finished.has(stream) || failures.has(stream)) {
      emitter.streamStatus(stream, 'INCOMPLETE');
      continue;
    }
    const state = mode === 'incremental' ? serialiseState(stream, states.get(stream) ?? emptyState()) : {};
    emitter.state(stream, state);
    emitter.streamStatus(stream, 'COMPLETE');
  }
  if (fatal) {
    emitter.error(fatal.message, fatal.failureType, fatal.internalMessage ? { internalMessage: fatal.internalMessage } : {});
    return 1;
  }
  if (failures.size > 0) {
    for (const [stream, error] of failures.entries()) emitter.error(`Stream ${stream} did not complete: ${error.message}`, error.failureType, { stream });
    return 1;
  }
  emitter.log('INFO', `read complete: ${client.stats.requests} requests, ${client.stats.retries} retries, ${client.stats.rateLimited} rate-limited`);
  return 0;
}
