import type { CircleCiClient, Query } from '../http/client.js';
import type { Config } from '../config/config.js';
import { redact, type Redaction } from './redact.js';
import type { StreamName } from './schemas/types.js';

export type ApiRecord = Record<string, unknown>;

/** What a stream's list function may use: the shared client, the config, and a log line. */
export interface ListContext {
  client: CircleCiClient;
  config: Config;
  log: (level: 'INFO' | 'WARN', message: string) => void;
  /** Aborted when the read ends on a fatal error: a listing that makes several requests starts no more. */
  signal?: AbortSignal;
}

/** The placeholders of an OpenAPI path template: `'/pipeline/{pipeline-id}/workflow'` → `'pipeline-id'`. */
export type Placeholders<P extends string> = P extends `${string}{${infer Name}}${infer Rest}` ? Name | Placeholders<Rest> : never;

/** A project slug as a path value: each segment encoded, the slashes kept (CircleCI's form). */
export interface SlugValue {
  slug: string;
}
export type PathValue = string | number | SlugValue;

/**
 * Where a stream's records come from. The path is the OpenAPI path (under `/api/v2`):
 * the readers fill its placeholders, and the schema generator takes the record schema
 * from its 200 response, so it is written once.
 */
export interface Endpoint<P extends string = string> {
  path: P;
  /**
   * `pages`: `{items, next_page_token}`, paged; `array`: a bare array; `single`: the body is
   * one record; `field`: the records are the array in the body's field `field`.
   */
  shape: 'pages' | 'array' | 'single' | 'field';
  /** The body's field that holds the records (shape `field`). */
  field?: string;
}

/**
 * An endpoint that filters on the stream's cursor server-side: the reader passes the
 * oldest cursor value it needs as query parameter `param`. `horizonDays` is how far back
 * the endpoint reaches (an older value is clamped to it, and the reader says so);
 * `lookbackMs` re-reads that much before the bookmark, for records the endpoint lists
 * only some time after their cursor value (a run listed once it has finished): of those,
 * the ones whose `listedAt` field is after the bookmark are new.
 */
export interface ServerSince {
  param: string;
  horizonDays: number;
  lookbackMs?: (config: Config) => number;
  listedAt?: string;
}

/** A field the connector adds to every record: the schema generator declares it (a string unless said). */
export interface AddedField {
  description: string;
  type?: 'string' | 'integer';
  format?: 'date-time';
}

/**
 * What the connector changes in the fields CircleCI sent, before anything else sees the
 * item (`enrich`, the key check, the readers): the one place where API fields are
 * rewritten, as `adds`/`enrich` are the one place where fields are added. Every reader
 * applies it (`sanitized`), so a stream declares it and is done. `drop`/`urls`
 * (streams/redact.ts) remove what of an item carries a secret (a webhook URL's secret, an
 * env var's masked value): declared as data, so the schema generator leaves dropped fields
 * out and validation refuses dropping a key or cursor.
 */
export interface Sanitize extends Redaction {
  /**
   * Fields filled from another field where CircleCI left them out or null, `{field:
   * fallback}` (a pipeline's `updated_at` from its `created_at`). Declared as data: the
   * schema generator reads it (a cursor with a fallback the spec guarantees is required).
   */
  fallbacks?: Readonly<Record<string, string>>;
}

/** `item` with the declaration's `sanitize` applied (the item itself when there is none). */
export function sanitized(sanitize: Sanitize | undefined, item: ApiRecord): ApiRecord {
  if (sanitize === undefined) return item;
  let out = redact(item, sanitize);
  for (const [field, fallback] of Object.entries(sanitize.fallbacks ?? {})) {
    if (out[field] == null && out[fallback] != null) out = { ...out, [field]: out[fallback] };
  }
  return out;
}

/** The listing under one parent record, as an `enrich` sees it. */
export interface Listing {
  /** When the sync started (ISO): one value for every record of the sync, whatever the clock says later. */
  readonly syncedAt: string;
  /** How many times `key` has been counted under this parent, this time included (1 the first time). */
  occurrence(key: string): number;
}

export type PartitionKind = 'organizations' | 'projects' | 'project_workflows';

/**
 * Incremental streams keep one bookmark per partition. The key is taken from the parent
 * record (an organization id, a project slug); `kind` names the partitions in the state.
 */
export interface Partition {
  kind: PartitionKind;
  key: (parent: ApiRecord) => string;
}

/**
 * A root listed newest first with no time filter (CircleCI's pipelines): an incremental
 * sync pages down only until records are older than every bookmark, a bookmark moves only
 * once its partition's walk is complete, and checkpoints save the range of positions
 * already finished (`resume`) and the partition in progress (`currently_syncing`).
 */
export interface NewestFirst {
  /** When a record last changed: the listing stops at the first record older than every floor. */
  changedAt: (record: ApiRecord) => number | undefined;
  /** The record's number in the listing, decreasing down the list: what a resume marker saves. */
  position: (record: ApiRecord) => number | undefined;
  /**
   * Positions count the records: each new record takes the next number, so two positions
   * tell how many records lie between them (a sync's row estimate and the walk's
   * percentage come from the newest position saved by the last sync).
   */
  sequential?: boolean;
  /**
   * When something last happened under a partition, as the partition record says (a
   * project's last finished build, from the organization listing); undefined where it
   * does not say. A partition whose activity a complete walk has already seen, long
   * enough after it, is not walked again (read/idle-skip.ts).
   */
  lastActivity?: (partition: ApiRecord) => string | undefined;
}

/**
 * A record that changes until it reaches a final state (a running workflow). Such records
 * are saved in the state (`unfinished`) and read again on later syncs, with everything
 * below them, until final. Streams below a followed stream are selected per followed
 * record: their cursor is the followed record's cursor.
 */
export interface FollowUntilFinal {
  isFinal: (record: ApiRecord) => boolean;
  /** The OpenAPI path that reads one record by id (placeholder `{id}`), for those no longer listed. */
  reread: string;
  /**
   * How far back a sync looks again for followed records it may have missed: records
   * created before the bookmark but listed only later (see `discover`), or, where the
   * discovery is refused, records added under root records older than the bookmark.
   */
  lookbackMs: (config: Config) => number;
  /**
   * Finds followed records created lately under root records of any age (a rerun adds a
   * workflow to an old pipeline without changing the pipeline), which a newest-first walk
   * does not reach. Without it, or where it is refused (403/404), the walk re-lists the
   * children of root records changed within `lookbackMs` before the bookmark.
   */
  discover?: Discovery;
}

/**
 * A listing of recent records by group (CircleCI Insights: workflow names, then the recent
 * runs of each name). Listed records need only the primary key and the cursor; each one
 * not read yet is read by id (`reread`) with everything below it.
 */
export interface Discovery {
  /** The groups known to the API for one partition (root `under` record). */
  groups: (partition: ApiRecord, context: ListContext) => AsyncIterable<ApiRecord[]>;
  /** A group item's name, or a followed record's group. */
  groupOf: (record: ApiRecord) => string;
  /** The group listing may miss groups first seen within this long (those come from state and the walk). */
  groupsDelayMs: number;
  /** What is missed where the discovery is refused (a 403 or 404), for the warning; `lookbackHours` is the configured lookback. */
  refused: (lookbackHours: number) => string;
  /** Records of one group whose cursor is at or after `since` (ISO). */
  recent: (partition: ApiRecord, group: string, since: string, context: ListContext) => AsyncIterable<ApiRecord[]>;
}

/** The days one export job covers: `[start, end)`, ISO date-times at UTC midnight. */
export interface ExportWindow {
  start: string;
  end: string;
}

/** A job's state as the service answers a poll. */
export type ExportStatus = { state: 'pending' } | { state: 'completed'; files: string[] } | { state: 'failed'; reason: string };

/**
 * Records produced by an asynchronous export (CircleCI's usage export): a job is started
 * for each window of whole days, as many at once as the service allows in an hour, polled
 * until done, and its files downloaded. Jobs not done within `maxWaitMs` are kept in the
 * state (per partition) and collected by a later sync instead of being started again; a
 * failed job is started again on a later sync. The bookmark is the end of the last window
 * whose files were read (windows are collected in order).
 */
export interface AsyncExport {
  /** Longest window one job may cover, in days. */
  maxWindowDays: number;
  /** How far back a window may start, in months (an older start is moved up, with a log line). */
  maxAgeMonths: number;
  /** Days before the service's today that are not exported yet: the last window ends that many days before its midnight. */
  settleDays: number;
  /** How long one sync waits for its jobs of one partition (all of them together) before leaving the rest in the state for the next. */
  maxWaitMs: (config: Config) => number;
  /** Jobs the service lets one partition start in an hour: at most this many are under way at once (kept ones included). */
  jobsPerHour: number;
  /** Starts a job for the window; resolves its id, or undefined where the service has no export for the parent (404: said with `notFound`, read as empty). */
  start: (parent: ApiRecord, window: ExportWindow, context: ListContext) => Promise<string | undefined>;
  poll: (parent: ApiRecord, id: string, context: ListContext) => Promise<ExportStatus>;
  /** The records of one downloaded file. */
  records: (file: Buffer) => Iterable<ApiRecord>;
}

/**
 * A stream says what it is and where its records come from; the shared readers do the
 * reading. `parent` names the stream whose records this one is listed under (the parent
 * is walked once and feeds every selected child, whether or not it is selected itself);
 * a stream without a parent is a root. Declarations are checked when the registry is
 * built (streams/validate.ts): one the readers could not read stops the connector.
 */
export interface StreamDeclaration<P extends string = string, A extends string = string> {
  name: StreamName;
  primaryKey: readonly string[];
  /** Set for incremental streams: the field whose value orders and bookmarks records. */
  cursor?: string;
  parent: StreamName | null;
  /** The records a root is listed under (default: one empty record): for a per-project root, `scopedProjects` (src/scope). */
  under?: (context: ListContext) => Promise<ApiRecord[]>;
  /**
   * Its records are per project (src/scope: the scope's, or for `project` every project the
   * token can see): each shard reads its own projects, and everything below it is per
   * project too. Streams outside every scoped subtree (the organization-wide streams) are
   * read by shard 0 only.
   */
  scoped?: true;
  endpoint: Endpoint<P>;
  /** The values of the endpoint path's placeholders, from the parent record. */
  params?: (parent: ApiRecord, config: Config) => Record<Placeholders<P>, PathValue>;
  query?: (parent: ApiRecord, config: Config) => Query;
  /** The endpoint filters on the cursor server-side (incremental streams). */
  since?: ServerSince;
  /** Custom listing, for a stream that needs more than one request shape (the endpoint then only names its schema). */
  list?: (parent: ApiRecord, context: ListContext) => AsyncIterable<ApiRecord[]>;
  /** Parents this stream has nothing under (no request is made for them). */
  when?: (parent: ApiRecord) => boolean;
  /** Changes to CircleCI's own fields, applied to every item before `enrich` and the key check. */
  sanitize?: Sanitize;
  /** Fields the connector adds to each record; `enrich` computes them. */
  adds?: Record<A, AddedField>;
  enrich?: (item: ApiRecord, parent: ApiRecord, listing: Listing) => Record<NoInfer<A>, unknown>;
  partition?: Partition;
  /** A 404 of this listing is said as a warning with this text (default: an info line, deleted or expired). */
  notFound?: (parent: ApiRecord, path: string) => string;
  /**
   * What a 403 listing this stream under one parent means and what the user can do about
   * it (the access it needs; a token with it, or deselecting the stream). A 403 fails that
   * part like any refusal (StreamFailures); this text is its failure's wording.
   */
  forbidden?: string;
  newestFirst?: NewestFirst;
  follow?: FollowUntilFinal;
  /** Records come from an asynchronous export job per partition (then `endpoint` only names the stream's source). */
  asyncExport?: AsyncExport;
}

/** The registry's view of a declaration. */
export type AnyStreamDeclaration = StreamDeclaration<string, string>;

/** Declares a stream; the type parameters check `params` against the path and `enrich` against `adds`. */
export function defineStream<const P extends string, const A extends string = never>(declaration: StreamDeclaration<P, A>): AnyStreamDeclaration {
  return declaration as unknown as AnyStreamDeclaration;
}

export function slugParam(value: unknown): SlugValue {
  return { slug: text(value) };
}

/** `/api/v2` plus the endpoint path with its placeholders filled, each value encoded. */
export function fillPath(template: string, values: Partial<Record<string, PathValue>>): string {
  return (
    '/api/v2' +
    template.replace(/\{([^}]+)\}/g, (_match, name: string) => {
      const value = values[name];
      if (value === undefined) throw new Error(`no value for {${name}} in ${template}`);
      if (typeof value === 'object') return slugPath(value.slug);
      return encodeURIComponent(String(value));
    })
  );
}

/** A project slug in a path: each segment encoded, the slashes kept (CircleCI's form). */
export function slugPath(slug: string): string {
  return slug.split('/').map(encodeURIComponent).join('/');
}

/** The placeholder names of a path template. */
export function placeholdersOf(template: string): string[] {
  return [...template.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]!);
}

export function text(value: unknown): string {
  return typeof value === 'string' ? value : String(value ?? '');
}
