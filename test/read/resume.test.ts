import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createWorld, startFakeCircleCi, type RunningFake, type World } from '../../tools/fake-circleci/index.js';
import { INSIGHTS_STREAMS } from '../../src/streams/insights.js';
import { STREAM_NAMES, type StreamName } from '../../src/streams/schemas/index.js';
import { INVENTORY_STREAMS } from '../../src/streams/inventory.js';
import { allStreams, dedupe, fakeConfig, followedIds, parseRun, runRead, type RunResult } from '../support/connector.js';

const START = '2026-06-01T00:00:00Z';
/**
 * Every stream but the inventory and Insights. The inventory's streams are full refresh
 * with nothing to resume (a resumed sync reads them whole), and each cut here is one more
 * sync. The Insights streams' bookmarks are plain tree bookmarks (one per partition once
 * read to its end), as schedule's and deploy's are here; their resume is
 * test/read/insights.test.ts's incremental case.
 */
const RESUMABLE = Object.fromEntries(
  Object.entries(allStreams()).filter(([name]) => !Object.hasOwn(INVENTORY_STREAMS, name) && !Object.hasOwn(INSIGHTS_STREAMS, name)),
) as ReturnType<typeof allStreams>;
const RESUMED = STREAM_NAMES.filter((stream) => stream in RESUMABLE);
/** Checkpoint every few records, so long project walks leave mid-project states. */
const EVERY_FEW = { checkpointRecords: 10 };

/**
 * A sync stopped right after any STATE message and resumed from the states emitted so
 * far loses no record: what the interrupted sync emitted before the stop, plus what the
 * resumed sync emits, holds the whole truth.
 */
describe('a sync stopped after any STATE and resumed from it', () => {
  let world: World;
  let fake: RunningFake;
  let slugs: string[];
  let config: Record<string, unknown>;
  let full: RunResult;

  beforeAll(async () => {
    world = createWorld({ preset: 'tiny', seed: 5, pipelinesPerProject: 12 });
    fake = await startFakeCircleCi({ world });
    slugs = world.projects.map((p) => p.slug);
    config = fakeConfig(world, fake.url, { project_slugs: slugs, start_date: START });
    full = await runRead({ config, streams: RESUMABLE }, EVERY_FEW);
  });
  afterAll(() => fake.close());

  it('the uninterrupted sync checkpoints inside projects (resume markers)', () => {
    expect(full.exitCode).toBe(0);
    const markers = full.states.filter((s) => Object.values(s.stream.stream_state.projects ?? {}).some((p: any) => p.resume));
    expect(markers.length).toBeGreaterThan(2);
    expect(full.states.some((s) => typeof s.stream.stream_state.currently_syncing === 'string')).toBe(true);
  });

  it('resuming from every STATE loses nothing', async () => {
    const truths = new Map(RESUMED.map((stream) => [stream, dedupe(stream, world.truth(stream, { projectSlugs: slugs, startDate: START }) as Array<Record<string, unknown>>)]));
    const stateIndexes = full.messages.flatMap((m, i) => (m.type === 'STATE' ? [i] : []));
    expect(stateIndexes.length).toBeGreaterThan(10);
    for (const cut of stateIndexes) {
      const before = parseRun(full.lines.slice(0, cut + 1).join('\n'), 0);
      const resumed = await runRead({ config, streams: RESUMABLE, state: before.finalState }, EVERY_FEW);
      expect(resumed.exitCode).toBe(0);
      for (const name of RESUMED) {
        const stream = name as StreamName;
        const truth = truths.get(stream)!;
        const destination = dedupe(stream, before.records.get(stream), resumed.records.get(stream));
        const missing = [...truth.keys()].filter((key) => !destination.has(key));
        if (missing.length > 0) throw new Error(`cut after message ${cut}: ${stream} lost ${missing.length} records, e.g. ${missing[0]}`);
        expect(destination).toEqual(truth);
      }
    }
    // One read per STATE (about a hundred, each a child process): on a loaded 2-core machine
    // this takes longer than jest's default; the limit only guards against a hang.
  }, 600_000);

  it('a resumed project does not re-read the pipelines finished before the stop', async () => {
    const marked = full.messages.findIndex(
      (m) => m.type === 'STATE' && m.state.stream.stream_descriptor.name === 'jobs' && Object.values(m.state.stream.stream_state.projects).some((p: any) => p.resume),
    );
    const before = parseRun(full.lines.slice(0, marked + 1).join('\n'), 0);
    const resumed = await runRead({ config, streams: RESUMABLE, state: before.finalState }, EVERY_FEW);
    const overlap = (resumed.records.get('jobs') ?? []).filter((job) => (before.records.get('jobs') ?? []).some((b) => b.id === job.id && b._workflow_id === job._workflow_id));
    expect(overlap.length).toBeLessThan((before.records.get('jobs') ?? []).length);
  });
});

/**
 * A checkpoint claims progress only over records a resumed sync would not read again.
 * Workflows still running are followed as `unfinished` and read again on the next sync,
 * so a state whose finished prefix held only them would save nothing: a sync resumed from
 * it would repeat the first one record for record (CAT's sequential-slices check fails on
 * exactly that). Here each project's newest pipeline has one workflow, still in progress,
 * and projects are walked one pipeline at a time, so without the rule the first
 * checkpoint of a walk would claim only that workflow. Every checkpoint writes its STATE
 * here (stateWeight 0), not only those that outweigh their records.
 */
describe('every checkpoint inside a walk saves records', () => {
  let world: World;
  let fake: RunningFake;
  let config: Record<string, unknown>;

  beforeAll(async () => {
    world = createWorld({ preset: 'tiny', seed: 3, workflowsPerPipeline: 1, pipelinesPerProject: 4 });
    fake = await startFakeCircleCi({ world });
    // The first project's newest pipeline ends in a running workflow (the world's rule for gIdx 0).
    config = fakeConfig(world, fake.url, { project_slugs: [world.projects[0]!.slug], start_date: START, max_concurrency: 1 });
  });
  afterAll(() => fake.close());

  it.each([['workflows'], ['jobs']] as const)('%s: a sync resumed from any mid-walk STATE reads fewer records than the uninterrupted one', async (stream) => {
    const full = await runRead({ config, streams: { [stream]: 'incremental' } }, { checkpointRecords: 1, stateWeight: 0 });
    expect(full.exitCode).toBe(0);
    const fullCount = full.records.get(stream)?.length ?? 0;
    const followed = followedIds(full.states.at(-1)!.stream.stream_state);
    expect(followed.length).toBeGreaterThan(0); // the world has the running workflow this is about
    const midWalk = full.states.filter((s) => Object.values(s.stream.stream_state.projects ?? {}).some((p: any) => p.resume));
    expect(midWalk.length).toBeGreaterThan(1);
    for (const [index, state] of midWalk.entries()) {
      const resumed = await runRead({ config, streams: { [stream]: 'incremental' }, state: [{ type: 'STREAM', stream: state.stream }] }, { checkpointRecords: 1, stateWeight: 0 });
      expect(resumed.exitCode).toBe(0);
      expect({ state: index, fewer: (resumed.records.get(stream)?.length ?? 0) < fullCount }).toEqual({ state: index, fewer: true });
    }
  });
});
