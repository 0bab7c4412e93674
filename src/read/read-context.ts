import type { Config } from '../config/config.js';
import { ConnectorError } from '../errors.js';
import type { CircleCiClient } from '../http/client.js';
import { RECORD_CHANGES, type Emitter, type WithChanges } from '../protocol/emitter.js';
import { fillPath, sanitized, type AnyStreamDeclaration, type ApiRecord, type Listing, type ListContext } from '../streams/declaration.js';
import { compileRecordCoercer, type RecordCoercer } from '../streams/schema-coercion.js';
import { STREAM_NAMES, streamSchemas, type StreamName } from '../streams/schemas/index.js';
import type { Selection } from './selection.js';
import type { Checkpoints } from './checkpoints.js';
import type { IncrementalState } from './state-input.js';
import type { ReadSummary } from './read-summary.js';
import type { RowEstimates } from './row-estimates.js';
import { StreamFailures } from './stream-failures.js';

/** Everything one read shares: inputs, the one client, the one emitter, and the outcome so far. */
export interface ReadContext {
  config: Config;
  client: CircleCiClient;
  emitter: Emitter;
  selection: Selection;
  states: Map<StreamName, IncrementalState>;
  /** Where readers offer a stream's state mid-read; it decides whether the STATE is worth writing. */
  checkpoints: Checkpoints;
  failures: StreamFailures;
  listContext: ListContext;
  /** What the read skipped or did not find, for its end. */
  summary: ReadSummary;
  /** How an export job is waited for (run options: production defaults, or a test's virtual clock). */
  exportPolling: { intervalMs: number; sleep: (ms: number, signal: AbortSignal) => Promise<void> };
  /** Walks under way, by partition: how far each is, for the progress lines. */
  walking?: Map<string, () => string>;
  /** Waits under way (export jobs), by partition: what each waits on, for the progress lines. */
  waiting?: Map<string, () => string>;
  /** Row estimates per stream, said as ESTIMATE traces once every partition has counted. */
  estimates?: RowEstimates;
  /**
   * When the sync started (ISO), from the run's clock, read once. It stamps the snapshots
   * (`_synced_at`): it names this sync, the same on every record and known before any
   * request, like a record's emitted_at; it is no bound on CircleCI's data, which is
   * counted from CircleCI's clock (client.serverNow()).
   */
  syncedAt: string;
}

/**
 * The records a root is listed under (`under`: the projects in scope for a per-project
 * root; one empty record otherwise). Where they cannot be listed, nothing under the root
 * can be read: its selected streams fail with a WARN and undefined is returned, unless
 * the error ends the whole read (then it is thrown).
 */
export async function rootParents(root: AnyStreamDeclaration, selected: readonly StreamName[], context: ReadContext, signal: AbortSignal): Promise<ApiRecord[] | undefined> {
  if (!root.under) return [{}];
  try {
    return await root.under(context.listContext);
  } catch (error) {
    if (signal.aborted || (await context.failures.isFatal(error, context.client))) throw error;
    const failure = StreamFailures.forPart(error);
    context.failures.add(selected, failure);
    context.emitter.log('WARN', `${selected.join(', ')} are incomplete: the projects to read could not be listed: ${failure.message}`);
    return undefined;
  }
}

/** Lists one stream's items under one parent record, a page at a time. */
export async function* listItems(decl: AnyStreamDeclaration, parent: ApiRecord, context: ReadContext, since?: string): AsyncIterable<ApiRecord[]> {
  if (decl.when && !decl.when(parent)) return;
  if (decl.list) {
    yield* decl.list(parent, context.listContext);
    return;
  }
  const path = fillPath(decl.endpoint.path, decl.params?.(parent, context.config) ?? {});
  const filter = decl.since && since !== undefined ? { [decl.since.param]: since } : undefined;
  const query = filter ? { ...decl.query?.(parent, context.config), ...filter } : decl.query?.(parent, context.config);
  const notFound = () => logNotFound(decl, parent, path, context);
  if (decl.endpoint.shape === 'pages') {
    yield* context.client.pages<ApiRecord>(path, query, notFound);
    return;
  }
  const body = await context.client.get<unknown>(path, query);
  if (body === undefined) return notFound();
  if (decl.endpoint.shape === 'single') {
    yield [body as ApiRecord];
    return;
  }
  const list = decl.endpoint.shape === 'field' ? (body as ApiRecord | null)?.[decl.endpoint.field ?? ''] : body;
  if (!Array.isArray(list)) {
    const expected = decl.endpoint.shape === 'field' ? `a list in "${decl.endpoint.field}"` : 'a list';
    throw new ConnectorError(`Stream ${decl.name}: CircleCI answered GET ${path} without ${expected}; the API may have changed.`, 'system_error');
  }
  yield list as ApiRecord[];
}

/**
 * A 404 is an empty result, never a failure, but it is said: under a parent it is a
 * deleted or expired resource; where the declaration says more (a configured project
 * that does not exist is most likely a wrong slug), a warning.
 */
function logNotFound(decl: AnyStreamDeclaration, parent: ApiRecord, path: string, context: ReadContext): void {
  if (isConfiguredProjectRoot(decl)) context.summary.projectNotFound(decl.partition!.key(parent)); // named at the end; all of them → config_error
  if (decl.notFound) context.emitter.log('WARN', `${decl.name}: ${decl.notFound(parent, path)}`);
  else context.emitter.log('INFO', `${decl.name}: GET ${path} answered 404 (deleted or expired); read as empty`);
}

/** A root listed once per configured project (its partitions are the project slugs): its 404 is a project not found. */
export function isConfiguredProjectRoot(decl: AnyStreamDeclaration): boolean {
  return decl.parent === null && decl.under !== undefined && decl.partition?.kind === 'projects';
}

/** Counts occurrences of keys within the listing under one parent. */
export class ParentListing implements Listing {
  private readonly counts = new Map<string, number>();
  constructor(readonly syncedAt: string) {}
  occurrence(key: string): number {
    const count = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, count);
    return count;
  }
}

/** Each stream's schema compiled once into its coercer (streams/schema-coercion.ts). */
const COERCERS = new Map<StreamName, RecordCoercer>(STREAM_NAMES.map((name) => [name, compileRecordCoercer(streamSchemas[name])]));

/**
 * The records a stream emits from one page listed under `parent`: each item sanitized
 * (the declaration's `sanitize`), enriched, then fitted to the stream's discovered
 * schema (a value that cannot be converted without loss is nulled, counted, and carried
 * to the record's meta.changes). Items without their key fields are skipped (a
 * destination could not deduplicate them), counted, and said once per stream
 * (ReadSummary). `listing` is the one listing under `parent` the page came from. Every
 * reader builds records here, so the rule is the same wherever a page is read.
 */
export function toRecords(decl: AnyStreamDeclaration, page: readonly unknown[], parent: ApiRecord, listing: Listing, context: ReadContext): ApiRecord[] {
  const records: ApiRecord[] = [];
  const coerce = COERCERS.get(decl.name)!;
  for (const item of page) {
    const { record, changes } = coerce(toRecord(decl, item, parent, listing));
    if (!context.summary.hasKey(decl, record, item as ApiRecord)) continue;
    if (changes !== undefined) {
      context.summary.nulled(decl.name, changes);
      (record as WithChanges)[RECORD_CHANGES] = changes;
    }
    records.push(record);
  }
  return records;
}

/** An item as its stream's record: sanitized, then enriched. An item that is not an object is a system_error. */
function toRecord(decl: AnyStreamDeclaration, item: unknown, parent: ApiRecord, listing: Listing): ApiRecord {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) {
    throw new ConnectorError(`Stream ${decl.name}: CircleCI sent an item that is not an object (${JSON.stringify(item)?.slice(0, 100)}).`, 'system_error');
  }
  const clean = sanitized(decl.sanitize, item as ApiRecord);
  return decl.enrich ? { ...clean, ...decl.enrich(clean, parent, listing) } : clean;
}
