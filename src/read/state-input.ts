import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { STREAM_NAMES, type StreamName } from '../streams/schemas/index.js';
import type { PartitionKind } from '../streams/declaration.js';
import { STREAM_GRAPH, STREAMS } from '../streams/streams.js';
import type { Selection } from './selection.js';
import { LEGACY_ENTRY_FIELDS, LEGACY_STATE_FIELDS, convertLegacy } from './state-legacy.js';

/**
 * The saved state of each incremental stream. One bookmark per partition (organization
 * or project), so a project added to the config later starts from the start date while
 * the others continue. Streams of a newest-first history also remember an interrupted
 * walk (`resume`, `currently_syncing`), and those selected by a followed record keep, in
 * each project's entry, the records still unfinished (`unfinished`: their ids) and the
 * final ones read lately (`recent`: fingerprints, and `names`: the discovery groups the
 * group listing did not show yet; see followed.ts).
 * States written before this shape (one list of each for all projects, a slug and a
 * date-time per entry) are converted on read (state-legacy.ts).
 */
export const Timestamp = z.string().refine((value) => !Number.isNaN(Date.parse(value)), { message: 'is not a date-time' });

const Resume = z.strictObject({
  newest_number: z.number().int(),
  done_down_to: z.number().int(),
  max_cursor: Timestamp.optional(),
});
export type Resume = z.infer<typeof Resume>;

const Pending = z.strictObject({ id: z.string().min(1), start: Timestamp, end: Timestamp });
/** An export job started by an earlier sync and not collected yet, with the window it covers. */
export type PendingJob = z.infer<typeof Pending>;

const partitionEntry = (cursor: string, exports: boolean, history: boolean, follows: boolean) =>
  z.strictObject({
    [cursor]: Timestamp.optional(),
    resume: Resume.optional(),
    ...(history
      ? {
          newest_number: z.number().int().optional(),
          // Whole seconds since the epoch; a date-time in states of the earlier shape.
          walked_at: z.union([z.number().int(), Timestamp]).optional(),
          ...LEGACY_ENTRY_FIELDS,
        }
      : {}),
    ...(follows
      ? {
          unfinished: z.array(z.string().min(1)).optional(),
          recent: z.array(z.string().min(1)).optional(),
          names: z.record(z.string(), z.number().int()).optional(),
        }
      : {}),
    // A list of consecutive windows; one job alone is what states saved before there could be several hold.
    ...(exports ? { pending: z.union([Pending, z.array(Pending)]).optional() } : {}),
  });

export interface PartitionEntry {
  cursor?: string;
  resume?: Resume;
  /**
   * A history's newest root position (pipeline number) when its bookmark was set: where the
   * next walk's count of new records starts. States saved before it existed have none.
   */
  newestNumber?: number;
  /** Export jobs started and not collected yet, in window order, each window starting where the one before ended. */
  pending?: PendingJob[];
  /** History partitions with an activity (read/idle-skip.ts): when the last complete walk started, in whole seconds. */
  walkedAt?: number;
  /** Followed records of this partition still unfinished: their ids. */
  unfinished?: string[];
  /** Fingerprints of the final followed records read lately (followed.ts). */
  recent?: string[];
  /** Discovery groups of records read lately that the group listing did not list yet, with the newest one's cursor in whole seconds. */
  names?: Record<string, number>;
}

export interface IncrementalState {
  partitions: Map<string, PartitionEntry>;
  currentlySyncing?: string;
}

/** The key under which a stream's partitions are saved (validation guarantees an incremental stream has one). */
export function partitionKind(stream: StreamName): PartitionKind {
  return STREAM_GRAPH.partition(stream)!.partition.kind;
}

function stateSchema(stream: StreamName, cursor: string) {
  const follows = STREAM_GRAPH.follows(stream);
  const entry = partitionEntry(cursor, STREAMS[stream].asyncExport !== undefined, STREAM_GRAPH.inHistory(stream), follows);
  const fields: Record<string, z.ZodType> = { [partitionKind(stream)]: z.record(z.string(), entry).optional() };
  if (STREAM_GRAPH.inHistory(stream)) fields.currently_syncing = z.string().nullable().optional();
  if (follows) Object.assign(fields, LEGACY_STATE_FIELDS);
  return z.strictObject(fields);
}

/** An empty state for a stream that has none saved. */
export function emptyState(): IncrementalState {
  return { partitions: new Map() };
}

/**
 * Parses the `--state` file: Airbyte's list of per-stream states. States of streams not
 * in the catalog are ignored; a state of a selected incremental stream that does not
 * have this connector's shape is a config error naming the stream.
 */
export function parseState(raw: unknown, selection: Selection): Map<StreamName, IncrementalState> {
  const states = new Map<StreamName, IncrementalState>();
  if (raw === null || (typeof raw === 'object' && !Array.isArray(raw) && Object.keys(raw).length === 0)) return states;
  if (!Array.isArray(raw)) {
    throw new ConfigError('The state must be a JSON list of per-stream states ([{"type": "STREAM", "stream": {...}}]); LEGACY state is not supported');
  }
  raw.forEach((message, index) => {
    const entry = message as { type?: unknown; stream?: { stream_descriptor?: { name?: unknown }; stream_state?: unknown } } | null;
    if (entry === null || typeof entry !== 'object') throw new ConfigError(`State entry ${index} is not an object`);
    if (entry.type !== 'STREAM') {
      throw new ConfigError(`State entry ${index} has type ${JSON.stringify(entry.type ?? null)}; this source reads and writes per-stream (STREAM) state only`);
    }
    const name = entry.stream?.stream_descriptor?.name;
    if (typeof name !== 'string') throw new ConfigError(`State entry ${index} has no stream.stream_descriptor.name`);
    if (!(STREAM_NAMES as readonly string[]).includes(name)) return; // another connector's or a removed stream: ignore
    const stream = name as StreamName;
    const cursor = STREAMS[stream].cursor;
    if (selection.get(stream) !== 'incremental' || cursor === undefined) return;
    const blob = entry.stream?.stream_state ?? {};
    const parsed = stateSchema(stream, cursor).safeParse(blob);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const where = issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
      throw new ConfigError(
        `The saved state of stream ${stream} is not this connector's${where}: ${issue.message}. ` +
          `Expected {"${partitionKind(stream)}": {"<key>": {"${cursor}": "<date-time>"}}}; reset the stream to start over.`,
      );
    }
    const data = parsed.data as Record<string, unknown>;
    const partitions = new Map<string, PartitionEntry>();
    for (const [key, value] of Object.entries((data[partitionKind(stream)] ?? {}) as Record<string, Record<string, unknown>>)) {
      const item: PartitionEntry = {};
      if (typeof value[cursor] === 'string') item.cursor = value[cursor];
      if (value.resume) item.resume = value.resume as Resume;
      if (typeof value.newest_number === 'number') item.newestNumber = value.newest_number;
      if (value.pending) item.pending = Array.isArray(value.pending) ? (value.pending as PendingJob[]) : [value.pending as PendingJob];
      if (typeof value.walked_at === 'number') item.walkedAt = value.walked_at;
      if (Array.isArray(value.unfinished) && value.unfinished.length > 0) item.unfinished = value.unfinished as string[];
      if (Array.isArray(value.recent) && value.recent.length > 0) item.recent = value.recent as string[];
      if (value.names && Object.keys(value.names).length > 0) item.names = value.names as Record<string, number>;
      partitions.set(key, item);
    }
    const state: IncrementalState = { partitions };
    if (typeof data.currently_syncing === 'string') state.currentlySyncing = data.currently_syncing;
    convertLegacy(data, (data[partitionKind(stream)] ?? {}) as Record<string, Record<string, unknown>>, state);
    states.set(stream, state);
  });
  return states;
}

/** Serialises a stream's state in the shape parseState reads. */
export function serialiseState(stream: StreamName, state: IncrementalState): Record<string, unknown> {
  const cursor = STREAMS[stream].cursor!;
  const partitions: Record<string, Record<string, unknown>> = {};
  for (const [key, entry] of [...state.partitions.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const out: Record<string, unknown> = {};
    if (entry.cursor !== undefined) out[cursor] = entry.cursor;
    if (entry.resume !== undefined) out.resume = entry.resume;
    if (entry.newestNumber !== undefined) out.newest_number = entry.newestNumber;
    if (entry.pending !== undefined && entry.pending.length > 0) out.pending = entry.pending;
    if (entry.walkedAt !== undefined) out.walked_at = entry.walkedAt;
    if (entry.unfinished !== undefined && entry.unfinished.length > 0) out.unfinished = entry.unfinished;
    if (entry.recent !== undefined && entry.recent.length > 0) out.recent = entry.recent;
    if (entry.names !== undefined && Object.keys(entry.names).length > 0) out.names = entry.names;
    partitions[key] = out;
  }
  const out: Record<string, unknown> = { [partitionKind(stream)]: partitions };
  if (STREAM_GRAPH.inHistory(stream)) out.currently_syncing = state.currentlySyncing ?? null;
  return out;
}
