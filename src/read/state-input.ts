import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { STREAM_NAMES, type StreamName } from '../streams/schemas/index.js';
import type { PartitionKind } from '../streams/declaration.js';
import { STREAM_GRAPH, STREAMS } from '../streams/streams.js';
import type { Selection } from './selection.js';

/**
 * The saved state of each incremental stream. One bookmark per partition (organization
 * or project), so a project added to the config later starts from the start date while
 * the others continue. Streams of a newest-first history also remember an interrupted
 * walk (`resume`, `currently_syncing`), and those selected by a followed record the
 * records still unfinished (`unfinished`).
 */
const Timestamp = z.string().refine((value) => !Number.isNaN(Date.parse(value)), { message: 'is not a date-time' });

const Resume = z.strictObject({
  newest_number: z.number().int(),
  done_down_to: z.number().int(),
  max_cursor: Timestamp.optional(),
});
export type Resume = z.infer<typeof Resume>;

const Unfinished = z.strictObject({ id: z.string(), project_slug: z.string(), created_at: Timestamp });
/** A followed record still unfinished; `created_at` holds its cursor value (the key names are those saved states have). */
export type UnfinishedRecord = z.infer<typeof Unfinished>;

const Recent = z.strictObject({ id: z.string(), project_slug: z.string(), created_at: Timestamp, name: z.string() });
/**
 * A followed record read lately and final: the discovery, which lists recent records again
 * for a while, reads it only once. `name` is its discovery group (a workflow name).
 */
export type RecentRecord = z.infer<typeof Recent>;

const Pending = z.strictObject({ id: z.string().min(1), start: Timestamp, end: Timestamp });
/** An export job started by an earlier sync and not collected yet, with the window it covers. */
export type PendingJob = z.infer<typeof Pending>;

const partitionEntry = (cursor: string, exports: boolean, history: boolean) =>
  z.strictObject({
    [cursor]: Timestamp.optional(),
    resume: Resume.optional(),
    ...(history ? { newest_number: z.number().int().optional(), last_activity: Timestamp.optional(), walked_at: Timestamp.optional() } : {}),
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
  /** History partitions: the partition's activity (read/idle-skip.ts) as the last complete walk saw it, and when that walk started. */
  lastActivity?: string;
  walkedAt?: string;
}

export interface IncrementalState {
  partitions: Map<string, PartitionEntry>;
  currentlySyncing?: string;
  unfinished: UnfinishedRecord[];
  recent: RecentRecord[];
}

/** The key under which a stream's partitions are saved (validation guarantees an incremental stream has one). */
export function partitionKind(stream: StreamName): PartitionKind {
  return STREAM_GRAPH.partition(stream)!.partition.kind;
}

function stateSchema(stream: StreamName, cursor: string) {
  const entry = partitionEntry(cursor, STREAMS[stream].asyncExport !== undefined, STREAM_GRAPH.inHistory(stream));
  const fields: Record<string, z.ZodType> = { [partitionKind(stream)]: z.record(z.string(), entry).optional() };
  if (STREAM_GRAPH.inHistory(stream)) fields.currently_syncing = z.string().nullable().optional();
  if (STREAM_GRAPH.follows(stream)) {
    fields.unfinished = z.array(Unfinished).optional();
    fields.recent = z.array(Recent).optional();
  }
  return z.strictObject(fields);
}

/** An empty state for a stream that has none saved. */
export function emptyState(): IncrementalState {
  return { partitions: new Map(), unfinished: [], recent: [] };
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
      if (typeof value.last_activity === 'string') item.lastActivity = value.last_activity;
      if (typeof value.walked_at === 'string') item.walkedAt = value.walked_at;
      partitions.set(key, item);
    }
    const state: IncrementalState = {
      partitions,
      unfinished: (data.unfinished as UnfinishedRecord[] | undefined) ?? [],
      recent: (data.recent as RecentRecord[] | undefined) ?? [],
    };
    if (typeof data.currently_syncing === 'string') state.currentlySyncing = data.currently_syncing;
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
    if (entry.lastActivity !== undefined) out.last_activity = entry.lastActivity;
    if (entry.walkedAt !== undefined) out.walked_at = entry.walkedAt;
    partitions[key] = out;
  }
  const out: Record<string, unknown> = { [partitionKind(stream)]: partitions };
  if (STREAM_GRAPH.inHistory(stream)) out.currently_syncing = state.currentlySyncing ?? null;
  if (STREAM_GRAPH.follows(stream)) {
    out.unfinished = state.unfinished;
    out.recent = state.recent;
  }
  return out;
}
