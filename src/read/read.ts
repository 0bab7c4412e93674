import type { Config } from '../config/config.js';
import { asConnectorError, type ConnectorError } from '../errors.js';
import { createClient } from '../http/create-client.js';
import type { Emitter } from '../protocol/emitter.js';
import { DEFAULT_CHECKPOINT_RECORDS, type RunOptions } from '../run-options.js';
import type { StreamName } from '../streams/schemas/index.js';
import { futureStartDate } from '../config/future-start.js';
import { STREAM_GRAPH as graph } from '../streams/streams.js';
import { readHistory } from './history-reader.js';
import { ReadSummary } from './read-summary.js';
import { isConfiguredProjectRoot, type ReadContext } from './read-context.js';
import type { Selection } from './selection.js';
import { emptyState, serialiseState, type IncrementalState } from './state-input.js';
import { StreamFailures } from './stream-failures.js';
import { readTree } from './tree-reader.js';

/**
 * One `read`: every root's streams side by side (a newest-first root by the history
 * reader, any other by the tree reader), then a final state and status per stream. A stream that failed ends INCOMPLETE with a TRACE ERROR
 * naming it, after the others have saved their state. Returns the process exit code.
 *
 * The sides share the client, whose governor bounds the requests in flight, and a
 * `halt`: a fatal error (401, 400) on any side aborts it, the others then start nothing
 * new, and only once all have settled are the final messages written (nothing is written
 * after them). A side that was stopped never counts as finished.
 */
export async function read(
  config: Config,
  selection: Selection,
  states: Map<StreamName, IncrementalState>,
  emitter: Emitter,
  options: RunOptions = {},
): Promise<number> {
  const client = createClient(config, emitter, options.requestTimeoutMs);
  const failures = new StreamFailures();
  const halt = new AbortController();
  const summary = new ReadSummary((level, message) => emitter.log(level, message));
  const context: ReadContext = {
    config,
    client,
    emitter,
    selection,
    states,
    failures,
    listContext: { client, config, log: (level, message) => emitter.log(level, message), signal: halt.signal },
    summary,
    syncedAt: new Date((options.clock ?? Date.now)()).toISOString(),
  };
  const future = futureStartDate(config.startDate, Date.now()); // said, not failed (see README)
  if (future !== undefined) emitter.log('WARN', future);
  for (const stream of selection.keys()) emitter.streamStatus(stream, 'STARTED');
  for (const stream of selection.keys()) emitter.streamStatus(stream, 'RUNNING');
  // Anything a side rejects with ends the read, as a fatal error always did.
  const side = async (work: () => Promise<StreamName[]>): Promise<StreamName[]> => {
    try {
      return await work();
    } catch (error) {
      if (!halt.signal.aborted) halt.abort(error);
      throw error;
    }
  };
  const finished = new Set<StreamName>();
  try {
    const checkpointRecords = options.checkpointRecords ?? DEFAULT_CHECKPOINT_RECORDS;
    const outcomes = await Promise.allSettled(
      graph.roots().map((root) =>
        side(() => (graph.get(root).newestFirst ? readHistory(root, context, checkpointRecords, halt) : readTree(root, context, halt))),
      ),
    );
    for (const outcome of outcomes) if (outcome.status === 'fulfilled') for (const stream of outcome.value) finished.add(stream);
  } finally {
    await client.close();
  }
  // The first fatal error is the one reported; the other side's are its echoes.
  const fatal: ConnectorError | undefined = halt.signal.aborted ? asConnectorError(halt.signal.reason) : undefined;
  // Every configured project answered 404: the streams read under them fail with a config_error naming them.
  const noProject = summary.noProjectFound(config.projectSlugs);
  if (noProject) failures.add(underConfiguredProjects().filter((stream) => finished.has(stream)), noProject);

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
  emitter.log('INFO', `read complete: ${client.stats.requests} requests, ${client.stats.retries} retries, ${client.rateSummary}${summary.line(config.projectSlugs)}`);
  return 0;
}

/** The streams of the roots listed under the configured projects (one partition per project). */
function underConfiguredProjects(): StreamName[] {
  return graph
    .roots()
    .filter((root) => isConfiguredProjectRoot(graph.get(root)))
    .flatMap((root) => graph.members(root));
}
