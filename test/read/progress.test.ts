/**
 * What the person watching a read sees: progress lines while it runs (their interval is a
 * run option; this test asks for a short one, and checks content, not timing), a line at
 * each project's end, and the summary at the end.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { dispatch } from '../../src/commands/dispatch.js';
import { Emitter } from '../../src/protocol/emitter.js';
import { createWorld, startFakeCircleCi, type RunningFake, type World } from '../../tools/fake-circleci/index.js';
import { allStreams, LISTED_STREAMS, catalogOf, fakeConfig, LineSink, parseRun, readCommand, runRead, writeJson, type RunResult } from '../support/connector.js';
import { assertCleanOutput, lastStates, runCli } from '../reliability/harness.js';

/** The streams a read lists (the usage export has its own suite: test/read/usage.test.ts). */
const STREAM_NAMES = LISTED_STREAMS;

const START = '2026-08-01T00:00:00Z';
const DAY = 86_400_000;

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function estimates(run: RunResult): Array<Record<string, unknown>> {
  return run.messages.filter((m) => m.type === 'TRACE' && m.trace.type === 'ESTIMATE').map((m) => m.trace.estimate);
}

/** The pipelines' per-project state entries of a run's final state. */
function pipelineEntries(run: RunResult): Record<string, Record<string, unknown>> {
  return run.finalState.find((s) => s.stream.stream_descriptor.name === 'pipelines')!.stream.stream_state.projects;
}

describe('progress and summary of a read', () => {
  let world: World;
  let fake: RunningFake;
  let slugs: string[];
  let run: RunResult;

  beforeAll(async () => {
    world = createWorld({ preset: 'tiny', seed: 7, pipelinesPerProject: 30 });
    fake = await startFakeCircleCi({ world, faults: { latency: { fixedMs: 20 } } });
    slugs = world.projects.map((project) => project.slug);
    const sink = new LineSink();
    const config = fakeConfig(world, fake.url, { project_slugs: slugs, start_date: START });
    const exitCode = await dispatch(readCommand({ config, streams: allStreams() }), new Emitter(sink), { progressEveryMs: 50 });
    run = parseRun(sink.text, exitCode);
  }, 120_000);
  afterAll(() => fake.close());

  it('progress lines say records per stream, requests, the rate and its limit, and how far each project walk is', () => {
    expect(run.exitCode).toBe(0);
    const progress = run.logs.filter((log) => log.message.startsWith('progress after '));
    expect(progress.length).toBeGreaterThan(0);
    for (const log of progress) {
      expect(log.message).toMatch(/^progress after \d+ s: records .*; [\d,]+ requests?, rate [\d,]+\/min \((no configured limit|limit [\d,]+\/min)\)/);
      for (const stream of STREAM_NAMES) expect(log.message).toContain(`${stream} `);
    }
    const walking = progress.filter((log) => log.message.includes('; walking '));
    expect(walking.length).toBeGreaterThan(0);
    // A first sync has no earlier pipeline number to count from: pipelines finished, no share.
    expect(walking.some((log) => slugs.some((slug) => new RegExp(`${escape(slug)}: [\\d,]+ pipelines finished, (from #\\d+|#\\d+ down to #\\d+), [\\d,]+ pages?`).test(log.message)))).toBe(true);
    for (const log of walking) expect(log.message).not.toContain(' of ~');
  });

  it("each project's end is said with its records per stream, pages, and the read's requests and rate so far", () => {
    for (const slug of slugs) {
      const line = run.logs.find((log) => log.message.startsWith(`${slug} finished: `));
      const pipelines = (run.records.get('pipelines') ?? []).filter((record) => record.project_slug === slug).length;
      expect(line?.message).toContain(`${slug} finished: ${pipelines} pipelines finished; pipelines ${pipelines} records, workflows `);
      expect(line?.message).toMatch(/; [\d,]+ pages? read; read so far: [\d,]+ requests?, rate [\d,]+\/min \((no configured limit|limit [\d,]+\/min)\)$/);
    }
  });

  it('a first sync says no ESTIMATE: there is no earlier pipeline number to count from', () => {
    expect(estimates(run)).toEqual([]);
  });

  it('the summary gives records and status per stream, then duration, requests, retries and the rate', () => {
    const streams = run.logs.find((log) => log.message.startsWith('streams: '))!;
    for (const stream of STREAM_NAMES) {
      const emitted = (run.records.get(stream) ?? []).length;
      expect(streams.message).toContain(`${stream} ${emitted.toLocaleString('en-US')} record${emitted === 1 ? '' : 's'} COMPLETE`);
    }
    const last = run.logs.at(-1)!.message;
    expect(last).toMatch(/^read complete: \d+\.\d s, [\d,]+ requests?, [\d,]+ (retry|retries), rate [\d,]+\/min \((limit [\d,]+\/min|no limit shown)\), \d+ × 429$/);
    expect(last).toContain(`${fake.stats.total.toLocaleString('en-US')} request`);
  });

  it('counts of one are singular', () => {
    for (const log of run.logs) expect(log.message).not.toMatch(/(^|\D)1 (pages|records|requests|retries|parts)\b/);
  });
});

/**
 * A later sync of the built connector (a process, progress every 50 ms through the test
 * entry point) against a slow fake: the state of the first sync saved each project's
 * newest pipeline number, so the new pipelines are counted from the first page.
 */
describe('a later sync: row estimates and the walk percentage', () => {
  let world: World;
  let fake: RunningFake;
  let slugs: string[];
  let first: RunResult;
  let later: RunResult;
  const added = [3, 5, 8];

  beforeAll(async () => {
    world = createWorld({ preset: 'tiny', seed: 7, pipelinesPerProject: 12 });
    fake = await startFakeCircleCi({ world, faults: {} });
    slugs = world.projects.map((project) => project.slug);
    const config = fakeConfig(world, fake.url, { project_slugs: slugs, start_date: START });
    first = await runRead({ config, streams: allStreams() });
    world.advanceTime(DAY);
    slugs.forEach((slug, index) => world.addPipelines(slug, added[index]!));
    fake.faults.set({ latency: { fixedMs: 100 } });
    const files = ['--config', writeJson(config), '--catalog', writeJson(catalogOf(allStreams())), '--state', writeJson(lastStates(first))];
    const cli = await runCli(['read', ...files], { runOptions: { progressEveryMs: 50 }, timeoutMs: 120_000 });
    assertCleanOutput(cli, world.token, 'later sync'); // every line valid against the Airbyte protocol schema, ESTIMATE included
    later = parseRun(`${cli.lines.join('\n')}\n`, cli.exitCode ?? -1);
  }, 180_000);
  afterAll(() => fake.close());

  it('the first sync saved each project\'s newest pipeline number beside its bookmark', () => {
    expect(first.exitCode).toBe(0);
    const entries = pipelineEntries(first);
    for (const slug of slugs) {
      const numbers = (first.records.get('pipelines') ?? []).filter((r) => r.project_slug === slug).map((r) => r.number as number);
      expect(entries[slug]).toEqual({ updated_at: expect.any(String), newest_number: Math.max(...numbers) });
    }
  });

  it('one ESTIMATE for pipelines: the pipelines numbered above those saved, which is what the sync emits', () => {
    expect(later.exitCode).toBe(0);
    const emitted = later.records.get('pipelines') ?? [];
    expect(emitted.length).toBe(added.reduce((a, b) => a + b, 0));
    expect(estimates(later)).toEqual([{ name: 'pipelines', type: 'STREAM', row_estimate: emitted.length }]);
  });

  it('progress lines give each walk as "N of ~M pipelines (P%)"', () => {
    const walking = later.logs.filter((log) => log.message.startsWith('progress after ') && log.message.includes('; walking '));
    expect(walking.length).toBeGreaterThan(0);
    const shares = walking.flatMap((log) =>
      slugs.flatMap((slug, index) => {
        const match = new RegExp(`${escape(slug)}: (\\d+) of ~(\\d+) pipelines \\((\\d+)%\\)`).exec(log.message);
        return match ? [{ index, done: Number(match[1]), of: Number(match[2]), percent: Number(match[3]) }] : [];
      }),
    );
    expect(shares.length).toBeGreaterThan(0);
    for (const share of shares) {
      expect(share.of).toBe(added[share.index]);
      expect(share.percent).toBe(Math.floor((share.done * 100) / share.of));
    }
  });

  it("each project's end says all of its new pipelines were walked, with its records", () => {
    slugs.forEach((slug, index) => {
      const line = later.logs.find((log) => log.message.startsWith(`${slug} finished: `));
      expect(line?.message).toContain(`${slug} finished: ${added[index]} of ~${added[index]} pipelines (100%); pipelines ${added[index]} records`);
    });
  });

  it('the state keeps the newest number; a state saved before it existed still reads, with no estimate and no share', async () => {
    const entries = pipelineEntries(later);
    slugs.forEach((slug, index) => expect(entries[slug]!.newest_number).toBe((pipelineEntries(first)[slug]!.newest_number as number) + added[index]!));
    // The first sync's state as saved before the number was kept.
    const older = lastStates(first).map((message) => {
      const state = structuredClone(message);
      for (const entry of Object.values((state.stream.stream_state.projects ?? {}) as Record<string, Record<string, unknown>>)) delete entry.newest_number;
      return state;
    });
    expect(JSON.stringify(older)).not.toContain('newest_number');
    const config = fakeConfig(world, fake.url, { project_slugs: slugs, start_date: START });
    fake.faults.set({});
    const run = await runRead({ config, streams: allStreams(), state: older }, { progressEveryMs: 50 });
    expect(run.exitCode).toBe(0);
    expect(run.errors).toEqual([]);
    expect(estimates(run)).toEqual([]);
    for (const log of run.logs) expect(log.message).not.toContain(' of ~');
    // ... and it saves the number again, for the sync after.
    const again = pipelineEntries(run);
    for (const slug of slugs) expect(again[slug]!.newest_number).toBe(entries[slug]!.newest_number);
  });

  it('after an interrupted sync, the estimate leaves out the pipelines its resume marker says are finished', async () => {
    const slug = slugs[0]!;
    const saved = pipelineEntries(later)[slug]!.newest_number as number;
    world.addPipelines(slug, 10); // saved + 1 … saved + 10
    const state = lastStates(later).map((message) => structuredClone(message));
    const pipelines = state.find((message) => message.stream.stream_descriptor.name === 'pipelines')!;
    // An earlier sync, interrupted, finished saved + 4 … saved + 7 (and nothing is read again there).
    pipelines.stream.stream_state.projects[slug].resume = { newest_number: saved + 7, done_down_to: saved + 4 };
    fake.faults.set({});
    const config = fakeConfig(world, fake.url, { project_slugs: slugs, start_date: START });
    const run = await runRead({ config, streams: allStreams(), state });
    expect(run.exitCode).toBe(0);
    const numbers = (run.records.get('pipelines') ?? []).map((record) => record.number as number).sort((a, b) => a - b);
    expect(numbers).toEqual([1, 2, 3, 8, 9, 10].map((n) => saved + n));
    expect(estimates(run)).toEqual([{ name: 'pipelines', type: 'STREAM', row_estimate: 6 }]);
    expect(pipelineEntries(run)[slug]!.newest_number).toBe(saved + 10);
  });
});
