import type { Config } from '../config/config.js';
import { ConnectorError } from '../errors.js';
import type { CircleCiClient } from '../http/client.js';
import type { Emitter } from '../protocol/emitter.js';
import type { ApiRecord, ListContext, StreamDeclaration } from '../streams/declaration.js';
import type { StreamName } from '../streams/schemas/index.js';
import type { Selection } from './selection.js';
import type { IncrementalState } from './state-input.js';
import type { ReadSummary } from './read-summary.js';
import type { StreamFailures } from './stream-failures.js';

/** Everything one read shares: inputs, the one client, the one emitter, and the outcome so far. */
export interface ReadContext {
  config: Config;
  client: CircleCiClient;
  emitter: Emitter;
  selection: Selection;
  states: Map<StreamName, IncrementalState>;
  failures: StreamFailures;
  listContext: ListContext;
  /** What the read skipped or did not find, for its end (issue #13). */
  summary: ReadSummary;
}

/** Lists one stream's items under one parent record, a page at a time; items without their key are skipped (and counted). */
export async function* listItems(decl: StreamDeclaration, parent: ApiRecord, context: ReadContext): AsyncIterable<ApiRecord[]> {
  if (decl.when && !decl.when(parent)) return; // issue #13: a parent the stream does not exist under is not asked
  for await (const page of listPages(decl, parent, context)) yield context.summary.keyed(decl, parent, page); // issue #13
}

async function* listPages(decl: StreamDeclaration, parent: ApiRecord, context: ReadContext): AsyncIterable<ApiRecord[]> {
  if (decl.list) {
    yield* decl.list(parent, context.listContext);
    return;
  }
  const request = decl.request!(parent, context.config);
  const notFound = () => logNotFound(decl, parent, request.path, context);
  if (request.bareArray) {
    const body = await context.client.get<unknown>(request.path, request.query);
    if (body === undefined) return notFound();
    if (!Array.isArray(body)) {
      throw new ConnectorError(`CircleCI answered GET ${request.path} with ${typeof body} where a list was expected; the API may have changed.`, 'system_error');
    }
    yield body as ApiRecord[];
    return;
  }
  yield* context.client.pages<ApiRecord>(request.path, request.query, notFound);
}

/**
 * A 404 is an empty result, never a failure, but it is said: under a parent it is a
 * deleted or expired resource; for a configured project it is most likely a wrong slug.
 */
function logNotFound(decl: StreamDeclaration, parent: ApiRecord, path: string, context: ReadContext): void {
  if (decl.parent === null && typeof parent.slug === 'string') {
    context.summary.projectNotFound(parent.slug); // issue #13: named at the end; all of them → config_error
    context.emitter.log(
      'WARN',
      `${decl.name}: project ${parent.slug} answered 404 (GET ${path}); nothing was read for it. Check the slug in project_slugs ` +
        `and that the token's user can see the project.`,
    );
    return;
  }
  context.emitter.log('INFO', `${decl.name}: GET ${path} answered 404 (deleted or expired); read as empty`);
}

/** Builds the record a stream emits from an API item; rejects items without their key fields. */
export function toRecord(decl: StreamDeclaration, item: ApiRecord, parent: ApiRecord): ApiRecord {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) {
    throw new ConnectorError(`Stream ${decl.name}: CircleCI sent an item that is not an object (${JSON.stringify(item)?.slice(0, 100)}).`, 'system_error');
  }
  const record = decl.enrich ? decl.enrich(item, parent) : item;
  for (const key of decl.primaryKey) {
    const value = record[key];
    if (value === undefined || value === null || typeof value === 'object') {
      throw new ConnectorError(
        `Stream ${decl.name}: CircleCI sent an item without its key field "${key}" (${JSON.stringify(item).slice(0, 200)}); the API may have changed.`,
        'system_error',
      );
    }
  }
  return record;
}
