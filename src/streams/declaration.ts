import type { CircleCiClient, Query } from '../http/client.js';
import type { Config } from '../config/config.js';
import type { StreamName } from './schemas/index.js';

export type ApiRecord = Record<string, unknown>;

/** What a stream's list function may use: the shared client, the config, and a log line. */
export interface ListContext {
  client: CircleCiClient;
  config: Config;
  log: (level: 'INFO' | 'WARN', message: string) => void;
  /** Aborted when the read ends on a fatal error: a listing that makes several requests starts no more. */
  signal?: AbortSignal;
}

/**
 * A stream says what it is and where its records come from; the shared readers do the
 * reading. `parent` names the stream whose records this one is listed under (the parent
 * is walked once and feeds every selected child, whether or not it is selected itself);
 * a stream without a parent is a root.
 */
export interface StreamDeclaration {
  name: StreamName;
  primaryKey: string[];
  /** Set for incremental streams: the field whose value orders and bookmarks records. */
  cursor?: string;
  parent: StreamName | null;
  /**
   * The request that lists the records under one parent record, paged with
   * `{items, next_page_token}` unless `bareArray`.
   */
  request?: (parent: ApiRecord, config: Config) => { path: string; query?: Query; bareArray?: boolean };
  /** Listed only under parent records for which this holds (issue #13: triggers of supported providers only). */
  when?: (parent: ApiRecord) => boolean;
  /** Custom listing, for a stream that needs more than one request shape. */
  list?: (parent: ApiRecord, context: ListContext) => AsyncIterable<ApiRecord[]>;
  /** Fields the connector adds from the parent record, e.g. keys. */
  enrich?: (item: ApiRecord, parent: ApiRecord) => ApiRecord;
  /**
   * Incremental streams keep one bookmark per partition: the parent record's key here
   * (an organization id, a project slug).
   */
  partition?: (parent: ApiRecord) => string;
  /** A 403 listing this stream under one parent skips that parent with a warning instead of failing. */
  skipParentOnForbidden?: string;
}

/** `/api/v2` plus a path built from encoded segments. */
export function v2(strings: TemplateStringsArray, ...values: unknown[]): string {
  let path = '/api/v2';
  strings.forEach((text, index) => {
    path += text;
    if (index < values.length) path += encodeURIComponent(String(values[index]));
  });
  return path;
}

/** A project slug in a path: each segment encoded, the slashes kept (CircleCI's form). */
export function slugPath(slug: string): string {
  return slug.split('/').map(encodeURIComponent).join('/');
}

export function text(value: unknown): string {
  return typeof value === 'string' ? value : String(value ?? '');
}
