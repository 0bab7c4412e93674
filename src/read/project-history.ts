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
 */
export async function readProjectHistory(context: ReadContext): Promise<StreamName[]> {
  const selected = HISTORY_STREAMS.filter((name) => context.selection.has(name));
  if (selected.length === 0) return [];
  for (const name of selected) {
    if (context.selection.get(name) === 'incremental' && !context.states.has(name)) context.states.set(name, emptyState());
  }
  const run: HistoryRun = {
    context,
    selected,
    pipelineSlots: new Semaphore(2 * context.config.maxConcurrency),
    inProgress: new Set(),
    aborted: false,
  };
  const projects = resumeFirst(context.config.projectSlugs, selected, context);
  await forEachConcurrent(projects, context.config.maxConcurrency, async (slug) => {
    if (run.aborted) return;
    try {
      await new ProjectWalk(slug, run).run();
    } catch (error) {
      if (isFatal(error)) {
        run.aborted = true; // the other walks stop starting work and save nothing more
        throw error;
      }
      const failure = asConnectorError(error);
      context.failures.add(selected, failure);
      context.emitter.log('ERROR', `project ${slug}: ${failure.message}`);
    }
  });
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
