import type { AnyStreamDeclaration, ApiRecord } from '../streams/declaration.js';
import type { StreamName } from '../streams/schemas/index.js';
import { STREAM_GRAPH as graph } from '../streams/streams.js';
import { forEachConcurrent, settleAll } from '../util/concurrency.js';
import { floorFor, isNew, latest } from './cursor.js';
import { readExport } from './export-reader.js';
import { listItems, ParentListing, rootParents, toRecords, type ReadContext } from './read-context.js';
import { emptyState, serialiseState } from './state-input.js';
import { serverFloor } from './server-since.js';
import { serviceToday } from './service-day.js';
import { StreamFailures } from './stream-failures.js';

/**
 * Reads the streams that form a parent → child tree from one root: each parent is listed
 * once and feeds every selected child, whether or not the parent itself is selected.
 * Incremental streams filter on their cursor client-side (the API has no time filter) and
 * save a bookmark per partition once that partition has been read to the end.
 *
 * `halt` is shared with whatever else the read runs at the same time: a fatal error here
 * aborts it at once (so the other side stops too), and once it is aborted, from here or
 * from there, the walk starts no listing, takes no further page and saves no bookmark;
 * it rejects with the abort's reason, so the tree's streams never count as finished.
 */
export async function readTree(root: StreamName, context: ReadContext, halt = new AbortController()): Promise<StreamName[]> {
  const selected = graph.members(root).filter((name) => context.selection.has(name));
  if (selected.length === 0) return [];
  const needed = new Set(selected.flatMap((name) => graph.lineage(name)));
  const children = (name: StreamName) => graph.children(name).filter((child) => needed.has(child));
  for (const name of selected) {
    if (context.selection.get(name) === 'incremental' && !context.states.has(name)) context.states.set(name, emptyState());
  }

  const { signal } = halt;
  // A start date older than what CircleCI keeps applies to every partition alike: said once per stream and sync, not per partition.
  const clampSaid = new Set<StreamName>();
  const sayClamp = (decl: AnyStreamDeclaration) => (message: string) => {
    if (clampSaid.has(decl.name)) return;
    clampSaid.add(decl.name);
    context.emitter.log('WARN', `${message} (said for the first partition only; the others are read from there too where they reach further back)`);
  };
  const walk = async (decl: AnyStreamDeclaration, parent: ApiRecord): Promise<void> => {
    signal.throwIfAborted();
    const emits = context.selection.has(decl.name);
    const incremental = context.selection.get(decl.name) === 'incremental';
    const partition = decl.partition?.key(parent);
    const listing = new ParentListing(context.syncedAt);
    const floor = decl.cursor && partition !== undefined ? floorFor(incremental ? context.states.get(decl.name) : undefined, partition, context.config.startDate) : undefined;
    const server =
      floor && decl.since ? serverFloor(decl, floor, context.config, serviceToday(context.client), partition!, sayClamp(decl)) : undefined;
    const isWanted = (record: ApiRecord): boolean => (server ? server.accept(record) : !floor || isNew(floor, decl.cursor ? record[decl.cursor] : undefined));
    let newest: string | undefined;
    try {
      if (decl.asyncExport) {
        if (decl.when && !decl.when(parent)) return;
        await readExport(decl, parent, partition ?? '', context, signal);
        return;
      }
      for await (const page of listItems(decl, parent, context, server?.since)) {
        signal.throwIfAborted(); // a page that lands after the read ended is dropped, and no next one is asked for
        const records = toRecords(decl, page, parent, listing, context);
        if (emits) {
          for (const record of records) {
            const value = decl.cursor ? record[decl.cursor] : undefined;
            if (!isWanted(record)) continue;
            context.emitter.record(decl.name, record);
            newest = latest(newest, value);
          }
          await context.emitter.ready();
        }
        const next = children(decl.name);
        if (next.length > 0) {
          // Every child listing of every record at once: the governor bounds the requests.
          await forEachConcurrent(records, context.config.maxConcurrency, (record) => settleAll(next.map((child) => walk(graph.get(child), record))));
        }
      }
    } catch (error) {
      // The read is ending on a fatal error (this one, or the other side's): nothing here is
      // a failure of this stream to report, and the walk of every parent stops the same way.
      if (signal.aborted) throw signal.reason;
      if (await context.failures.isFatal(error, context.client)) {
        if (!signal.aborted) halt.abort(error);
        throw signal.reason;
      }
      if (signal.aborted) throw signal.reason;
      // This part only: the stream (and what is below it) under this parent stays incomplete,
      // its bookmark here does not move; every other parent goes on.
      const failure = StreamFailures.forPart(error, decl.forbidden);
      const failed = [decl.name, ...graph.descendants(decl.name)].filter((name) => context.selection.has(name));
      context.failures.add(failed, failure, describeParent(decl, parent));
      context.emitter.log('WARN', `${decl.name} under ${describeParent(decl, parent)} is incomplete: ${failure.message}`);
      return;
    }
    if (incremental && partition !== undefined) {
      const state = context.states.get(decl.name)!;
      const entry = state.partitions.get(partition) ?? {};
      const bookmark = latest(entry.cursor, newest);
      if (bookmark !== undefined) state.partitions.set(partition, { ...entry, cursor: bookmark });
      context.checkpoints.offer(decl.name, () => serialiseState(decl.name, state));
    }
  };

  const rootDecl = graph.get(root);
  const parents = await rootParents(rootDecl, selected, context, signal);
  if (parents !== undefined) await settleAll(parents.map((parent) => walk(rootDecl, parent)));
  return selected;
}

/** The parent as the user knows it: its stream and its slug, name or id. */
function describeParent(decl: AnyStreamDeclaration, parent: ApiRecord): string {
  const label = parent.slug ?? parent.name ?? parent.id;
  if (typeof label !== 'string') return 'the account';
  return decl.parent === null ? label : `${decl.parent} ${label}`;
}
