import { ApiError } from '../http/api-error.js';
import type { AnyStreamDeclaration, ApiRecord, AsyncExport, ExportStatus, ExportWindow } from '../streams/declaration.js';
import { ParentListing, toRecords, type ReadContext } from './read-context.js';
import { DAY_MS, serviceToday, startOfDay } from './service-day.js';
import { emptyState, serialiseState, type PartitionEntry, type PendingJob } from './state-input.js';

/** Rows handed on together: the emitter's back-pressure is heard between pages, as for listed streams. */
const ROWS_PER_PAGE = 1000;

/**
 * Reads a stream declared `asyncExport` under one parent (one partition): windows of whole
 * days from the bookmark (or the start date) up to the service's last settled day, one
 * export job each. The jobs are started together, as many as the service allows in an
 * hour (`jobsPerHour` under way at once, jobs kept from earlier syncs included), so they
 * run side by side; they are collected in window order within one wait (`maxWaitMs` for
 * the partition, not per job) while the other streams go on, and each one collected makes
 * room for the next window's (the service's 429 says when its hour is spent). The
 * bookmark moves to a window's end once all of its files are read, and the state is
 * saved then.
 *
 * What is normal for an export ends the partition's read without failing it, with a WARN
 * saying what is left and when it is read: jobs not ready within the wait are kept in the
 * state (`pending`) and collected by the next sync without starting others; windows past
 * a 429 on starting one are asked for by a later sync; a failed job's window, and
 * those after it, too; a 404 on starting a job (no export for this parent) is empty.
 * Full refresh keeps no state: what is not ready is missing from that sync, and it says so.
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
  const label = typeof parent.slug === 'string' && parent.slug !== '' ? parent.slug : partition;
  const say = (level: 'INFO' | 'WARN', message: string) => context.emitter.log(level, `${decl.name}: ${label}: ${message}`);

  const today = serviceToday(context.client);
  const until = today - spec.settleDays * DAY_MS;
  // The bookmark is a window end, always a midnight; a start date counts from its day's midnight.
  let from = startOfDay(Date.parse(entry.cursor ?? context.config.startDate));
  const earliest = startOfDay(monthsBefore(today, spec.maxAgeMonths), 'up') + DAY_MS;
  if (from < earliest) {
    say('INFO', `${iso(from)} is more than ${spec.maxAgeMonths} months back, older than the export keeps; starting at ${iso(earliest)}`);
    from = earliest;
  }

  const jobs = keptJobs(entry.pending ?? [], from);
  if (jobs.length < (entry.pending?.length ?? 0)) {
    say('INFO', `export jobs saved by an earlier sync no longer follow from ${iso(from)}; their windows are asked for again`);
    save(withPending(entry, jobs));
  }
  if (jobs.length > 0) say('INFO', `collecting ${count(jobs.length, 'export job')} started by an earlier sync (${span(jobs)})`);

  // Jobs for the next windows, while fewer than the hourly limit are under way and the
  // service takes them; each is saved at once (a sync that stops now collects it next
  // time instead of starting another).
  let next = jobs.length > 0 ? Date.parse(jobs.at(-1)!.end) : from;
  let stopped = false;
  const topUp = async (): Promise<void> => {
    while (!stopped && next < until && jobs.length < spec.jobsPerHour) {
      const window = { start: iso(next), end: iso(Math.min(next + spec.maxWindowDays * DAY_MS, until)) };
      const started = await startJob(spec, parent, window, context);
      if (started === 'refused' || started === 'not found') {
        stopped = true;
        if (started === 'not found') say('WARN', decl.notFound?.(parent, decl.endpoint.path) ?? 'there is no export here (404); read as empty');
        else {
          const days = `${window.start} – ${iso(until)}`;
          say(
            'WARN',
            `CircleCI allows only a few export jobs per hour per organization (429); ` +
              (incremental ? `${days} is exported by a later sync` : `${days} is missing from this sync (full refresh; an incremental sync reads it on a later sync)`),
          );
        }
        return;
      }
      jobs.push({ id: started, ...window });
      save(withPending(entry, jobs));
      next = Date.parse(window.end);
    }
  };
  await topUp();

  const waiting = `${decl.name}:${partition}`;
  const waited = { ms: 0 };
  const maxWaitMs = spec.maxWaitMs(context.config);
  context.waiting?.set(waiting, () => `${decl.name} ${label}: ${count(jobs.length, 'export job')} (${span(jobs)}), ${seconds(waited.ms)} of ${seconds(maxWaitMs)}`);
  try {
    while (jobs.length > 0) {
      const job = jobs[0]!;
      const before = waited.ms;
      const { status, polls } = await waitFor(spec, parent, job.id, context, signal, waited, maxWaitMs);
      say('INFO', `export job for ${job.start} – ${job.end}: ${status.state} after waiting ${seconds(waited.ms - before)} (${count(polls, 'poll')})`);
      if (status.state === 'pending') {
        const minutes = maxWaitMs / 60_000;
        const after = next < until ? `; ${iso(next)} – ${iso(until)} is asked for once they are collected` : '';
        say(
          'WARN',
          incremental
            ? `${count(jobs.length, 'export job')} (${span(jobs)}) not ready within ${minutes} minutes (an export can take hours): kept in the state and collected by the next sync${after}`
            : `${count(jobs.length, 'export job')} (${span(jobs)}) not ready within ${minutes} minutes (an export can take hours): full refresh keeps no state, so ` +
                `these days are missing from this sync and asked for again by the next; sync ${decl.name} incrementally to keep the jobs and collect them`,
        );
        return;
      }
      if (status.state === 'failed') {
        say('WARN', `the export job for ${job.start} – ${job.end} failed (${status.reason}); its window and those after it are asked for again by a later sync`);
        save(withPending(entry, []));
        return;
      }
      await collect(decl, parent, status.files, context, signal);
      jobs.shift();
      save({ ...withPending(entry, jobs), cursor: job.end });
      await topUp();
    }
  } finally {
    context.waiting?.delete(waiting);
  }
}

/** Starts one job: its id, or 'refused' (429: the service's hourly limit) or 'not found' (404: no export for this parent). */
async function startJob(spec: AsyncExport, parent: ApiRecord, window: ExportWindow, context: ReadContext): Promise<string | 'refused' | 'not found'> {
  try {
    return (await spec.start(parent, window, context.listContext)) ?? 'not found';
  } catch (error) {
    if (error instanceof ApiError && error.status === 429) return 'refused';
    throw error;
  }
}

/** One job's files: one listing under the parent, whose rows become records as every reader's items do (sanitize, enrich, key check). */
async function collect(decl: AnyStreamDeclaration, parent: ApiRecord, files: readonly string[], context: ReadContext, signal: AbortSignal): Promise<void> {
  const listing = new ParentListing(context.syncedAt);
  for (const url of files) {
    signal.throwIfAborted();
    const file = await context.client.download(url);
    for (const page of pagesOf(decl.asyncExport!.records(file), ROWS_PER_PAGE)) {
      for (const record of toRecords(decl, page, parent, listing, context)) context.emitter.record(decl.name, record);
      await context.emitter.ready();
    }
  }
}

/**
 * The saved jobs still usable: a chain of windows, each starting where the one before
 * ended, the first at or before `from` (so nothing between the bookmark and them is
 * skipped). The chain stops at the first job that breaks it.
 */
function keptJobs(saved: readonly PendingJob[], from: number): PendingJob[] {
  const kept: PendingJob[] = [];
  for (const job of saved) {
    const start = Date.parse(job.start);
    if (kept.length === 0 ? start > from : start !== Date.parse(kept.at(-1)!.end)) break;
    kept.push(job);
  }
  return kept;
}

function withPending(entry: PartitionEntry, jobs: readonly PendingJob[]): PartitionEntry {
  const { pending: _replaced, ...rest } = entry;
  return jobs.length > 0 ? { ...rest, pending: [...jobs] } : rest;
}

/**
 * Polls a job until it is done or the partition's wait is spent (`waited`, shared by its
 * jobs; counted in poll intervals, so a virtual sleep counts too). The first poll is made
 * at once: a job started with others may be done by the time its turn comes.
 */
async function waitFor(
  spec: AsyncExport,
  parent: ApiRecord,
  id: string,
  context: ReadContext,
  signal: AbortSignal,
  waited: { ms: number },
  maxWaitMs: number,
): Promise<{ status: ExportStatus; polls: number }> {
  const { intervalMs, sleep } = context.exportPolling;
  let polls = 0;
  for (;;) {
    signal.throwIfAborted();
    const status = await spec.poll(parent, id, context.listContext);
    polls += 1;
    if (status.state !== 'pending' || waited.ms + intervalMs > maxWaitMs) return { status, polls };
    await sleep(intervalMs, signal);
    signal.throwIfAborted(); // a cancel during the wait ends it at once
    waited.ms += intervalMs;
  }
}

/** `2026-08-01T00:00:00.000Z – 2026-10-31T00:00:00.000Z`: the days a list of consecutive jobs covers. */
function span(jobs: readonly PendingJob[]): string {
  return jobs.length === 0 ? 'nothing' : `${jobs[0]!.start} – ${jobs.at(-1)!.end}`;
}

function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(0)} s`;
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
