import { asConnectorError } from '../errors.js';
import type { StreamName } from '../streams/schemas/index.js';
import { forEachConcurrent, Semaphore } from './concurrency.js';
import type { ReadContext } from './read-context.js';
import { emptyState } from './state-input.js';
import { isFatal } from './stream-failures.js';
import { HISTORY_STREAMS, ProjectWalk, type HistoryRun } from './project-walk.js';

export { UNFINISHED_MAX, UNFINISHED_MAX_AGE_MS } from './project-walk.js';

/**
 * Pipelines → workflows → jobs of the configured projects.
 *
 * Several projects are walked at once (as many as requests may be in flight), and
 * within a project the children of many pipelines are read concurrently while the next
 * pipeline page is already being fetched. Every request goes through the run's one
 * rate governor; what bounds memory is the number of pipelines being read at a time
 * (twice the request concurrency, across all projects), not the length of the history.
 *
 * State: each project keeps its own `resume` marker while its walk is under way (see
 * ProjectWalk); `currently_syncing` names the earliest-started project still in progress
 * (a string, as before). A sync resumes the projects with a marker first.
 *
 * `halt` is shared with whatever else the read runs at the same time: a fatal error here
 * aborts it at once (so the other side stops too), and once it is aborted, from here or
 * from there, the walks start nothing new and save nothing more; the history then rejects
 * with the abort's reason, so its streams never count as finished.
 */
export async function readProjectHistory(context: ReadContext, halt = new AbortController()): Promise<StreamName[]> {
  const selected = HISTORY_STREAMS.filter((name) => context.selection.has(name));
  if (selected.length === 0) return [];
  for (const name of selected) {
    if (context.selection.get(name) === 'incremental' && !context.states.has(name)) context.states.set(name, emptyState());
  }
  const { signal } = halt;
  const run: HistoryRun = {
    context,
    selected,
    pipelineSlots: new Semaphore(2 * context.config.maxConcurrency),
    inProgress: new Set(),
    // The walks read this wherever they would start work or save state.
    get aborted() {
      return signal.aborted;
    },
  };
  const projects = resumeFirst(context.config.projectSlugs, selected, context);
  await forEachConcurrent(projects, context.config.maxConcurrency, async (slug) => {
    if (signal.aborted) return;
    try {
      await new ProjectWalk(slug, run).run();
    } catch (error) {
      // Already ending on a fatal error: whatever else went wrong since adds nothing.
      if (signal.aborted) return;
      if (isFatal(error)) {
        halt.abort(error); // the other walks (and the rest of the read) stop starting work and save nothing more
        return;
      }
      const failure = asConnectorError(error);
      context.failures.add(selected, failure);
      context.emitter.log('ERROR', `project ${slug}: ${failure.message}`);
    }
  });
  signal.throwIfAborted();
  return selected;
}

/**
 * Projects an interrupted sync left unfinished go first: the one named in
 * `currently_syncing`, then those with a resume marker, then the rest in config order.
 */
function resumeFirst(slugs: readonly string[], selected: readonly StreamName[], context: ReadContext): string[] {
  const states = selected.map((name) => context.states.get(name)).filter((state) => state !== undefined);
  const rank = (slug: string): number => {
    if (states.some((state) => state.currentlySyncing === slug)) return 2;
    return states.some((state) => state.partitions.get(slug)?.resume !== undefined) ? 1 : 0;
  };
  return [...slugs].sort((a, b) => rank(b) - rank(a));
}
