import { describe, it, expect } from '@jest/globals';
import { createCore } from '../../tools/fake-circleci/dispatch.js';
import { benchmarkOptions, createWorld, presets, STREAM_NAMES, type JsonObject } from '../../tools/fake-circleci/world.js';
import { body, get } from './helpers.js';

describe('world model', () => {
  const world = createWorld({ preset: 'tiny', seed: 1 });

  it('has one organization per slug form with live-API collaboration fields', () => {
    const collabs = world.collaborations();
    expect(collabs.map((c) => c.vcs_type)).toEqual(['github', 'bitbucket', 'circleci']);
    expect(collabs[0]?.slug).toMatch(/^gh\/[a-z-]+$/);
    expect(collabs[1]?.slug).toMatch(/^bb\/[a-z-]+$/);
    expect(collabs[2]?.slug).toBe(`circleci/${collabs[2]?.id}`);
    for (const c of collabs) expect(Object.keys(c)).toEqual(['id', 'vcs_type', 'name', 'avatar_url', 'slug']);
  });

  it('gives projects slugs of every form and the org fields', () => {
    const projects = world.truth('project');
    expect(projects).toHaveLength(3);
    const [gh, bb, cc] = projects as [JsonObject, JsonObject, JsonObject];
    expect(gh.slug).toMatch(/^gh\/[^/]+\/[^/]+$/);
    expect(bb.slug).toMatch(/^bb\/[^/]+\/[^/]+$/);
    expect(cc.slug).toBe(`circleci/${cc.organization_id as string}/${cc.id as string}`);
    expect(cc.organization_slug).toBe(`circleci/${cc.organization_id as string}`);
  });

  it('tiny contains every edge case the connector must handle', () => {
    const pipelines = world.truth('pipelines');
    const workflows = world.truth('workflows');
    const jobs = world.truth('jobs');
    // an errored pipeline (with errors and no workflows)
    const errored = pipelines.filter((p) => (p.errors as unknown[]).length > 0);
    expect(errored.length).toBeGreaterThan(0);
    for (const p of errored) {
      expect(p.state).toBe('errored');
      expect(workflows.some((w) => world.listingPipelineId(w) === p.id)).toBe(false);
    }
    // a legacy workflow: pipeline_id and pipeline_number null, still listed under its pipeline
    const legacy = workflows.filter((w) => w.pipeline_id === null && w.pipeline_number === null);
    expect(legacy.length).toBeGreaterThan(0);
    for (const w of legacy) expect(pipelines.some((p) => p.id === world.listingPipelineId(w))).toBe(true);
    // in-progress workflows with null stopped_at
    const statuses = new Set(workflows.map((w) => w.status));
    for (const s of ['success', 'failed', 'running', 'on_hold', 'failing']) expect(statuses).toContain(s);
    for (const w of workflows) {
      expect(w.stopped_at === null).toBe(['running', 'on_hold', 'failing'].includes(w.status as string));
    }
    // a rerun: two workflows of the same name in one pipeline, the later one created after
    const byPipeline = new Map<string, JsonObject[]>();
    for (const w of workflows) byPipeline.set(world.listingPipelineId(w), [...(byPipeline.get(world.listingPipelineId(w)) ?? []), w]);
    const rerun = [...byPipeline.values()].find((ws) => new Set(ws.map((w) => w.name)).size < ws.length);
    expect(rerun).toBeDefined();
    // approval jobs without job_number; not-run jobs with null started_at/stopped_at
    const approvals = jobs.filter((j) => j.type === 'approval');
    expect(approvals.length).toBeGreaterThan(0);
    for (const j of approvals) expect(j).not.toHaveProperty('job_number');
    const notRun = jobs.filter((j) => j.started_at === null);
    expect(notRun.length).toBeGreaterThan(0);
    // an approval job not yet approved has no stopped_at key at all (live API, test/reference/README.md)
    for (const j of notRun) {
      if (j.type === 'approval') expect(j).not.toHaveProperty('stopped_at');
      else expect(j.stopped_at).toBeNull();
    }
    expect(notRun.some((j) => j.type === 'approval')).toBe(true);
    // an errored pipeline of the live shape: no vcs key, a trigger type outside the spec, received at the epoch
    expect(errored.some((p) => !('vcs' in p) && (p.trigger as JsonObject).type === 'Decoupled Ingestion System' && (p.errors as JsonObject[])[0]!.type === 'config-fetch')).toBe(true);
    for (const j of jobs.filter((x) => x.type === 'build' && x.started_at !== null)) expect(typeof j.job_number).toBe('number');
  });

  it('orders pipelines newest first with the highest number and spreads them over 90 days', () => {
    const world2 = createWorld({ preset: 'small', seed: 3 });
    const slug = world2.projectSlugs()[0] as string;
    const ps = world2.truth('pipelines', { projectSlugs: [slug] });
    expect(ps.map((p) => p.number)).toEqual(Array.from({ length: 15 }, (_, i) => 15 - i));
    for (let i = 1; i < ps.length; i++) {
      expect(Date.parse((ps[i - 1] as JsonObject).created_at as string)).toBeGreaterThan(Date.parse((ps[i] as JsonObject).created_at as string));
    }
    const oldest = Date.parse((ps[ps.length - 1] as JsonObject).created_at as string);
    expect(world2.epochMs - oldest).toBeLessThanOrEqual(90 * 86_400_000);
    expect(world2.epochMs - oldest).toBeGreaterThan(60 * 86_400_000);
  });

  it('triggers exist only for github_app and bitbucket_dc definitions', () => {
    const defs = world.truth('pipeline_definition');
    const triggers = world.truth('trigger');
    expect(triggers.length).toBeGreaterThan(0);
    const providers = new Map(defs.map((d) => [d.id as string, (d.config_source as JsonObject).provider as string]));
    for (const t of triggers) expect(['github_app', 'bitbucket_dc']).toContain(providers.get(t.pipeline_definition_id as string));
    expect(new Set(providers.values())).toEqual(new Set(['github_oauth', 'bitbucket', 'github_app', 'bitbucket_dc']));
  });

  it('schedules use hyphenated keys', () => {
    const s = world.truth('schedule');
    expect(s.length).toBeGreaterThan(0);
    for (const x of s) {
      expect(x).toHaveProperty('created-at');
      expect(x).toHaveProperty('updated-at');
      expect(x).toHaveProperty('project-slug');
    }
  });

  it('truth applies startDate to incremental streams and projectSlugs to pipelines', () => {
    const w = createWorld({ preset: 'small', seed: 5 });
    const start = new Date(w.epochMs - 30 * 86_400_000).toISOString();
    const all = w.truth('pipelines');
    const recent = w.truth('pipelines', { startDate: start });
    expect(recent.length).toBeGreaterThan(0);
    expect(recent.length).toBeLessThan(all.length);
    expect(recent).toEqual(all.filter((p) => (p.updated_at as string) >= start));
    const envs = w.truth('deploy', { startDate: start });
    expect(envs).toEqual(w.truth('deploy').filter((e) => (e.updated_at as string) >= start));
    const sched = w.truth('schedule', { startDate: start });
    expect(sched).toEqual(w.truth('schedule').filter((e) => (e['updated-at'] as string) >= start));
    // full-table streams ignore startDate
    expect(w.truth('context', { startDate: start })).toEqual(w.truth('context'));
    const slug = w.projectSlugs()[1] as string;
    const one = w.truth('workflows', { projectSlugs: [slug] });
    expect(one.length).toBeGreaterThan(0);
    expect(new Set(one.map((x) => x.project_slug))).toEqual(new Set([slug]));
    const jobs = w.truth('jobs', { projectSlugs: [slug] });
    const wfCreated = new Map(one.map((x) => [x.id as string, x.created_at as string]));
    for (const j of jobs) expect(j._workflow_created_at).toBe(wfCreated.get(j._workflow_id as string));
    expect(w.truth('context').every((c) => typeof c.organization_id === 'string')).toBe(true);
  });

  it('small preset is a few thousand records at most', () => {
    const counts = createWorld({ preset: 'small', seed: 1 }).counts();
    const total = STREAM_NAMES.reduce((a, s) => a + counts[s], 0);
    expect(total).toBeGreaterThan(300);
    // Job details and test results included.
    expect(total).toBeLessThan(4000);
    expect(counts.pipelines).toBe(90);
  });

  // Its heap cost is a benchmark figure (`npm run bench`: tools/bench/fake-world-memory.ts), not a test.
  it('scales lazily: the benchmark preset is ~1M jobs, derived on demand down to the oldest pipelines', async () => {
    expect(presets.benchmark.pipelinesPerProject * 12).toBeGreaterThan(90_000);
    const big = createWorld({ preset: 'benchmark', seed: 9 });
    const core = createCore({ world: big });
    // the oldest pipeline of the last project is reachable through the routes
    const last = big.projects[11];
    expect(last).toBeDefined();
    const first = body<{ items: JsonObject[] }>(await get(core, `/api/v2/project/${last?.slug as string}/pipeline`));
    expect(first.items[0]?.number).toBe(presets.benchmark.pipelinesPerProject);
    for (const n of [1, 2, 3]) {
      const id = big.pipelineId(last as never, n);
      const wfs = body<{ items: JsonObject[] }>(await get(core, `/api/v2/pipeline/${id}/workflow`));
      for (const w of wfs.items) {
        expect(w.pipeline_number).toBe(n);
        expect((await get(core, `/api/v2/workflow/${w.id as string}/job`)).status).toBe(200);
      }
    }
    // the size formula: a 6k-job world has about 6k jobs
    const w6k = createWorld({ ...benchmarkOptions(6_000), seed: 2 });
    let jobs = 0;
    for (const _ of w6k.iterateTruth('jobs')) jobs++;
    expect(jobs).toBeGreaterThan(5_000);
    expect(jobs).toBeLessThan(7_000);
  });

  it('ids of lazily derived records resolve back, foreign ids do not', () => {
    const p = world.truth('pipelines')[0] as JsonObject;
    expect(world.pipelineById(p.id as string)?.number).toBe(p.number);
    const other = createWorld({ preset: 'tiny', seed: 2 });
    expect(other.pipelineById(p.id as string)).toBeUndefined();
    expect(world.pipelineById('00000000-0000-4000-8000-000000000000')).toBeUndefined();
    const w = world.truth('workflows')[0] as JsonObject;
    expect(world.workflowById(w.id as string)).toBeDefined();
    expect(world.pipelineById(w.id as string)).toBeUndefined();
  });

  it('has a personal token and a distinct project token', () => {
    expect(world.token).toMatch(/^CCIPAT_/);
    expect(world.projectToken).toMatch(/^CCIPRJ_/);
    expect(createWorld({ preset: 'tiny', seed: 1 }).token).toBe(world.token);
    expect(createWorld({ preset: 'tiny', seed: 2 }).token).not.toBe(world.token);
  });
});
