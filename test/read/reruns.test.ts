import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createWorld, startFakeCircleCi, type RunningFake, type World } from '../../tools/fake-circleci/index.js';
import type { StreamName } from '../../src/streams/schemas/index.js';
import { dedupe, fakeConfig, runRead, type RunResult } from '../support/connector.js';

const START = '2026-01-01T00:00:00Z';
const HOUR = 3600_000;
const DAY = 24 * HOUR;
const HISTORY: Partial<Record<StreamName, 'incremental'>> = {
  pipelines: 'incremental',
  workflows: 'incremental',
  jobs: 'incremental',
  job_details: 'incremental',
  tests: 'incremental',
};

/** 4 projects, each with a history of 90 days and then 40 hourly pipelines, every workflow finished. */
function hourlyWorld(): World {
  const world = createWorld({ preset: 'tiny', seed: 21, organizations: 2, projectsPerOrg: 2, pipelinesPerProject: 30, workflowsPerPipeline: 3, jobsPerWorkflow: 3, pageSize: 20 });
  for (let hour = 0; hour < 40; hour++) {
    world.advanceTime(HOUR);
    for (const project of world.projects) world.addPipelines(project.slug, 1);
  }
  world.finishRunningWorkflows();
  return world;
}

/** The newest pipeline of a project created at least `age` before the newest one. */
function pipelineAged(run: RunResult, slug: string, age: number): Record<string, unknown> {
  const pipelines = (run.records.get('pipelines') ?? []).filter((p) => p.project_slug === slug);
  const newest = Math.max(...pipelines.map((p) => Date.parse(String(p.created_at))));
  const old = pipelines.filter((p) => Date.parse(String(p.created_at)) <= newest - age).sort((a, b) => Number(b.number) - Number(a.number));
  return old[0]!;
}

describe('reruns of old pipelines', () => {
  let world: World;
  let fake: RunningFake;
  let config: Record<string, unknown>;
  let first: RunResult;
  let idle: RunResult;
  let idleRequests: Record<string, number>;
  let idleTotal: number;
  let afterRerun: RunResult;
  let rerun: Record<string, unknown>;

  beforeAll(async () => {
    world = hourlyWorld();
    fake = await startFakeCircleCi({ world });
    config = fakeConfig(world, fake.url, { project_slugs: world.projects.map((p) => p.slug), start_date: START });
    first = await runRead({ config, streams: HISTORY });

    fake.stats.reset();
    idle = await runRead({ config, streams: HISTORY, state: first.finalState });
    idleRequests = { ...fake.stats.byRoute };
    idleTotal = fake.stats.total;

    // A workflow of a 5-day-old pipeline is re-run and finishes an hour later; nothing else happens.
    const old = pipelineAged(first, world.projects[0]!.slug, 5 * DAY);
    rerun = world.rerunWorkflow(String(old.id));
    world.advanceTime(HOUR);
    world.finishRunningWorkflows();
    afterRerun = await runRead({ config, streams: HISTORY, state: idle.finalState });
  });
  afterAll(() => fake.close());

  it('every sync succeeds', () => {
    expect([first.exitCode, idle.exitCode, afterRerun.exitCode]).toEqual([0, 0, 0]);
    expect([...first.errors, ...idle.errors, ...afterRerun.errors]).toEqual([]);
  });

  it('an incremental sync with nothing new makes at most 30 requests: a pipeline page, the workflow names and their recent runs per project', () => {
    expect(idleTotal).toBeLessThanOrEqual(30);
    expect(idleRequests['pipelines']).toBe(world.projects.length);
    expect(idleRequests['insights_workflows']).toBe(world.projects.length);
    expect(idleRequests['pipeline_workflows'] ?? 0).toBe(0);
    expect(idleRequests['workflow'] ?? 0).toBe(0);
    expect(idle.records.size).toBe(0);
  });

  it('the rerun of a 5-day-old pipeline lands with its jobs, job details and tests', () => {
    const workflows = afterRerun.records.get('workflows') ?? [];
    expect(workflows.map((w) => w.id)).toEqual([rerun.id]);
    expect(workflows[0]!.status).not.toBe('running');
    const slugs = [world.projects[0]!.slug];
    for (const stream of ['jobs', 'job_details', 'tests'] as const) {
      const truth = world.truth(stream, { projectSlugs: slugs, startDate: START }).filter((r) => r._workflow_id === rerun.id);
      expect(truth.length).toBeGreaterThan(0);
      expect(dedupe(stream, afterRerun.records.get(stream))).toEqual(dedupe(stream, truth as Array<Record<string, unknown>>));
    }
  });

  it('no workflow is emitted twice across the syncs', () => {
    const ids = [first, idle, afterRerun].flatMap((run) => (run.records.get('workflows') ?? []).map((w) => w.id));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('the destination after the syncs equals the truth', () => {
    const slugs = world.projects.map((p) => p.slug);
    for (const stream of Object.keys(HISTORY) as StreamName[]) {
      const destination = dedupe(stream, first.records.get(stream), idle.records.get(stream), afterRerun.records.get(stream));
      expect(destination).toEqual(dedupe(stream, world.truth(stream, { projectSlugs: slugs, startDate: START }) as Array<Record<string, unknown>>));
    }
  });
});

describe('a rerun still running while newer workflows move the bookmark past it', () => {
  let world: World;
  let fake: RunningFake;
  let whileRunning: RunResult;
  let afterFinish: RunResult;
  let rerun: Record<string, unknown>;

  beforeAll(async () => {
    world = hourlyWorld();
    fake = await startFakeCircleCi({ world });
    const slug = world.projects[0]!.slug;
    const config = fakeConfig(world, fake.url, { project_slugs: [slug], start_date: START });
    const first = await runRead({ config, streams: HISTORY });
    rerun = world.rerunWorkflow(String(pipelineAged(first, slug, 5 * DAY).id));
    world.advanceTime(60_000);
    world.addPipelines(slug, 1);
    whileRunning = await runRead({ config, streams: HISTORY, state: first.finalState });
    world.advanceTime(2 * HOUR);
    world.finishRunningWorkflows();
    afterFinish = await runRead({ config, streams: HISTORY, state: whileRunning.finalState });
  });
  afterAll(() => fake.close());

  it('Insights does not list it while it runs; the sync after it finishes finds it, created before that sync\'s bookmark', () => {
    expect([whileRunning.exitCode, afterFinish.exitCode]).toEqual([0, 0]);
    expect((whileRunning.records.get('workflows') ?? []).map((w) => w.id)).not.toContain(rerun.id);
    const bookmark = whileRunning.finalState.find((s) => s.stream.stream_descriptor.name === 'workflows')!.stream.stream_state.projects[world.projects[0]!.slug].created_at;
    expect(Date.parse(String(rerun.created_at))).toBeLessThan(Date.parse(bookmark));
    expect((afterFinish.records.get('workflows') ?? []).map((w) => w.id)).toContain(rerun.id);
    expect((afterFinish.records.get('jobs') ?? []).some((job) => job._workflow_id === rerun.id)).toBe(true);
  });
});

describe('Insights refused on one project', () => {
  let world: World;
  let fake: RunningFake;
  let second: RunResult;
  let reruns: Array<Record<string, unknown>>;

  beforeAll(async () => {
    world = hourlyWorld();
    // The first Insights request of the second sync answers 403: one project, whichever asks first.
    fake = await startFakeCircleCi({ world });
    const config = fakeConfig(world, fake.url, { project_slugs: world.projects.map((p) => p.slug), start_date: START });
    const first = await runRead({ config, streams: HISTORY });
    reruns = world.projects.map((p) => world.rerunWorkflow(String(pipelineAged(first, p.slug, 5 * DAY).id)));
    world.advanceTime(HOUR);
    world.finishRunningWorkflows();
    fake.faults.set({ serverErrors: { route: 'insights_workflows', status: 403, times: 1, message: 'Insights is not available on your plan' } });
    second = await runRead({ config, streams: HISTORY, state: first.finalState });
  });
  afterAll(() => fake.close());

  it('warns once, naming the project, and the sync succeeds', () => {
    expect(second.exitCode).toBe(0);
    const warnings = second.logs.filter((log) => log.level === 'WARN' && log.message.includes('403'));
    expect(warnings).toHaveLength(1);
    expect(world.projects.filter((p) => warnings[0]!.message.includes(p.slug))).toHaveLength(1);
  });

  it('the reruns of the other projects land; the refused one is left to the lookback walk', () => {
    const refused = world.projects.find((p) => second.logs.some((log) => log.level === 'WARN' && log.message.includes(p.slug)))!;
    const emitted = new Set((second.records.get('workflows') ?? []).map((w) => w.id));
    for (const [index, project] of world.projects.entries()) {
      if (project === refused) expect(emitted.has(reruns[index]!.id)).toBe(false);
      else expect(emitted.has(reruns[index]!.id)).toBe(true);
    }
    for (const stream of Object.keys(HISTORY)) expect(second.finalState.some((s) => s.stream.stream_descriptor.name === stream)).toBe(true);
  });
});
