import { parseApiTime } from '../config/dates.js';
import type { AnyStreamDeclaration, ApiRecord } from '../streams/declaration.js';
import type { StreamName } from '../streams/schemas/index.js';
import { STREAM_GRAPH as graph } from '../streams/streams.js';
import type { ReadContext } from './read-context.js';

/**
 * Whether the walk of one partition of a history can be skipped: the partition record's
 * activity (`newestFirst.lastActivity`: a project's last finished build) is the one a
 * complete walk of every selected stream has already seen, and that walk started long
 * enough after it for the followed records' discovery to have listed everything finished
 * by then (the lookback, and the discovery groups' delay). A record that changes under
 * the partition moves the activity once it finishes, and the next sync walks as it
 * would have, from the same bookmarks, so nothing a walk finds is lost, only what can
 * never move the activity (see README). Anything else in the way (an unfinished followed
 * record, a resume marker, the partition in progress, a full-refresh stream, a stream
 * with no complete walk of this partition yet) means a walk.
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
    if (state.unfinished.some((record) => record.project_slug === key)) return false;
    const seen = parseApiTime(entry.lastActivity);
    const walked = parseApiTime(entry.walkedAt);
    return seen !== undefined && walked !== undefined && activity <= seen && walked - seen >= quietMs;
  });
}

/** How long after a record finishes a walk must start to be sure its discovery listed it. */
function discoverySpanMs(stream: StreamName, context: ReadContext): number {
  const follow = graph.get(graph.unit(stream)).follow;
  if (!follow) return 0;
  return Math.max(follow.lookbackMs(context.config), follow.discover?.groupsDelayMs ?? 0);
}
