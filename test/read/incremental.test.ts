import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createWorld, startFakeCircleCi, type RunningFake, type World } from '../../tools/fake-circleci/index.js';
import { STREAM_NAMES, type StreamName } from '../../src/streams/schemas/index.js';
import { STREAM_GRAPH, STREAMS } from '../../src/streams/streams.js';
import { allStreams, dedupe, fakeConfig, followedIds, runRead, type RunResult } from '../support/connector.js';

const START = '2026-08-01T00:00:00Z';
const LOOKBACK_HOURS = 24;

/** The last saved state of a stream in a run. */
function stateOf(run: RunResult, stream: StreamName): Record<string, any> {
  return run.finalState.find((s) => s.stream.stream_descriptor.name === stream)!.stream.stream_state;
}

describe('incremental syncs', () => {
  let world: World;
  let fake: RunningFake;
  let slugs: string[];
  let config: Record<string, unknown>;
  let first: RunResult;
  let second: RunResult;
  let secondRequests: Record<string, number>;

  beforeAll(async () => {
    world = createWorld({ preset: 'tiny', seed: 11 });
    fake = await startFakeCircleCi({ world });
    slugs = world.projects.slice(0, 2).map((p) => p.slug);
    config = fakeConfig(world, fake.url, { project_slugs: slugs, start_date: START, workflow_lookback_hours: LOOKBACK_HOURS });
    first = await runRead({ config, streams: allStreams() }, { clock: () => world.nowMs });

    // The world moves on: new pipelines, a rerun of the newest old pipeline (its
    // updated_at does not change), running workflows finish, a schedule and a deploy
    // environment change.
    world.advanceTime(3600_000);
    const newestOld = [...(first.records.get('pipelines') ?? [])]
      .filter((p) => p.project_slug === slugs[0])
      .sort((a, b) => Number(b.number) - Number(a.number))[0]!;
    world.rerunWorkflow(String(newestOld.id));
    world.addPipelines(slugs[0]!, 3);
    world.finishRunningWorkflows();
    const schedule = world.truth('schedule')[0]!;
    world.editSchedule(String(schedule.id));
    world.addDeployEnvironment(String(world.collaborations()[0]!.id));

    fake.stats.reset();
    second = await runRead({ config, streams: allStreams(), state: first.finalState }, { clock: () => world.nowMs });
    secondRequests = { ...fake.stats.byRoute };
  });
  afterAll(() => fake.close());

  it('both syncs succeed', () => {
    expect([first.exitCode, second.exitCode]).toEqual([0, 0]);
    expect([...first.errors, ...second.errors]).toEqual([]);
  });

  // usage: test/read/usage.test.ts (an export is a snapshot of its day: this world's changes rewrite past days)
  it.each(STREAM_NAMES.filter((name) => name !== 'usage').map((name) => [name]))('%s: the destination after both syncs equals the new truth', (name) => {
    const stream = name as StreamName;
    const truth = world.truth(stream, { projectSlugs: slugs, startDate: START }) as Array<Record<string, unknown>>;
    for (const run of [first, second]) expect(dedupe(stream, run.records.get(stream)).size).toBe(run.records.get(stream)?.length ?? 0);
    // Full-refresh streams overwrite the destination (catalogOf: destination_sync_mode overwrite), snapshots
    // included: their keys hold the sync's time.
    const destination = STREAMS[stream].cursor
      ? dedupe(stream, first.records.get(stream), second.records.get(stream))
      : dedupe(stream, second.records.get(stream));
    expect(destination).toEqual(dedupe(stream, truth));
  });

  it('the first sync met unfinished workflows and saved them to follow; the second replaced them with their final status', () => {
    const unfinished = (first.records.get('workflows') ?? []).filter((w) => ['running', 'on_hold', 'failing'].includes(String(w.status)));
    expect(unfinished.length).toBeGreaterThan(0);
    expect(followedIds(stateOf(first, 'workflows')).sort()).toEqual(unfinished.map((w) => w.id).sort());
    const reread = new Map((second.records.get('workflows') ?? []).map((w) => [w.id, w.status]));
    for (const workflow of unfinished) expect(['success', 'failed', 'canceled', 'error', 'not_run']).toContain(reread.get(workflow.id));
  });

  it('the second sync emits far fewer history records than the first', () => {
    for (const stream of STREAM_NAMES.filter((name) => STREAM_GRAPH.inHistory(name))) {
      expect((second.records.get(stream) ?? []).length).toBeLessThan((first.records.get(stream) ?? []).length);
    }
    expect(second.records.get('pipelines')?.length).toBe(3);
  });

  it('the second sync lists workflows only of pipelines changed since the bookmark; the rerun of an older one comes through Insights', () => {
    const previous = stateOf(first, 'workflows').projects as Record<string, { created_at: string }>;
    let expected = 0;
    for (const slug of slugs) {
      const floor = Date.parse(previous[slug]!.created_at);
      expected += world
        .truth('pipelines', { projectSlugs: [slug], startDate: START })
        .filter((p) => Math.max(Date.parse(String(p.updated_at)), Date.parse(String(p.created_at))) > floor).length;
    }
    expect(secondRequests['pipeline_workflows'] ?? 0).toBe(expected);
    // Per project: once for the rerun discovery's workflow names, once for the insights_workflows stream (selected here too).
    expect(secondRequests['insights_workflows']).toBe(2 * slugs.length);
    const rerun = world.truth('workflows', { projectSlugs: [slugs[0]!], startDate: START }).find((w) => Date.parse(String(w.created_at)) > Date.parse(previous[slugs[0]!]!.created_at) && !(first.records.get('pipelines') ?? []).every((p) => p.id !== world.listingPipelineId(w)));
    expect(rerun).toBeDefined();
    expect((second.records.get('workflows') ?? []).map((w) => w.id)).toContain(rerun!.id);
  });

  it('the second sync reads the jobs of exactly the workflows it emits, each once', () => {
    const emitted = second.records.get('workflows') ?? [];
    const revisited = secondRequests['workflow'] ?? 0;
    // One job list per workflow, as many pages as its jobs fill.
    const jobs = world.truth('jobs', { projectSlugs: slugs, startDate: START });
    const pages = emitted
      .map((w) => jobs.filter((job) => job._workflow_id === w.id).length)
      .reduce((sum, count) => sum + Math.max(1, Math.ceil(count / world.options.pageSize)), 0);
    expect(secondRequests['workflow_jobs'] ?? 0).toBe(pages);
    expect(revisited).toBeLessThanOrEqual(emitted.length);
    const jobWorkflows = new Set((second.records.get('jobs') ?? []).map((job) => job._workflow_id));
    expect([...jobWorkflows].sort()).toEqual(emitted.map((w) => w.id).filter((id) => jobWorkflows.has(id)).sort());
  });

  it('an incremental sync with nothing new makes one pipeline page request per project, plus the re-reads of unfinished workflows', async () => {
    fake.stats.reset();
    const third = await runRead({ config: { ...config, workflow_lookback_hours: 0 }, streams: allStreams(), state: second.finalState });
    expect(third.exitCode).toBe(0);
    const unfinished = new Set([...followedIds(stateOf(second, 'workflows')), ...followedIds(stateOf(second, 'jobs'))]);
    expect(fake.stats.count('pipelines')).toBe(slugs.length);
    expect(fake.stats.count('pipeline_workflows')).toBe(0);
    expect(fake.stats.count('workflow')).toBe(unfinished.size);
    const jobs = world.truth('jobs', { projectSlugs: slugs, startDate: START });
    const pages = followedIds(stateOf(second, 'jobs'))
      .map((id) => jobs.filter((job) => job._workflow_id === id).length)
      .reduce((sum: number, count: number) => sum + Math.max(1, Math.ceil(count / world.options.pageSize)), 0);
    expect(fake.stats.count('workflow_jobs')).toBe(pages);
    expect(third.records.get('pipelines') ?? []).toEqual([]);
  });
});
