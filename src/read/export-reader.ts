import { ApiError } from '../http/api-error.js';
import { ConnectorError } from '../errors.js';
import type { AnyStreamDeclaration, ApiRecord, AsyncExport, ExportStatus, ExportWindow } from '../streams/declaration.js';
import { ParentListing, toRecords, type ReadContext } from './read-context.js';
import { DAY_MS, serviceToday, startOfDay } from './service-day.js';
import { emptyState, serialiseState, type PartitionEntry } from './state-input.js';

/** Rows handed on together: the emitter's back-pressure is heard between pages, as for listed streams. */
const ROWS_PER_PAGE = 1000;

/**
 * Reads a stream declared `asyncExport` under one parent (one partition): windows of whole
 * days from the bookmark (or the start date) up to the service's last settled day, one
 * export job each, in order. A job not done within the declared wait is saved in the
 * partition's state (`pending`) and collected by the next sync without starting another;
 * a failed job, or one the service will not start now (429), ends this partition's read
 * with a warning, and its window is asked for again on a later sync. The bookmark moves
 * to a window's end once all of its files have been read, and the state is saved then.
 *
 * Full refresh reads the same windows but cannot keep a job for later: a job not ready in
 * time fails the partition (a transient error, the next sync tries again).
 */
export async function readExport(decl: AnyStreamDeclaration, parent: ApiRecord, partition: string, context: ReadContext, signal: AbortSignal): Promise<void> {
  const spec = decl.asyncExport!;
  const incremental = context.selection.get(decl.name) === 'incremental';
  const state = incremental ? (context.states.get(decl.name) ?? emptyState()) : undefined;
  if (state && !context.states.has(decl.name)) context.states.set(decl.name, state);
  let entry: PartitionEntry = state?.partitions.get(partition) ?? {};
  const save = (next: PartitionEntry): void => {
    entry = next;
    if (!state) return;
    state.partitions.set(partition, next);
    context.emitter.state(decl.name, serialiseState(decl.name, state));
  };
  const say = (level: 'INFO' | 'WARN', message: string) => context.emitter.log(level, `${decl.name}: ${partition}: ${message}`);

  const today = serviceToday(context.client);
  const until = today - spec.settleDays * DAY_MS;
  // The bookmark is a window end, always a midnight; a start date counts from its day's midnight.
  let from = startOfDay(Date.parse(entry.cursor ?? context.config.startDate));
  const earliest = startOfDay(monthsBefore(today, spec.maxAgeMonths), 'up') + DAY_MS;
  if (from < earliest) {
    say('INFO', `${iso(from)} is more than ${spec.maxAgeMonths} months back, older than the export keeps; starting at ${iso(earliest)}`);
    from = earliest;
  }

  for (;;) {
    signal.throwIfAborted();
    let window: ExportWindow;
    let id: string;
    if (entry.pending) {
      ({ id, ...window } = entry.pending);
      say('INFO', `collecting the export job started by an earlier sync for ${window.start} – ${window.end}`);
    } else {
      if (from >= until) return;
      window = { start: iso(from), end: iso(Math.min(from + spec.maxWindowDays * DAY_MS, until)) };
      try {
        id = await spec.start(parent, window, context.listContext);
      } catch (error) {
        if (error instanceof ApiError && error.status === 429) {
          say('WARN', `CircleCI allows only a few export jobs per hour per organization (429); ${window.start} – ${window.end} is exported on a later sync`);
          return;
        }
        throw error;
      }
      // Saved at once: a sync that stops now still collects this job next time instead of starting another.
      save({ ...entry, pending: { id, ...window } });
    }

    const { status, waitedMs, polls } = await waitFor(spec, parent, id, context, signal);
    say('INFO', `export job for ${window.start} – ${window.end}: ${status.state} after waiting ${(waitedMs / 1000).toFixed(0)} s (${polls} polls)`);
    if (status.state === 'pending') {
      const minutes = spec.maxWaitMs(context.config) / 60_000;
      if (!state) {
        throw new ConnectorError(`${decl.name}: the export job for ${partition} was not ready within ${minutes} minutes; a later sync tries again.`, 'transient_error');
      }
      say('WARN', `the export job was not ready within ${minutes} minutes; it is kept in the state and collected by the next sync`);
      return;
    }
    if (status.state === 'failed') {
      const { pending: _dropped, ...rest } = entry;
      save(rest);
      say('WARN', `the export job for ${window.start} – ${window.end} failed (${status.reason}); the window is asked for again on a later sync`);
      return;
    }
    // One job's files are one listing under the parent; their rows become records the way
    // every reader's items do (sanitize, enrich, key check), a page of rows at a time.
    const listing = new ParentListing(context.syncedAt);
    for (const url of status.files) {
      signal.throwIfAborted();
      const file = await context.client.download(url);
      for (const page of pagesOf(spec.records(file), ROWS_PER_PAGE)) {
        for (const record of toRecords(decl, page, parent, listing, context)) context.emitter.record(decl.name, record);
        await context.emitter.ready();
      }
    }
    const { pending: _done, ...rest } = entry;
    save({ ...rest, cursor: window.end });
    from = Date.parse(window.end);
  }
}

/** Polls a job until it is done or the declared wait is spent (counted in poll intervals, so a virtual sleep counts too). */
async function waitFor(
  spec: AsyncExport,
  parent: ApiRecord,
  id: string,
  context: ReadContext,
  signal: AbortSignal,
): Promise<{ status: ExportStatus; waitedMs: number; polls: number }> {
  const maxWaitMs = spec.maxWaitMs(context.config);
  const { intervalMs, sleep } = context.exportPolling;
  let waitedMs = 0;
  let polls = 0;
  for (;;) {
    signal.throwIfAborted();
    const status = await spec.poll(parent, id, context.listContext);
    polls += 1;
    if (status.state !== 'pending' || waitedMs + intervalMs > maxWaitMs) return { status, waitedMs, polls };
    await sleep(intervalMs, signal);
    signal.throwIfAborted(); // a cancel during the wait ends it at once
    waitedMs += intervalMs;
  }
}

function monthsBefore(ms: number, months: number): number {
  const d = new Date(ms);
  d.setUTCMonth(d.getUTCMonth() - months);
  return d.getTime();
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function* pagesOf<T>(items: Iterable<T>, size: number): Generator<T[]> {
  let page: T[] = [];
  for (const item of items) {
    page.push(item);
    if (page.length === size) {
      yield page;
      page = [];
    }
  }
  if (page.length > 0) yield page;
}
