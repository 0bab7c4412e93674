import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createWorld, startFakeCircleCi, type RunningFake, type World } from '../../tools/fake-circleci/index.js';
import { STREAM_NAMES, type StreamName } from '../../src/streams/schemas/index.js';
import { allStreams, dedupe, fakeConfig, runRead, type RunResult } from '../support/connector.js';

const START = '2026-08-01T00:00:00Z';

describe('full refresh of every stream', () => {
  let world: World;
  let fake: RunningFake;
  let run: RunResult;
  let slugs: string[];

  beforeAll(async () => {
    world = createWorld({ preset: 'tiny', seed: 7 });
    fake = await startFakeCircleCi({ world });
    slugs = world.projectSlugs(); // one project per organization: every kind of definition and trigger
    run = await runRead({
      config: fakeConfig(world, fake.url, { project_slugs: slugs, start_date: START }),
      streams: allStreams('full_refresh', { exports: true }),
    }, { clock: () => world.nowMs });
  });
  afterAll(() => fake.close());

  it('ends successfully with no error', () => {
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
  });

  it.each(STREAM_NAMES.map((name) => [name]))('%s equals the world truth, record for record', (name) => {
    const stream = name as StreamName;
    const truth = world.truth(stream, { projectSlugs: slugs, startDate: START });
    expect(truth.length).toBeGreaterThan(0);
    const emitted = run.records.get(stream) ?? [];
    expect(emitted.length).toBe(dedupe(stream, emitted).size); // nothing emitted twice
    expect(dedupe(stream, emitted)).toEqual(dedupe(stream, truth as Array<Record<string, unknown>>));
  });

  it('reports STARTED, RUNNING and COMPLETE for every stream and ends each with a state', () => {
    for (const name of STREAM_NAMES) {
      const statuses = run.messages
        .filter((m) => m.type === 'TRACE' && m.trace.type === 'STREAM_STATUS' && m.trace.stream_status.stream_descriptor.name === name)
        .map((m) => m.trace.stream_status.status);
      expect(statuses).toEqual(['STARTED', 'RUNNING', 'COMPLETE']);
      expect(run.states.some((s) => s.stream.stream_descriptor.name === name)).toBe(true);
    }
  });
});
