/**
 * What the person watching a read sees: progress lines while it runs (their interval is a
 * run option; this test asks for a short one, and checks content, not timing), a line at
 * each project's end, and the summary at the end.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { dispatch } from '../../src/commands/dispatch.js';
import { Emitter } from '../../src/protocol/emitter.js';
import { createWorld, startFakeCircleCi, type RunningFake, type World } from '../../tools/fake-circleci/index.js';
import { allStreams, LISTED_STREAMS, fakeConfig, LineSink, parseRun, readCommand, type RunResult } from '../support/connector.js';

/** The streams a read lists (the usage export has its own suite: test/read/usage.test.ts). */
const STREAM_NAMES = LISTED_STREAMS;

const START = '2026-08-01T00:00:00Z';

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
    expect(walking.some((log) => slugs.some((slug) => new RegExp(`${slug} #\\d+ down to #\\d+ \\([\\d,]+ root records? finished`).test(log.message)))).toBe(true);
  });

  it("each project's end is said with its records and pages", () => {
    for (const slug of slugs) {
      const line = run.logs.find((log) => log.message.startsWith(`${slug}: `) && log.message.includes(' emitted; '));
      expect(line?.message).toMatch(/ emitted; [\d,]+ pages? read$/);
    }
  });

  it('the summary gives records and status per stream, then duration, requests, retries and the rate', () => {
    const streams = run.logs.find((log) => log.message.startsWith('streams: '))!;
    for (const stream of STREAM_NAMES) {
      const emitted = (run.records.get(stream) ?? []).length;
      expect(streams.message).toContain(`${stream} ${emitted.toLocaleString('en-US')} record${emitted === 1 ? '' : 's'} COMPLETE`);
    }
    const last = run.logs.at(-1)!.message;
    expect(last).toMatch(/^read complete: \d+\.\d s, [\d,]+ requests?, [\d,]+ (retry|retries), rate [\d,]+\/min \(peak [\d,]+\/min\), \d+ × 429$/);
    expect(last).toContain(`${fake.stats.total.toLocaleString('en-US')} request`);
  });

  it('counts of one are singular', () => {
    for (const log of run.logs) expect(log.message).not.toMatch(/(^|\D)1 (pages|records|requests|retries|parts)\b/);
  });
});
