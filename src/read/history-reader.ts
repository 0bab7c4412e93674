import type { ApiRecord } from '../streams/declaration.js';
import type { StreamName } from '../streams/schemas/index.js';
import { STREAM_GRAPH as graph } from '../streams/streams.js';
import { forEachConcurrent, Semaphore } from '../util/concurrency.js';
import { HistoryWalk, type HistoryRun } from './history-walk.js';
import { isQuiet } from './idle-skip.js';
import { rootParents, type ReadContext } from './read-context.js';
import { emptyState } from './state-input.js';
import { Cancelled, StreamFailures } from './stream-failures.js';

/**
 * A newest-first history (a root declared `newestFirst`, e.g. pipelines of the configured
 * projects, and everything below it), one walk per partition.
 *
 * Several partitions are walked at once (as many as requests may be in flight), and
 * within a partition the children of many root records are read concurrently while the
 * next root page is already being fetched. Every request goes through the run's one
 * rate governor; what bounds memory is the number of root records being read at a time
 * (twice the request concurrency, across all partitions), not the length of the history.
 *
 * State: each partition keeps its own `resume` marker while its walk is under way (see
 * HistoryWalk); `currently_syncing` names the earliest-started partition still in
 * progress. A sync resumes the partitions with a marker first.
 *
 * `halt` is shared with whatever else the read runs at the same time: a fatal error here
 * aborts it at once (so the other side stops too), and once it is aborted, from here or
 * from there, the walks start nothing new and save nothing more; the history then rejects
 * with the abort's reason, so its streams never count as finished.
 */
export async function readHistory(rootName: StreamName, context: ReadContext, checkpointRecords: number, halt = new AbortController()): Promise<StreamName[]> {
  const root = graph.get(rootName);
  const selected = graph.members(rootName).filter((name) => context.selection.has(name));
  if (selected.length === 0) return [];
  for (const name of selected) {
    if (context.selection.get(name) === 'incremental' && !context.states.has(name)) context.states.set(name, emptyState());
  }
  const { signal } = halt;
  const run: HistoryRun = {
    context,
    root,
    selected,
    rootSlots: new Semaphore(2 * context.config.maxConcurrency),
    inProgress: new Set(),
    checkpointRecords,
    // The walks read this wherever they would start work or save state.
    get aborted() {
      return signal.aborted;
    },
    get cancelled() {
      return signal.reason instanceof Cancelled;
    },
  };
  const under = await rootParents(root, selected, context, signal);
  if (under === undefined) return selected;
  const all = under.map((record): [string, ApiRecord] => [root.partition!.key(record), record]);
  const partitions = all.filter(([key, record]) => !isQuiet(root, record, key, selected, context));
  if (partitions.length < all.length) {
    context.emitter.log(
      'INFO',
      `${selected.join(', ')}: ${all.length - partitions.length} of ${all.length} partitions not walked: nothing finished under them since their last complete walk`,
    );
  }
  // The root stream's rows can be counted where positions are sequential; each walk reports its partition's count (a partition not walked adds none).
  if (root.newestFirst?.sequential && selected.includes(rootName)) context.estimates?.expect(rootName, partitions.map(([key]) => key));
  await forEachConcurrent(resumeFirst(partitions, selected, context), context.config.maxConcurrency, async ([key, record]) => {
    if (signal.aborted) return;
    try {
      await new HistoryWalk(record, key, run).run();
    } catch (error) {
      // Already ending on a fatal error: whatever else went wrong since adds nothing.
      if (signal.aborted) return;
      if (await context.failures.isFatal(error, context.client)) {
        if (!signal.aborted) halt.abort(error); // the other walks (and the rest of the read) stop starting work and save nothing more
        return;
      }
      if (signal.aborted) return;
      // This partition only: its bookmarks do not move (its resume marker keeps what it finished); the others go on.
      const failure = StreamFailures.forPart(error);
      context.failures.add(selected, failure, key);
      context.emitter.log('WARN', `${selected.join(', ')} under ${key} are incomplete: ${failure.message}`);
    }
  });
  signal.throwIfAborted();
  return selected;
}

/**
 * Partitions an interrupted sync left unfinished go first: the one named in
 * `currently_syncing`, then those with a resume marker, then the rest in config order.
 */
function resumeFirst<T>(partitions: ReadonlyArray<[string, T]>, selected: readonly StreamName[], context: ReadContext): Array<[string, T]> {
  const states = selected.map((name) => context.states.get(name)).filter((state) => state !== undefined);
  const rank = ([key]: [string, T]): number => {
    if (states.some((state) => state.currentlySyncing === key)) return 2;
    return states.some((state) => state.partitions.get(key)?.resume !== undefined) ? 1 : 0;
  };
  return [...partitions].sort((a, b) => rank(b) - rank(a));
}
