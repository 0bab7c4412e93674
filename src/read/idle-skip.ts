import { parseApiTime } from '../config/dates.js';
import type { AnyStreamDeclaration, ApiRecord } from '../streams/declaration.js';
import type { StreamName } from '../streams/schemas/index.js';
import { STREAM_GRAPH as graph } from '../streams/streams.js';
import type { ReadContext } from './read-context.js';

/**
 * Whether the walk of one partition of a history can be skipped: the partition record's
 * activity (`newestFirst.lastActivity`: a project's last finished build) came long enough
 * before the last complete walk of every selected stream began for that walk's discovery
 * of followed records to have listed everything finished by then (the lookback, and the
 * discovery groups' delay). A record that changes under the partition moves the activity
 * once it finishes, past that walk's start, and the next sync walks as it would have, from
 * the same bookmarks, so nothing a walk finds is lost, only what can never move the
 * activity (see README). Anything else in the way (an unfinished followed record, a resume
 * marker, the partition in progress, a full-refresh stream, a stream with no complete walk
 * of this partition yet) means a walk. The state keeps only when each walk began
 * (`walked_at`): the activity it saw is not needed, as any later one is later than that.
 */
export function isQuiet(root: AnyStreamDeclaration, partition: ApiRecord, key: string, selected: readonly StreamName[], context: ReadContext): boolean {
  const activity = parseApiTime(root.newestFirst?.lastActivity?.(partition));
  if (activity === undefined) return false;
  const quietMs = Math.max(0, ...selected.map((stream) => discoverySpanMs(stream, context)));
  return selected.every((stream) => {
    const state = context.states.get(stream);
    if (context.selection.get(stream) !== 'incremental' || state === undefined) return false;
    const entry = state.partitions.get(key);
    if (entry === undefined || entry.resume !== undefined || state.currentlySyncing === key) return false;
    if ((entry.unfinished?.length ?? 0) > 0) return false;
    return entry.walkedAt !== undefined && activity <= entry.walkedAt * 1000 - quietMs;
  });
}

/** How long after a record finishes a walk must start to be sure its discovery listed it. */
function discoverySpanMs(stream: StreamName, context: ReadContext): number {
  const follow = graph.get(graph.unit(stream)).follow;
  if (!follow) return 0;
  return Math.max(follow.lookbackMs(context.config), follow.discover?.groupsDelayMs ?? 0);
}
