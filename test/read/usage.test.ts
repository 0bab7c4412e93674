// The usage stream against the fake's usage export: whole reads compared with its truth,
// incremental windows by day, pending, failed and rate-limited jobs, a non-admin
// organization, and the pre-signed URLs' secrecy. Polling runs in virtual time: the
// injected sleep counts its waits and returns at once.

import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import {
  configureUsageExport,
  createWorld,
  startFakeCircleCi,
  usageExportJobs,
  usageRowsTruth,
  usageUrlSecrets,
  type RunningFake,
  type World,
} from '../../tools/fake-circleci/index.js';
import { usageRecordOf } from '../../tools/fake-circleci/usage-export.js';
import type { RunOptions } from '../../src/run-options.js';
import { dedupe, fakeConfig, runRead, type RunResult } from '../support/connector.js';
import { expectRefusedParts } from '../support/refused.js';

const START = '2026-08-01T00:00:00Z';
const DAY = 86_400_000;

let world: World;
let fake: RunningFake;
let slept: number[];

beforeEach(async () => {
  world = createWorld({ preset: 'tiny', seed: 7 });
  fake = await startFakeCircleCi({ world, faults: {} });
  slept = [];
});
afterEach(() => fake.close());

const options = (): RunOptions => ({
  exportPollIntervalMs: 10_000,
  sleep: async (ms) => {
    slept.push(ms);
  },
});

function config(fields: Record<string, unknown> = {}): Record<string, unknown> {
  return fakeConfig(world, fake.url, { project_slugs: [world.projects[0]!.slug], start_date: START, ...fields });
}

function sync(mode: 'incremental' | 'full_refresh', state?: unknown, fields: Record<string, unknown> = {}): Promise<RunResult> {
  return runRead({ config: config(fields), streams: { usage: mode }, ...(state !== undefined ? { state } : {}) }, options());
}

function usageState(run: RunResult): Record<string, any> {
  return run.finalState.find((s) => s.stream.stream_descriptor.name === 'usage')!.stream.stream_state.organizations;
}

function statusOf(run: RunResult, stream: string): string | undefined {
  const statuses = run.messages.filter((m) => m.type === 'TRACE' && m.trace.type === 'STREAM_STATUS' && m.trace.stream_status.stream_descriptor.name === stream);
  return statuses.at(-1)?.trace.stream_status.status;
}

function logs(run: RunResult, level: string): string[] {
  return run.logs.filter((l) => l.level === level && l.message.startsWith('usage:')).map((l) => l.message);
}

const iso = (ms: number) => new Date(ms).toISOString();
const today = () => Math.floor(world.nowMs / DAY) * DAY;

describe('usage', () => {
  it('a full read equals the truth: every organization, every window, typed by column', async () => {
    const run = await sync('full_refresh');
    expect(run.errors).toEqual([]);
    const truth = world.truth('usage', { startDate: START }) as Array<Record<string, unknown>>;
    expect(truth.length).toBeGreaterThan(0);
    const records = run.records.get('usage') ?? [];
    expect(records.length).toBe(dedupe('usage', records).size);
    expect(dedupe('usage', records)).toEqual(dedupe('usage', truth));
    // 3 windows (Aug 1 – Oct 31, 32 days at most) for each of the 3 organizations, each job waited for in polls
    expect(usageExportJobs(world).map((j) => [iso(j.startMs), iso(j.endMs + 1)]).sort()).toEqual(
      world.orgs.flatMap(() => [
        ['2026-08-01T00:00:00.000Z', '2026-09-02T00:00:00.000Z'],
        ['2026-09-02T00:00:00.000Z', '2026-10-04T00:00:00.000Z'],
        ['2026-10-04T00:00:00.000Z', iso(today() - DAY)],
      ]).sort(),
    );
    expect(logs(run, 'INFO').filter((m) => / completed after waiting 20 s \(3 polls\)$/.test(m))).toHaveLength(9);
  });

  it('incremental syncs continue by day from the end of the last window, with no gap and no duplicate', async () => {
    const first = await sync('incremental');
    const bookmark = iso(today() - DAY);
    for (const org of world.orgs) expect(usageState(first)[org.id]).toEqual({ job_run_started_at: bookmark });

    world.advanceTime(3 * DAY);
    const jobsBefore = usageExportJobs(world).length;
    const second = await sync('incremental', first.finalState);
    expect(second.errors).toEqual([]);
    const newJobs = usageExportJobs(world).slice(jobsBefore);
    expect(newJobs.map((j) => [iso(j.startMs), iso(j.endMs + 1)])).toEqual(world.orgs.map(() => [bookmark, iso(today() - DAY)]));
    const firstIds = new Set((first.records.get('usage') ?? []).map((r) => r.job_id));
    const secondRecords = second.records.get('usage') ?? [];
    expect(secondRecords.filter((r) => firstIds.has(r.job_id))).toEqual([]);
    const expected = world.orgs.flatMap((org) => usageRowsTruth(world, org.id, bookmark, iso(today() - DAY - 1)).map(usageRecordOf));
    expect(dedupe('usage', secondRecords)).toEqual(dedupe('usage', expected as Array<Record<string, unknown>>));
    for (const org of world.orgs) expect(usageState(second)[org.id]).toEqual({ job_run_started_at: iso(today() - DAY) });

    // the same day again: nothing to export, no job started
    const third = await sync('incremental', second.finalState);
    expect(usageExportJobs(world).length).toBe(jobsBefore + newJobs.length);
    expect(third.records.get('usage')).toBeUndefined();
  });

  it('a start date older than 13 months is moved up, with a log line', async () => {
    const run = await sync('incremental', undefined, { start_date: '2024-01-01' });
    expect(run.errors).toEqual([]);
    expect(logs(run, 'INFO').filter((m) => m.includes('more than 13 months back'))).toHaveLength(world.orgs.length);
    const starts = usageExportJobs(world).map((j) => j.startMs);
    expect(Math.min(...starts)).toBeGreaterThan(Date.parse('2025-10-01T00:00:00Z'));
  });

  it('jobs not ready within the wait are kept in state, the part COMPLETE, and collected by the next sync without a second POST', async () => {
    configureUsageExport(world, { processingPolls: 1_000_000, completeAfterMs: 3_600_000 });
    const first = await sync('incremental', undefined, { usage_export_max_wait_minutes: 1 });
    expect([first.exitCode, first.errors]).toEqual([0, []]);
    expect(statusOf(first, 'usage')).toBe('COMPLETE');
    expect(first.records.get('usage')).toBeUndefined();
    // Every window's job is started at once (3 per organization), then the first is waited for: 1 minute in 10 s polls.
    const jobs = usageExportJobs(world);
    expect(jobs).toHaveLength(3 * world.orgs.length);
    for (const org of world.orgs) expect(jobs.filter((j) => j.orgIds[0] === org.id).map((j) => j.polls)).toEqual([7, 0, 0]);
    expect(slept).toEqual(Array(6 * world.orgs.length).fill(10_000));
    for (const org of world.orgs) {
      const ofOrg = jobs.filter((j) => j.orgIds[0] === org.id);
      expect(usageState(first)[org.id]).toEqual({ pending: ofOrg.map((job) => ({ id: job.id, start: iso(job.startMs), end: iso(job.endMs + 1) })) });
    }
    expect(logs(first, 'WARN').filter((m) => m.includes('3 export jobs (2026-08-01T00:00:00.000Z – ') && m.includes('not ready within 1 minutes (an export can take hours): kept in the state and collected by the next sync'))).toHaveLength(world.orgs.length);

    world.advanceTime(3_600_000);
    const second = await sync('incremental', first.finalState, { usage_export_max_wait_minutes: 1 });
    expect(second.errors).toEqual([]);
    expect(usageExportJobs(world)).toHaveLength(jobs.length); // no second POST
    // One more poll each: completed.
    for (const org of world.orgs) expect(usageExportJobs(world).filter((j) => j.orgIds[0] === org.id).map((j) => j.polls)).toEqual([8, 1, 1]);
    expect(logs(second, 'INFO').filter((m) => m.includes('collecting 3 export jobs started by an earlier sync'))).toHaveLength(world.orgs.length);
    const truth = world.truth('usage', { startDate: START }) as Array<Record<string, unknown>>;
    expect(dedupe('usage', second.records.get('usage'))).toEqual(dedupe('usage', truth));
    for (const org of world.orgs) expect(usageState(second)[org.id]).toEqual({ job_run_started_at: iso(today() - DAY) });
  });

  it('a first sync does not wait window after window: the jobs run side by side, and the wait is the slowest one\'s', async () => {
    const single = createWorld({ preset: 'tiny', seed: 7, organizations: 1 });
    const server = await startFakeCircleCi({ world: single, faults: {} });
    try {
      // Jobs end 60 s of CircleCI's time after they start; each wait between polls is that time passing.
      configureUsageExport(single, { processingPolls: 1_000_000, completeAfterMs: 60_000 });
      const waits: number[] = [];
      const sleep = async (ms: number) => {
        waits.push(ms);
        single.advanceTime(ms);
      };
      const run = await runRead(
        { config: fakeConfig(single, server.url, { project_slugs: [single.projects[0]!.slug], start_date: START }), streams: { usage: 'incremental' } },
        { exportPollIntervalMs: 10_000, sleep },
      );
      expect([run.exitCode, run.errors]).toEqual([0, []]);
      const jobs = usageExportJobs(single);
      expect(jobs).toHaveLength(3);
      expect(jobs.map((j) => j.polls)).toEqual([7, 1, 1]);
      expect(waits.reduce((a, b) => a + b, 0)).toBe(60_000); // not 3 × 60 s
      expect(dedupe('usage', run.records.get('usage'))).toEqual(dedupe('usage', single.truth('usage', { startDate: START }) as Array<Record<string, unknown>>));
    } finally {
      await server.close();
    }
  });

  it('the progress line names the export jobs a wait is for', async () => {
    configureUsageExport(world, { processingPolls: 1_000_000, completeAfterMs: 3_600_000 });
    const run = await runRead(
      { config: config({ usage_export_max_wait_minutes: 1 }), streams: { usage: 'incremental' } },
      { exportPollIntervalMs: 10_000, progressEveryMs: 1, sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms / 100)) },
    );
    expect(run.errors).toEqual([]);
    const waiting = run.logs.filter((l) => l.message.startsWith('progress after') && l.message.includes('; waiting on usage '));
    expect(waiting.length).toBeGreaterThan(0);
    expect(waiting.at(-1)!.message).toMatch(/waiting on usage \S+: 3 export jobs \(2026-08-01T00:00:00\.000Z – [^)]+\), \d+ s of 60 s/);
  });

  it('a cancel during the wait between polls ends the wait at once: the job stays in state for the next sync', async () => {
    configureUsageExport(world, { processingPolls: 1_000_000, completeAfterMs: 3_600_000 });
    const cancel = new AbortController();
    let waits = 0;
    // A wait that would never end by itself: only the cancel signal can end it.
    const sleep = (_ms: number, signal: AbortSignal): Promise<void> => {
      waits += 1;
      if (waits === 1) queueMicrotask(() => cancel.abort('SIGTERM'));
      return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    };
    const run = await runRead({ config: config(), streams: { usage: 'incremental' } }, { exportPollIntervalMs: 10_000, sleep, cancel: cancel.signal });
    expect(run.exitCode).toBe(1);
    expect(waits).toBe(1);
    expect(run.errors).toEqual([]);
    expect(run.logs.some((l) => l.level === 'WARN' && l.message.startsWith('read cancelled (SIGTERM): no new requests'))).toBe(true);
    // Every job started before the cancel is saved, so the next sync collects it instead of starting another.
    const started = usageExportJobs(world).map((j) => j.id);
    expect(started.length).toBeGreaterThan(0);
    const saved = Object.values(usageState(run)).flatMap((entry) => ((entry as { pending?: Array<{ id: string }> }).pending ?? []).map((job) => job.id));
    for (const id of started) expect(saved).toContain(id);
  });

  it('full refresh cannot keep a job: one not ready is said, and the stream still completes', async () => {
    configureUsageExport(world, { outcome: 'stuck' });
    const run = await sync('full_refresh', undefined, { usage_export_max_wait_minutes: 0 });
    expect([run.exitCode, run.errors]).toEqual([0, []]);
    expect(statusOf(run, 'usage')).toBe('COMPLETE');
    expect(logs(run, 'WARN').filter((m) => m.includes('full refresh keeps no state, so these days are missing from this sync'))).toHaveLength(world.orgs.length);
  });

  it('an organization whose export stays processing, and one without the usage export (404): both normal, the sync completes', async () => {
    const [stuck, missing, fine] = world.orgs;
    configureUsageExport(world, { stuckOrganizations: [stuck!.id], unavailableOrganizations: [missing!.id] });
    for (const mode of ['incremental', 'full_refresh'] as const) {
      const run = await sync(mode, undefined, { usage_export_max_wait_minutes: 1 });
      expect({ mode, exit: run.exitCode, errors: run.errors, status: statusOf(run, 'usage') }).toEqual({ mode, exit: 0, errors: [], status: 'COMPLETE' });
      const warnings = logs(run, 'WARN');
      expect(warnings.filter((m) => m.includes(`CircleCI has no usage export for organization ${missing!.slug} (404`))).toHaveLength(1);
      expect(warnings.filter((m) => m.startsWith(`usage: ${stuck!.slug}: 3 export jobs`) && m.includes('not ready within 1 minutes'))).toHaveLength(1);
      expect(warnings).toHaveLength(2);
      const truth = (world.truth('usage', { startDate: START }) as Array<Record<string, unknown>>).filter((r) => r.organization_id === fine!.id);
      expect(dedupe('usage', run.records.get('usage'))).toEqual(dedupe('usage', truth));
      if (mode === 'incremental') {
        expect(usageState(run)[stuck!.id].pending).toHaveLength(3);
        expect(usageState(run)[missing!.id]).toBeUndefined();
        expect(usageState(run)[fine!.id]).toEqual({ job_run_started_at: iso(today() - DAY) });
      }
    }
  });

  it('a failed job is asked for again on a later sync, with a warning', async () => {
    configureUsageExport(world, { outcome: 'fail' });
    const first = await sync('incremental');
    expect(first.errors).toEqual([]);
    expect(logs(first, 'WARN').filter((m) => m.includes('failed (The usage export query failed'))).toHaveLength(world.orgs.length);
    for (const org of world.orgs) expect(usageState(first)[org.id]).toEqual({});

    configureUsageExport(world, { outcome: 'complete' });
    const second = await sync('incremental', first.finalState);
    expect(second.errors).toEqual([]);
    const truth = world.truth('usage', { startDate: START }) as Array<Record<string, unknown>>;
    expect(dedupe('usage', second.records.get('usage'))).toEqual(dedupe('usage', truth));
  });

  it('the hourly limit (429) stops an organization after its last window, to go on later', async () => {
    configureUsageExport(world, { postsPerHour: 1 });
    const first = await sync('incremental');
    expect(first.errors).toEqual([]);
    expect(logs(first, 'WARN').filter((m) => m.includes('(429)'))).toHaveLength(world.orgs.length);
    for (const org of world.orgs) expect(usageState(first)[org.id]).toEqual({ job_run_started_at: '2026-09-02T00:00:00.000Z' });

    world.advanceTime(3_600_000);
    configureUsageExport(world, { postsPerHour: 10 });
    const second = await sync('incremental', first.finalState);
    const truth = world.truth('usage', { startDate: START }) as Array<Record<string, unknown>>;
    const destination = dedupe('usage', first.records.get('usage'), second.records.get('usage'));
    expect([...destination.keys()].sort()).toEqual([...dedupe('usage', truth).keys()].sort());
  });

  it('an organization that refuses the export (403, not an admin) fails that part, saying what to do; the others sync and keep their bookmarks', async () => {
    await fake.close();
    const refused = world.orgs[0]!;
    fake = await startFakeCircleCi({ world, faults: { forbiddenGroupOrgs: [refused.id] } });
    const run = await sync('incremental');
    expectRefusedParts(run, [{ stream: 'usage', parent: `collaborations ${refused.slug}` }]);
    expect(run.errors[0]!.message).toContain('usage export needs organization admin rights');
    const others = world.orgs.slice(1).map((org) => org.id);
    const truth = (world.truth('usage', { startDate: START }) as Array<Record<string, unknown>>).filter((r) => r.organization_id !== refused.id);
    expect(truth.length).toBeGreaterThan(0);
    expect(dedupe('usage', run.records.get('usage'))).toEqual(dedupe('usage', truth));
    // The refused organization's bookmark does not move (it has none yet); the others' are saved.
    expect(Object.keys(usageState(run)).sort()).toEqual(others.sort());
  });

  it('no token and no URL signature in any output; the file host gets no token (it would answer 400)', async () => {
    const run = await sync('incremental');
    expect(run.errors).toEqual([]);
    expect((run.records.get('usage') ?? []).length).toBeGreaterThan(0);
    const secrets = usageUrlSecrets(world);
    expect(secrets.length).toBeGreaterThan(0);
    const output = run.lines.join('\n');
    for (const secret of [...secrets, world.token]) expect(output.includes(secret)).toBe(false);
    expect(output.includes('X-Amz-')).toBe(false);
    expect(fake.stats.byRoute.usage_export_file).toBeGreaterThan(0);
  });
});
