import { describe, it, expect } from '@jest/globals';
import { INSIGHTS_STREAMS } from '../../src/streams/insights.js';
import { createCore } from '../../tools/fake-circleci/dispatch.js';
import { createWorld, STREAM_NAMES, type JsonObject } from '../../tools/fake-circleci/world.js';
import { body, canonical, get, walkList, walkWorld, withParam } from './helpers.js';

const DAY = 86_400_000;

describe('advancing the world', () => {
  it('advanceTime moves the clock only', () => {
    const w = createWorld({ preset: 'tiny', seed: 1 });
    // usage is what exports made *now* hold: days settle as the clock moves (usage-export.test.ts);
    // Insights are computed over windows that end now (and stamped with it): they move with the clock too.
    const timeless = STREAM_NAMES.filter((s) => s !== 'usage' && !Object.hasOwn(INSIGHTS_STREAMS, s));
    const before = Object.fromEntries(timeless.map((s) => [s, w.truth(s)]));
    w.advanceTime(DAY);
    expect(w.now).toBe('2026-11-02T00:00:00.000Z');
    for (const s of timeless) expect(w.truth(s)).toEqual(before[s]);
  });

  it('addPipelines adds the newest pipelines, visible first in the list and in truth', async () => {
    const w = createWorld({ preset: 'small', seed: 1 });
    const core = createCore({ world: w });
    const slug = w.projectSlugs()[0] as string;
    const before = w.truth('pipelines', { projectSlugs: [slug] });
    const workflowsBefore = w.truth('workflows', { projectSlugs: [slug] }).length;
    w.advanceTime(DAY);
    const added = w.addPipelines(slug, 3);
    expect(added.map((p) => p.number)).toEqual([16, 17, 18]);
    for (const p of added) expect(Date.parse(p.created_at as string)).toBeLessThanOrEqual(w.nowMs);
    const after = w.truth('pipelines', { projectSlugs: [slug] });
    expect(after).toHaveLength(before.length + 3);
    expect(after.slice(3)).toEqual(before);
    const first = body<{ items: JsonObject[] }>(await get(core, `/api/v2/project/${slug}/pipeline`));
    expect(first.items.slice(0, 3).map((p) => p.number)).toEqual([18, 17, 16]);
    expect(w.truth('workflows', { projectSlugs: [slug] }).length).toBeGreaterThan(workflowsBefore);
    // incremental: only the new pipelines are at/after the previous newest updated_at + 1ms
    const bookmark = new Date(Date.parse(before[0]?.updated_at as string) + 1).toISOString();
    expect(w.truth('pipelines', { projectSlugs: [slug], startDate: bookmark }).map((p) => p.number)).toEqual([18, 17, 16]);
  });

  it('page tokens are cursors: pipelines added during a walk do not shift later pages', async () => {
    const w = createWorld({ preset: 'small', seed: 1, pageSize: 5 });
    const core = createCore({ world: w });
    const slug = w.projectSlugs()[1] as string;
    const path = `/api/v2/project/${slug}/pipeline`;
    const page1 = body<{ items: JsonObject[]; next_page_token: string }>(await get(core, path));
    w.addPipelines(slug, 4);
    const seen = page1.items.map((p) => p.number);
    let token: string | null = page1.next_page_token;
    for (let i = 0; token !== null && i < 10; i++) {
      const res = await get(core, withParam(path, 'page-token', token));
      const page: { items: JsonObject[]; next_page_token: string | null } = body(res);
      seen.push(...page.items.map((p: JsonObject) => p.number));
      token = page.next_page_token;
    }
    expect(seen).toEqual(Array.from({ length: 15 }, (_, i) => 15 - i));
  });

  it('rerunWorkflow adds a workflow with a new id; pipeline.updated_at is unchanged', async () => {
    const w = createWorld({ preset: 'small', seed: 2 });
    const core = createCore({ world: w });
    const slug = w.projectSlugs()[0] as string;
    const pipeline = w.truth('pipelines', { projectSlugs: [slug] }).find((p) => (p.errors as unknown[]).length === 0) as JsonObject;
    const listBefore = (await walkList(core, `/api/v2/project/${slug}/pipeline`)).items;
    const wfBefore = (await walkList(core, `/api/v2/pipeline/${pipeline.id as string}/workflow`)).items;
    w.advanceTime(3_600_000);
    const rerun = w.rerunWorkflow(pipeline.id as string);
    expect(wfBefore.map((x) => x.id)).not.toContain(rerun.id);
    expect(rerun.status).toBe('running');
    expect(rerun.stopped_at).toBeNull();
    expect(rerun.created_at).toBe(w.now);
    const wfAfter = (await walkList(core, `/api/v2/pipeline/${pipeline.id as string}/workflow`)).items;
    expect(wfAfter[0]).toEqual(rerun); // newest first
    expect(canonical(wfAfter.slice(1))).toEqual(canonical(wfBefore));
    expect((await walkList(core, `/api/v2/project/${slug}/pipeline`)).items).toEqual(listBefore);
    expect(body(await get(core, `/api/v2/workflow/${rerun.id as string}`))).toEqual(rerun);
    const jobs = (await walkList(core, `/api/v2/workflow/${rerun.id as string}/job`)).items;
    expect(jobs.length).toBeGreaterThan(0);
    expect(jobs.some((j) => j.status === 'running' || j.status === 'on_hold')).toBe(true);
    // truth: the rerun is in workflows and its jobs in jobs
    expect(w.truth('workflows').map((x) => x.id)).toContain(rerun.id);
    expect(w.truth('jobs').filter((j) => j._workflow_id === rerun.id)).toHaveLength(jobs.length);
  });

  it('finishRunningWorkflows finishes running/on_hold (success) and failing (failed) workflows and their jobs', async () => {
    const w = createWorld({ preset: 'small', seed: 3 });
    const core = createCore({ world: w });
    const slug = w.projectSlugs()[0] as string;
    w.addPipelines(slug, 4);
    const p = w
      .truth('pipelines', { projectSlugs: [slug] })
      .filter((x) => (x.errors as unknown[]).length === 0)
      .at(-1) as JsonObject; // an old pipeline
    const rerun = w.rerunWorkflow(p.id as string);
    const before = new Map(w.truth('workflows').map((x) => [x.id as string, x]));
    const inProgress = [...before.values()].filter((x) => ['running', 'on_hold', 'failing'].includes(x.status as string));
    expect(new Set(inProgress.map((x) => x.status))).toEqual(new Set(['running', 'on_hold', 'failing']));
    w.advanceTime(DAY);
    expect(w.finishRunningWorkflows()).toBe(inProgress.length);
    const after = new Map(w.truth('workflows').map((x) => [x.id as string, x]));
    expect(after.size).toBe(before.size);
    for (const x of inProgress) {
      const y = after.get(x.id as string) as JsonObject;
      expect(y.status).toBe(x.status === 'failing' ? 'failed' : 'success');
      expect(typeof y.stopped_at).toBe('string');
      expect(Date.parse(y.stopped_at as string)).toBeGreaterThan(Date.parse(y.created_at as string));
      expect({ ...y, status: x.status, stopped_at: null }).toEqual(x);
    }
    for (const [id, x] of before) if (!inProgress.includes(x)) expect(after.get(id)).toEqual(x);
    expect((after.get(rerun.id as string) as JsonObject).status).toBe('success');
    // time only moves forward: nothing finished after the world clock
    for (const x of after.values()) expect(Date.parse(x.stopped_at as string)).toBeLessThanOrEqual(w.nowMs);
    const statuses = new Set(w.truth('jobs').map((j) => j.status));
    for (const s of ['running', 'blocked', 'on_hold']) expect(statuses.has(s)).toBe(false);
    // the routes agree with the truth
    const walk = await walkWorld(core);
    expect(canonical(walk.records.workflows)).toEqual(canonical(w.truth('workflows')));
    expect(canonical(walk.records.jobs)).toEqual(canonical(w.truth('jobs')));
    expect(w.finishRunningWorkflows()).toBe(0);
  });

  it('editSchedule bumps updated-at to now, so it re-enters an incremental read', async () => {
    const w = createWorld({ preset: 'small', seed: 4 });
    const core = createCore({ world: w });
    w.advanceTime(DAY);
    const start = w.now;
    expect(w.truth('schedule', { startDate: start })).toEqual([]);
    const target = w.truth('schedule')[0] as JsonObject;
    const edited = w.editSchedule(target.id as string);
    expect(edited['updated-at']).toBe(start);
    expect(edited['created-at']).toBe(target['created-at']);
    expect(w.truth('schedule', { startDate: start })).toEqual([edited]);
    const listed = (await walkList(core, `/api/v2/project/${target['project-slug'] as string}/schedule`)).items;
    expect(listed.find((s) => s.id === target.id)).toEqual(edited);
  });

  it('addDeployEnvironment adds an environment updated now to the org listing', async () => {
    const w = createWorld({ preset: 'tiny', seed: 4 });
    const core = createCore({ world: w });
    const org = w.collaborations()[1]?.id as string;
    w.advanceTime(DAY);
    const env = w.addDeployEnvironment(org, 'preview-42');
    expect(env.created_at).toBe(w.now);
    expect(env.updated_at).toBe(w.now);
    expect(w.truth('deploy', { startDate: w.now })).toEqual([{ ...env, organization_id: org }]);
    const listed = (await walkList(core, `/api/v2/deploy/environments?org-id=${org}&page-size=2`)).items;
    expect(listed.at(-1)).toEqual(env);
    expect(listed).toHaveLength(4);
  });

  it('mutations are deterministic: the same sequence gives the same responses', async () => {
    const run = async (): Promise<string[]> => {
      const w = createWorld({ preset: 'tiny', seed: 6 });
      const slug = w.projectSlugs()[2] as string;
      w.advanceTime(DAY);
      const [p] = w.addPipelines(slug, 2);
      w.rerunWorkflow((w.truth('pipelines', { projectSlugs: [slug] }).at(-2) as JsonObject).id as string);
      w.finishRunningWorkflows();
      w.addDeployEnvironment(w.collaborations()[0]?.id as string);
      void p;
      return (await walkWorld(createCore({ world: w }))).pages.map((x) => x.res.body);
    };
    expect(await run()).toEqual(await run());
  });
});
