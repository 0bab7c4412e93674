import type { Config } from '../config/config.js';
import type { ConnectorError } from '../errors.js';
import { createClient } from '../http/create-client.js';
import type { Emitter } from '../protocol/emitter.js';
import { DEFAULT_CHECKPOINT_RECORDS, DEFAULT_EXPORT_POLL_INTERVAL_MS, type RunOptions } from '../run-options.js';
import type { StreamName } from '../streams/schemas/index.js';
import { futureStartDate } from '../config/future-start.js';
import { STREAM_GRAPH as graph } from '../streams/streams.js';
import { readHistory } from './history-reader.js';
import { count, ReadSummary } from './read-summary.js';
import { isConfiguredProjectRoot, type ReadContext } from './read-context.js';
import type { Selection } from './selection.js';
import { emptyState, serialiseState, type IncrementalState } from './state-input.js';
import { Cancelled, StreamFailures } from './stream-failures.js';
import { Checkpoints } from './checkpoints.js';
import { readTree } from './tree-reader.js';
import { progressLine } from './progress-lines.js';
import { RowEstimates } from './row-estimates.js';
import { sleepUnlessAborted } from '../util/sleep.js';

/**
 * One `read`: every root's streams side by side (a newest-first root by the history
 * reader, any other by the tree reader), then a final state and status per stream. A
 * failure stays in its part (one stream under one parent): that stream ends INCOMPLETE
 * after a final state for the parts that completed, everything else goes on, and one
 * TRACE ERROR at the end lists what failed. Returns the process exit code.
 *
 * The sides share the client, whose governor bounds the requests in flight, and a
 * `halt`: a token refused outright (StreamFailures.isFatal) on any side aborts it, the others then start nothing
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
  const startedAt = Date.now();
  const failures = new StreamFailures();
  const halt = new AbortController();
  // A cancel abandons the requests in flight (a fatal error lets them land: nothing waits on them).
  const abandon = new AbortController();
  const cancel = options.cancel;
  const onCancel = () => {
    if (!halt.signal.aborted) halt.abort(new Cancelled(typeof cancel?.reason === 'string' ? cancel.reason : 'cancelled'));
    abandon.abort();
  };
  cancel?.addEventListener('abort', onCancel, { once: true });
  if (cancel?.aborted) onCancel();
  const client = createClient(config, emitter, options.requestTimeoutMs, abandon.signal);
  const summary = new ReadSummary((level, message) => emitter.log(level, message));
  // Organization streams would be the same on every shard: shard 0 reads them, the others end them empty with their state unchanged.
  const elsewhere = config.shardIndex === 0 ? [] : [...selection.keys()].filter((stream) => !graph.scoped(stream));
  const context: ReadContext = {
    config,
    client,
    emitter,
    selection: new Map([...selection].filter(([stream]) => !elsewhere.includes(stream))),
    states,
    checkpoints: new Checkpoints(emitter, options.stateWeight),
    failures,
    listContext: { client, config, log: (level, message) => emitter.log(level, message), signal: halt.signal },
    summary,
    exportPolling: {
      intervalMs: options.exportPollIntervalMs ?? DEFAULT_EXPORT_POLL_INTERVAL_MS,
      sleep: options.sleep ?? sleepUnlessAborted,
    },
    walking: new Map(),
    waiting: new Map(),
    estimates: new RowEstimates((stream, rows) => emitter.estimate(stream, rows)),
    syncedAt: new Date((options.clock ?? Date.now)()).toISOString(),
  };
  const progress = setInterval(() => emitter.log('INFO', progressLine(context, startedAt)), options.progressEveryMs ?? 30_000);
  progress.unref();
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
  const finished = new Set<StreamName>(elsewhere);
  if (elsewhere.length > 0) {
    emitter.log('INFO', `shard_index ${config.shardIndex}: ${elsewhere.join(', ')} are organization streams, read by shard 0 only; no records here`);
  }
  try {
    const checkpointRecords = options.checkpointRecords ?? DEFAULT_CHECKPOINT_RECORDS;
    const outcomes = await Promise.allSettled(
      graph.roots().map((root) =>
        side(() => (graph.get(root).newestFirst ? readHistory(root, context, checkpointRecords, halt) : readTree(root, context, halt))),
      ),
    );
    for (const outcome of outcomes) if (outcome.status === 'fulfilled') for (const stream of outcome.value) finished.add(stream);
  } finally {
    clearInterval(progress);
    cancel?.removeEventListener('abort', onCancel);
    await client.close();
  }
  if (halt.signal.reason instanceof Cancelled) return cancelled(halt.signal.reason, selection, states, emitter, client.stats.requests);
  // The first fatal error is the one reported; the other side's are its echoes.
  const fatal: ConnectorError | undefined = halt.signal.aborted ? StreamFailures.forRead(halt.signal.reason) : undefined;
  // Every configured project answered 404: the streams read under them fail with a config_error naming them.
  const noProject = summary.noProjectFound(config.projectSlugs);
  if (noProject) failures.add(underConfiguredProjects().filter((stream) => finished.has(stream)), noProject);

  const failedParts = failures.parts.length + (fatal ? 1 : 0);
  const closing = (verb: string) =>
    `${verb}: ${((Date.now() - startedAt) / 1000).toFixed(1)} s, ${count(client.stats.requests, 'request')}, ${count(client.stats.retries, 'retry', 'retries')}, ` +
    `${client.rateSummary}${summary.line(config.projectSlugs)}`;
  const perStream = [...selection.keys()]
    .map((stream) => `${stream} ${count(emitter.recordCount(stream), 'record')} ${finished.has(stream) && !failures.has(stream) ? 'COMPLETE' : 'INCOMPLETE'}`)
    .join(', ');
  emitter.log('INFO', `streams: ${perStream}`);
  // A failed read says so before its final messages (the TRACE ERROR is the very last).
  if (failedParts > 0) emitter.log('INFO', `${closing('read ended')}; ${count(failedParts, 'part')} failed${emitter.warnings > 0 ? ' (see the WARN lines)' : ''}`);

  for (const [stream, mode] of selection) {
    if (!finished.has(stream)) {
      emitter.streamStatus(stream, 'INCOMPLETE');
      continue;
    }
    // A stream that failed somewhere still saves what completed (its other partitions' bookmarks).
    const state = mode === 'incremental' ? serialiseState(stream, states.get(stream) ?? emptyState()) : {};
    emitter.state(stream, state);
    emitter.streamStatus(stream, failures.has(stream) ? 'INCOMPLETE' : 'COMPLETE');
  }
  if (fatal) {
    emitter.error(fatal.message, fatal.failureType, fatal.internalMessage ? { internalMessage: fatal.internalMessage } : {});
    return 1;
  }
  const failed = failures.summary();
  if (failed) {
    emitter.error(failed.message, failed.failureType);
    return 1;
  }
  emitter.log('INFO', closing('read complete'));
  return 0;
}

/** The streams of the roots listed under the configured projects (one partition per project). */
function underConfiguredProjects(): StreamName[] {
  return graph
    .roots()
    .filter((root) => isConfiguredProjectRoot(graph.get(root)))
    .flatMap((root) => graph.members(root));
}

/**
 * The end of a cancelled read: a STATE per incremental stream claiming only what is done
 * (bookmarks of finished partitions, the history walks' resume markers, all saved as they
 * were reached), so the next sync resumes from it with nothing lost; every stream
 * INCOMPLETE; no TRACE ERROR (a cancel is not a failure).
 */
function cancelled(reason: Cancelled, selection: Selection, states: Map<StreamName, IncrementalState>, emitter: Emitter, requests: number): number {
  for (const [stream, mode] of selection) {
    if (mode === 'incremental') emitter.state(stream, serialiseState(stream, states.get(stream) ?? emptyState()));
    emitter.streamStatus(stream, 'INCOMPLETE');
  }
  emitter.log('WARN', `read ${reason.message}: no new requests after ${requests}; state saved for what was read, the next sync resumes from it`);
  return 1;
}
