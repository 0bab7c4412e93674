// Insights routes of the fake: recent runs are exactly the world's finished workflows (the
// connector finds reruns of old pipelines with them), summaries agree with those runs,
// flaky tests with the job test route. Conformance with the spec is checked by the walk
// in conformance.test.ts, which covers every Insights route.

import { describe, it, expect, jest } from '@jest/globals';
import { createCore, type FakeCircleCiCore } from '../../tools/fake-circleci/dispatch.js';
import {
  flakyTestsTruth,
  insightsBranchesTruth,
  insightsJobsTruth,
  insightsWorkflowsTruth,
  orgSummaryTruth,
  workflowRunsTruth,
} from '../../tools/fake-circleci/insights.js';
import { benchmarkOptions, createWorld, DERIVED_WORKFLOW_LAG_MS, type JsonObject, type World } from '../../tools/fake-circleci/world.js';
import { body, get, walkList, withParam } from './helpers.js';

const DAY = 86_400_000;
const FINAL = new Set(['success', 'failed']);

function runsPath(slug: string, name: string, query = 'all-branches=true'): string {
  return `/api/v2/insights/${slug}/workflows/${encodeURIComponent(name)}${query ? `?${query}` : ''}`;
}

/** Recent runs expected from the workflow truth (what GET /pipeline/{id}/workflow serves). */
function expectedRuns(world: World, slug: string, name: string, fromMs = world.nowMs - 90 * DAY): JsonObject[] {
  return world
    .truth('workflows', { projectSlugs: [slug] })
    .filter((w) => w.name === name && FINAL.has(w.status as string) && Date.parse(w.created_at as string) >= fromMs)
    .sort((a, b) => Date.parse(b.created_at as string) - Date.parse(a.created_at as string));
}

function sameRuns(runs: JsonObject[], workflows: JsonObject[]): void {
  expect(runs.map((r) => [r.id, r.created_at, r.stopped_at, r.status])).toEqual(
    workflows.map((w) => [w.id, w.created_at, w.stopped_at, w.status]),
  );
  for (const r of runs) {
    expect(r.duration).toBe(Math.round((Date.parse(r.stopped_at as string) - Date.parse(r.created_at as string)) / 1000));
  }
}

async function runsOf(core: FakeCircleCiCore, slug: string, name: string, query?: string): Promise<JsonObject[]> {
  return (await walkList(core, runsPath(slug, name, query))).items;
}

describe('Insights recent runs', () => {
  it('are exactly the finished workflows of the last 90 days, newest first, as the workflow routes serve them', async () => {
    const world = createWorld({ preset: 'small', seed: 3, pageSize: 3 });
    const core = createCore({ world });
    let compared = 0;
    for (const slug of world.projectSlugs()) {
      for (const name of ['build-and-test', 'deploy', 'nightly']) {
        const runs = await runsOf(core, slug, name);
        const expected = expectedRuns(world, slug, name);
        sameRuns(runs, expected);
        expect(runs).toEqual(workflowRunsTruth(world, slug, name, { branch: null }));
        compared += runs.length;
      }
      // one by one, the same record as GET /workflow/{id}
      for (const run of (await runsOf(core, slug, 'build-and-test')).slice(0, 3)) {
        const w = body(await get(core, `/api/v2/workflow/${run.id as string}`));
        expect([w.created_at, w.stopped_at, w.status]).toEqual([run.created_at, run.stopped_at, run.status]);
      }
    }
    expect(compared).toBeGreaterThan(100);
    // still-running workflows exist in this world and are not listed
    const running = world.truth('workflows').filter((w) => !FINAL.has(w.status as string));
    expect(running.length).toBeGreaterThan(0);
  });

  it('the presets hold reruns of pipelines days older than the newest, created long after their pipeline', async () => {
    for (const [preset, seed] of [
      ['tiny', 1],
      ['small', 5],
    ] as const) {
      const world = createWorld({ preset, seed });
      const core = createCore({ world });
      let late = 0;
      for (const slug of world.projectSlugs()) {
        const pipelines = world.truth('pipelines', { projectSlugs: [slug] });
        const newest = Date.parse(pipelines[0]?.created_at as string);
        const byId = new Map(pipelines.map((p) => [p.id as string, p]));
        for (const w of world.truth('workflows', { projectSlugs: [slug] })) {
          const p = byId.get(world.listingPipelineId(w)) as JsonObject;
          const old = newest - Date.parse(p.created_at as string) >= 3 * DAY;
          const rerunLate = Date.parse(w.created_at as string) - Date.parse(p.updated_at as string) >= 2 * DAY;
          if (!old || !rerunLate) continue;
          late++;
          // listed, found by a start-date at its created_at
          const runs = await runsOf(core, slug, w.name as string, `all-branches=true&start-date=${w.created_at as string}`);
          expect(runs.map((r) => r.id)).toContain(w.id);
        }
      }
      expect(late).toBeGreaterThanOrEqual(world.projectSlugs().length);
    }
  });

  it('a rerun of an old pipeline made by rerunWorkflow is listed once finished, newest first, with its workflow id and created_at', async () => {
    const world = createWorld({ preset: 'small', seed: 2, pageSize: 4 });
    const core = createCore({ world });
    const slug = world.projectSlugs()[1] as string;
    const old = world
      .truth('pipelines', { projectSlugs: [slug] })
      .find((p) => (p.errors as unknown[]).length === 0 && world.epochMs - Date.parse(p.created_at as string) > 20 * DAY) as JsonObject;
    const before = await runsOf(core, slug, 'build-and-test');
    world.advanceTime(2 * DAY);
    const rerun = world.rerunWorkflow(old.id as string, (world.truth('workflows').find((w) => world.listingPipelineId(w) === old.id && w.name === 'build-and-test') as JsonObject).id as string);
    expect(rerun.status).toBe('running');
    // running: not a recent run yet
    expect((await runsOf(core, slug, 'build-and-test')).map((r) => r.id)).not.toContain(rerun.id);
    world.addPipelines(slug, 2);
    world.advanceTime(DAY);
    world.finishRunningWorkflows();
    const after = await runsOf(core, slug, 'build-and-test');
    const served = body(await get(core, `/api/v2/workflow/${rerun.id as string}`));
    const listed = after.find((r) => r.id === rerun.id) as JsonObject;
    expect([listed.created_at, listed.stopped_at, listed.status]).toEqual([served.created_at, served.stopped_at, served.status]);
    // the pipeline did not change; the rerun is newer than every run before it
    expect(world.pipelineRecord(world.pipelineById(old.id as string)!.project, old.number as number)).toEqual(old);
    expect(after.indexOf(listed)).toBeLessThan(after.findIndex((r) => r.id === before[0]?.id));
    sameRuns(after, expectedRuns(world, slug, 'build-and-test'));
    // a start-date at the rerun finds it and what came after it only
    const since = await runsOf(core, slug, 'build-and-test', `all-branches=true&start-date=${rerun.created_at as string}`);
    sameRuns(since, expectedRuns(world, slug, 'build-and-test', Date.parse(rerun.created_at as string)));
    expect(since.map((r) => r.id)).toContain(rerun.id);
  });

  it('pages are keyset cursors: a run finished during a walk does not shift later pages; tokens belong to their query', async () => {
    const world = createWorld({ preset: 'small', seed: 4, pageSize: 2 });
    const core = createCore({ world });
    const slug = world.projectSlugs()[0] as string;
    const all = await runsOf(core, slug, 'build-and-test');
    const first = body<{ items: JsonObject[]; next_page_token: string }>(await get(core, runsPath(slug, 'build-and-test')));
    const target = world.truth('workflows', { projectSlugs: [slug] }).find((w) => w.name === 'build-and-test' && w.pipeline_number === 5);
    const rerun = world.rerunWorkflow(world.listingPipelineId(target as JsonObject), (target as JsonObject).id as string);
    world.finishRunningWorkflows();
    expect((await runsOf(core, slug, 'build-and-test'))[0]?.id).toBe(rerun.id);
    const rest: JsonObject[] = [];
    for (let token: string | undefined = first.next_page_token; token !== undefined; ) {
      const page: { items: JsonObject[]; next_page_token?: string } = body(
        await get(core, withParam(runsPath(slug, 'build-and-test'), 'page-token', token)),
      );
      rest.push(...page.items);
      token = page.next_page_token;
    }
    expect([...first.items, ...rest]).toEqual(all);
    expect(new Set(all.map((r) => r.id)).size).toBe(all.length);
    const foreign = await get(core, withParam(runsPath(slug, 'deploy'), 'page-token', first.next_page_token));
    expect(foreign.status).toBe(400);
  });

  it('filters: default branch, one branch, all branches; start-date inclusive, end-date exclusive; 90 days back at most', async () => {
    const world = createWorld({ preset: 'small', seed: 6 });
    const core = createCore({ world });
    const slug = world.projectSlugs()[2] as string;
    const all = await runsOf(core, slug, 'build-and-test');
    const main = await runsOf(core, slug, 'build-and-test', '');
    expect(main.length).toBeGreaterThan(0);
    expect(main).toEqual(all.filter((r) => r.branch === 'main'));
    expect(await runsOf(core, slug, 'build-and-test', 'branch=main')).toEqual(main);
    const other = all.find((r) => typeof r.branch === 'string' && r.branch !== 'main') as JsonObject;
    expect(await runsOf(core, slug, 'build-and-test', `branch=${encodeURIComponent(other.branch as string)}`)).toEqual(
      all.filter((r) => r.branch === other.branch),
    );
    const mid = all[Math.floor(all.length / 2)] as JsonObject;
    const last = all[1] as JsonObject;
    const range = await runsOf(core, slug, 'build-and-test', `all-branches=true&start-date=${mid.created_at as string}&end-date=${last.created_at as string}`);
    expect(range).toEqual(all.slice(2, Math.floor(all.length / 2) + 1));
    // an unknown workflow name has no runs (not an error)
    const none = await get(core, runsPath(slug, 'no-such-workflow'));
    expect([none.status, body(none)]).toEqual([200, { items: [] }]); // the last page has no next_page_token key
    // a month later the oldest runs fall out of the 90 days
    world.advanceTime(30 * DAY);
    const later = await runsOf(core, slug, 'build-and-test');
    expect(later.length).toBeLessThan(all.length);
    expect(later).toEqual(all.filter((r) => Date.parse(r.created_at as string) >= world.nowMs - 90 * DAY));
  });

  it('workflows are created within DERIVED_WORKFLOW_LAG_MS of their pipeline, but on late pipelines (what the run scan relies on)', () => {
    let checked = 0;
    for (const init of [
      { preset: 'small' as const, seed: 1 },
      { preset: 'small' as const, seed: 2 },
      { ...benchmarkOptions(30_000), seed: 3 },
    ]) {
      const world = createWorld(init);
      for (const p of world.projects) {
        const late = new Set(world.latePipelines(p));
        for (let n = 1; n <= world.pipelineCount(p); n++) {
          if (late.has(n)) continue;
          for (const m of world.workflowMetas(p, n)) {
            expect(m.createdMs - world.pipelineCreatedMs(p, n)).toBeLessThanOrEqual(DERIVED_WORKFLOW_LAG_MS);
            checked++;
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(5000);
  });

  it('is deterministic: the same seed and mutations give the same bytes on every Insights route', async () => {
    const bodies = async (seed: number): Promise<string[]> => {
      const world = createWorld({ preset: 'small', seed, pageSize: 4 });
      const slug = world.projectSlugs()[0] as string;
      world.advanceTime(DAY);
      world.rerunWorkflow((world.truth('pipelines', { projectSlugs: [slug] }).at(-3) as JsonObject).id as string);
      world.addPipelines(slug, 2);
      world.finishRunningWorkflows();
      const core = createCore({ world });
      const paths = [
        ...['build-and-test', 'deploy'].map((n) => runsPath(slug, n)),
        `/api/v2/insights/${slug}/workflows?all-branches=true`,
        `/api/v2/insights/${slug}/workflows/build-and-test/jobs?all-branches=true`,
        `/api/v2/insights/${slug}/flaky-tests`,
        `/api/v2/insights/${slug}/branches`,
        `/api/v2/insights/${world.collaborations()[0]?.slug as string}/summary`,
      ];
      return Promise.all(paths.map(async (path) => (await get(core, path)).body));
    };
    const a = await bodies(21);
    expect(await bodies(21)).toEqual(a);
    const b = await bodies(22);
    expect(a.filter((x, i) => x === b[i])).toEqual([]);
  });

  it('the benchmark world stays lazy: a page of runs reads a few pipelines, not a million workflows', async () => {
    const world = createWorld({ preset: 'benchmark', seed: 9 });
    const core = createCore({ world });
    const p = world.projects[4] as World['projects'][number];
    const total = world.pipelineCount(p);
    const spy = jest.spyOn(world, 'workflowMetas');
    const first = body<{ items: JsonObject[]; next_page_token: string }>(await get(core, runsPath(p.slug, 'build-and-test')));
    expect(first.items).toHaveLength(20);
    const calls = spy.mock.calls.length;
    expect(calls).toBeLessThan(total / 10);
    // a page a month back costs about the same
    spy.mockClear();
    const start = new Date(world.nowMs - 30 * DAY).toISOString();
    const end = new Date(world.nowMs - 29 * DAY).toISOString();
    const month = body<{ items: JsonObject[] }>(await get(core, runsPath(p.slug, 'build-and-test', `all-branches=true&start-date=${start}&end-date=${end}`)));
    expect(month.items.length).toBeGreaterThan(0);
    expect(spy.mock.calls.length).toBeLessThan(total / 10);
    spy.mockRestore();
  });
});

describe('Insights summaries', () => {
  const world = createWorld({ preset: 'small', seed: 7, pageSize: 2 });
  world.advanceTime(DAY);
  world.finishRunningWorkflows(); // every run final: summaries and runs then count the same runs
  const core = createCore({ world });

  it('workflow metrics agree with the recent runs and the workflow truth, for each window', async () => {
    for (const slug of world.projectSlugs()) {
      for (const window of ['last-90-days', 'last-7-days'] as const) {
        const items = (await walkList(core, `/api/v2/insights/${slug}/workflows?all-branches=true&reporting-window=${window}`)).items;
        expect(items).toEqual(insightsWorkflowsTruth(world, slug, window, null));
        const days = window === 'last-7-days' ? 7 : 90;
        for (const item of items) {
          const m = item.metrics as JsonObject;
          const runs = (await runsOf(core, slug, item.name as string)).filter(
            (r) => Date.parse(r.created_at as string) >= world.nowMs - days * DAY,
          );
          expect([m.total_runs, m.successful_runs, m.failed_runs]).toEqual([
            runs.length,
            runs.filter((r) => r.status === 'success').length,
            runs.filter((r) => r.status === 'failed').length,
          ]);
          expect(m.total_credits_used).toBe(runs.reduce((a, r) => a + (r.credits_used as number), 0));
          const d = m.duration_metrics as JsonObject;
          expect([d.min, d.max]).toEqual([Math.min(...runs.map((r) => r.duration as number)), Math.max(...runs.map((r) => r.duration as number))]);
          expect([item.window_start, item.window_end]).toEqual([runs.at(-1)?.created_at, runs[0]?.created_at]);
        }
      }
      // the default scope is the default branch
      const main = body<{ items: JsonObject[] }>(await get(core, `/api/v2/insights/${slug}/workflows`)).items;
      expect((await walkList(core, `/api/v2/insights/${slug}/workflows`)).items).toEqual(insightsWorkflowsTruth(world, slug, 'last-90-days', 'main'));
      expect(main.length).toBeGreaterThan(0);
    }
  });

  it('job metrics count the started jobs of the runs, by job name; job-name filters by substring', async () => {
    const slug = world.projectSlugs()[3] as string;
    const items = (await walkList(core, `/api/v2/insights/${slug}/workflows/build-and-test/jobs?all-branches=true`)).items;
    expect(items).toEqual(insightsJobsTruth(world, slug, 'build-and-test', 'last-90-days', null));
    const started = new Map<string, number>();
    for (const run of await runsOf(core, slug, 'build-and-test')) {
      for (const j of (await walkList(core, `/api/v2/workflow/${run.id as string}/job`)).items) {
        if (j.started_at !== null) started.set(j.name as string, (started.get(j.name as string) ?? 0) + 1);
      }
    }
    expect(new Map(items.map((i) => [i.name as string, (i.metrics as JsonObject).total_runs as number]))).toEqual(started);
    const tests = (await walkList(core, `/api/v2/insights/${slug}/workflows/build-and-test/jobs?all-branches=true&job-name=test`)).items;
    expect(tests.length).toBeGreaterThan(0);
    expect(tests).toEqual(items.filter((i) => (i.name as string).includes('test')));
    expect((await walkList(core, `/api/v2/insights/${slug}/workflows/no-such/jobs`)).items).toEqual([]);
  });

  it('flaky tests are tests that failed and passed in one job (or one pipeline), as the job test route lists them', async () => {
    let flakes = 0;
    for (const slug of world.projectSlugs()) {
      const served = body(await get(core, `/api/v2/insights/${slug}/flaky-tests`));
      expect(served).toEqual(flakyTestsTruth(world, slug));
      const items = served['flaky-tests'] as JsonObject[];
      flakes += items.length;
      for (const f of items) {
        const tests = (await walkList(core, `/api/v2/project/${slug}/${f['job-number'] as number}/tests`)).items.filter(
          (t) => t.name === f['test-name'] && t.classname === f.classname && t.file === f.file,
        );
        expect(tests.some((t) => t.result === 'failure')).toBe(true);
        expect(Date.parse(f['workflow-created-at'] as string)).toBeGreaterThanOrEqual(world.nowMs - 14 * DAY);
      }
      expect(served['total-flaky-tests']).toBe(new Set(items.map((f) => `${f.file as string}|${f.classname as string}|${f['test-name'] as string}`)).size);
      // complete: every job of the last two weeks with a test that failed then passed is listed
      const since = new Date(world.nowMs - 14 * DAY).toISOString();
      const byJob = new Map<string, JsonObject[]>();
      for (const t of world.testsTruth({ projectSlugs: [slug] })) {
        if ((t._workflow_created_at as string) < since) continue;
        const k = `${t._job_number as number}|${t.name as string}`;
        byJob.set(k, [...(byJob.get(k) ?? []), t]);
      }
      for (const [k, ts] of byJob) {
        if (!ts.some((t) => t.result === 'failure') || !ts.some((t) => t.result === 'success')) continue;
        expect(items.map((f) => `${f['job-number'] as number}|${f['test-name'] as string}`)).toContain(k);
      }
    }
    expect(flakes).toBeGreaterThan(0);
  });

  it('the org summary adds up its projects; project-names selects; slug aliases and escaped slashes work', async () => {
    for (const org of world.collaborations()) {
      const served = body(await get(core, `/api/v2/insights/${org.slug}/summary?reporting-window=last-30-days`));
      expect(served).toEqual(orgSummaryTruth(world, org.slug, 'last-30-days'));
      const projects = served.org_project_data as JsonObject[];
      const names = world.truth('project').filter((p) => p.organization_id === org.id).map((p) => p.name);
      expect(served.all_projects).toEqual(names);
      expect(projects.map((p) => p.project_name)).toEqual(names);
      const total = (served.org_data as JsonObject).metrics as JsonObject;
      expect(total.total_runs).toBe(projects.reduce((a, p) => a + ((p.metrics as JsonObject).total_runs as number), 0));
      const slugs = world.truth('project').filter((p) => p.organization_id === org.id).map((p) => p.slug as string);
      const since = new Date(world.nowMs - 30 * DAY).toISOString();
      expect(total.total_runs).toBe(world.truth('workflows', { projectSlugs: slugs }).filter((w) => (w.created_at as string) >= since).length);
      const one = body(await get(core, `/api/v2/insights/${encodeURIComponent(org.slug)}/summary?reporting-window=last-30-days&project-names=${names[1] as string}`));
      expect((one.org_project_data as JsonObject[]).map((p) => p.project_name)).toEqual([names[1]]);
      expect(one.org_project_data).toEqual([projects[1]]);
      expect(one.all_projects).toEqual(names);
    }
    const gh = world.collaborations()[0]?.slug as string;
    const alias = await get(core, `/api/v2/insights/${gh.replace(/^gh\//, 'github/')}/summary`);
    expect(body(alias)).toEqual(orgSummaryTruth(world, gh, 'last-90-days'));
  });

  it('branches are the branches of the runs of the last 90 days, per workflow name if given', async () => {
    const slug = world.projectSlugs()[0] as string;
    const served = body(await get(core, `/api/v2/insights/${slug}/branches`));
    expect(served).toEqual(insightsBranchesTruth(world, slug));
    const runs = await runsOf(core, slug, 'build-and-test');
    for (const r of runs) if (r.branch !== undefined) expect(served.branches).toContain(r.branch);
    const deploy = body(await get(core, `/api/v2/insights/${slug}/branches?workflow-name=deploy`));
    expect(deploy).toEqual(insightsBranchesTruth(world, slug, 'deploy'));
    for (const b of deploy.branches as string[]) expect(served.branches).toContain(b);
  });
});
