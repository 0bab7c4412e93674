// Job details and test metadata: agreement with the job list, 404s, paging, repeated
// tests and their keys, determinism, and the job-level truth's selection rule.

import { describe, it, expect } from '@jest/globals';
import { createCore } from '../../tools/fake-circleci/dispatch.js';
import { createWorld, type JsonObject, type World } from '../../tools/fake-circleci/world.js';
import { body, get, testKeysOf, walkList, withParam } from './helpers.js';

type Page = { items: JsonObject[]; next_page_token: string | null };

const detailsPath = (slug: string, n: number): string => `/api/v2/project/${slug}/job/${n}`;
const testsPath = (slug: string, n: number): string => `/api/v2/project/${slug}/${n}/tests`;

/** Tests truth records without the fields the truth adds to the served items. */
function served(tests: JsonObject[] | undefined): JsonObject[] {
  return (tests ?? []).map(({ _job_id, _job_number, _workflow_id, _workflow_created_at, project_slug: _slug, _test_key, ...item }) => item);
}

function testsByJob(world: World): Map<string, JsonObject[]> {
  const out = new Map<string, JsonObject[]>();
  for (const t of world.testsTruth()) out.set(t._job_id as string, [...(out.get(t._job_id as string) ?? []), t]);
  return out;
}

describe('job details', () => {
  const world = createWorld({ preset: 'small', seed: 5 });
  const core = createCore({ world });
  const jobs = world.truth('jobs');
  const workflows = new Map(world.truth('workflows').map((w) => [w.id as string, w]));

  it('agree with the job list: number, name, status, times, project, workflow and pipeline', async () => {
    const numbered = jobs.filter((j) => j.job_number !== undefined);
    expect(numbered.length).toBeGreaterThan(100);
    const statuses = new Set<string>();
    for (const job of numbered) {
      const res = await get(core, detailsPath(job.project_slug as string, job.job_number as number));
      expect(res.status).toBe(200);
      const d = body(res);
      const wf = workflows.get(job._workflow_id as string) as JsonObject;
      expect([d.number, d.name, d.status, d.started_at, d.stopped_at]).toEqual([
        job.job_number,
        job.name,
        job.status,
        job.started_at,
        job.stopped_at,
      ]);
      expect((d.project as JsonObject).slug).toBe(job.project_slug);
      expect(d.latest_workflow).toEqual({ id: wf.id, name: wf.name });
      expect(d.pipeline).toEqual({ id: world.listingPipelineId(wf) });
      // Older GitHub projects answer the old web_url form and no project.id (live API, test/reference/README.md).
      if ((d.project as JsonObject).id === undefined) expect(d.web_url).toMatch(new RegExp(`^https://circleci\\.com/gh/[^/]+/[^/]+/${job.job_number as number}$`));
      else expect(d.web_url).toContain(`/workflows/${wf.id as string}/jobs/${job.job_number as number}`);
      // created <= queued <= started <= stopped; duration is stopped - started, null while running
      const t = (k: string): number => Date.parse(d[k] as string);
      expect(t('created_at')).toBeLessThanOrEqual(t('queued_at'));
      expect(t('queued_at')).toBeLessThanOrEqual(t('started_at'));
      if (d.stopped_at === null) expect(d.duration).toBeNull();
      else expect(d.duration).toBe(t('stopped_at') - t('started_at'));
      const runs = d.parallel_runs as JsonObject[];
      expect(runs.map((r) => r.index)).toEqual(Array.from({ length: d.parallelism as number }, (_, i) => i));
      expect(runs.some((r) => r.status === d.status)).toBe(true);
      statuses.add(d.status as string);
    }
    for (const s of ['success', 'failed', 'running']) expect(statuses).toContain(s);
  });

  it('are not trivially empty: some jobs carry messages and contexts', () => {
    const details = [...world.jobDetailsTruth()];
    expect(details.filter((d) => (d.messages as unknown[]).length > 0).length).toBeGreaterThan(10);
    expect(details.filter((d) => (d.contexts as unknown[]).length > 0).length).toBeGreaterThan(10);
    const orgContexts = new Set(world.truth('context').map((c) => c.name));
    for (const d of details) for (const c of d.contexts as JsonObject[]) expect(orgContexts.has(c.name)).toBe(true);
  });

  it('approval jobs and jobs not started have no job number, hence no details', () => {
    const details = [...world.jobDetailsTruth()];
    const withDetails = new Set(details.map((d) => d._job_id));
    const approvals = jobs.filter((j) => j.type === 'approval');
    const notStarted = jobs.filter((j) => j.type !== 'approval' && j.started_at === null);
    expect(approvals.length).toBeGreaterThan(0);
    expect(notStarted.length).toBeGreaterThan(0);
    for (const j of [...approvals, ...notStarted]) expect(withDetails.has(j.id)).toBe(false);
    expect(withDetails).toEqual(new Set(jobs.filter((j) => j.job_number !== undefined).map((j) => j.id)));
  });

  it('answer 404 {message} for a job number that does not exist; 400 for one that is not a number', async () => {
    const slug = world.projectSlugs()[0] as string;
    const numbers = new Set(jobs.filter((j) => j.project_slug === slug).map((j) => j.job_number));
    const missing = [0, 2, 3, 999_999_999].filter((n) => !numbers.has(n));
    expect(missing.length).toBeGreaterThan(1);
    for (const n of missing) {
      for (const path of [detailsPath(slug, n), testsPath(slug, n)]) {
        const res = await get(core, path);
        expect([path, res.status, body(res)]).toEqual([path, 404, { message: 'Job not found' }]);
      }
    }
    const unknownProject = await get(core, detailsPath('gh/nobody/nothing', 1));
    expect([unknownProject.status, body(unknownProject)]).toEqual([404, { message: 'Project not found' }]);
    for (const path of [`/api/v2/project/${slug}/job/1.5`, `/api/v2/project/${slug}/abc/tests`]) {
      expect((await get(core, path)).status).toBe(400);
    }
  });

  it('are reachable by raw and URL-encoded slugs of every form', async () => {
    for (const slug of world.projectSlugs()) {
      const job = jobs.find((j) => j.project_slug === slug && j.job_number !== undefined) as JsonObject;
      const n = job.job_number as number;
      const raw = await get(core, detailsPath(slug, n));
      expect(raw.status).toBe(200);
      expect((await get(core, detailsPath(encodeURIComponent(slug), n))).body).toBe(raw.body);
      const tests = await get(core, testsPath(slug, n));
      expect(tests.status).toBe(200);
      expect((await get(core, testsPath(encodeURIComponent(slug), n))).body).toBe(tests.body);
    }
  });

  it('a job id in notFoundIds makes that job answer 404 on both routes, other jobs 200', async () => {
    const [a, b] = jobs.filter((j) => j.job_number !== undefined) as [JsonObject, JsonObject];
    const c = createCore({ world, faults: { notFoundIds: [a.id as string] } });
    for (const path of [detailsPath(a.project_slug as string, a.job_number as number), testsPath(a.project_slug as string, a.job_number as number)]) {
      const res = await get(c, path);
      expect([res.status, body(res)]).toEqual([404, { message: 'Job not found' }]);
    }
    expect((await get(c, detailsPath(b.project_slug as string, b.job_number as number))).status).toBe(200);
  });

  it('appear as jobs start: after the world finishes its workflows, details still match the job list', () => {
    const w = createWorld({ preset: 'small', seed: 5 });
    const before = [...w.jobDetailsTruth()].length;
    w.finishRunningWorkflows();
    const after = [...w.jobDetailsTruth()];
    expect(after.length).toBeGreaterThan(before);
    expect(after.some((d) => d.status === 'running')).toBe(false);
    const numbered = w.truth('jobs').filter((j) => j.job_number !== undefined);
    expect(new Set(after.map((d) => d._job_id))).toEqual(new Set(numbered.map((j) => j.id)));
  });
});

describe('test metadata', () => {
  const world = createWorld({ preset: 'tiny', seed: 1 });
  const core = createCore({ world });
  const size = world.options.pageSize;
  const numbered = world.truth('jobs').filter((j) => j.job_number !== undefined);
  const byJob = testsByJob(world);

  it('the tiny world has jobs without tests, jobs with several pages, repeats and every result kind', () => {
    expect(numbered.some((j) => !byJob.has(j.id as string))).toBe(true);
    expect([...byJob.values()].some((ts) => ts.length > size)).toBe(true);
    const repeated = [...byJob.values()].filter((ts) => new Set(ts.map((t) => `${t.classname as string}::${t.name as string}`)).size < ts.length);
    expect(repeated.length).toBeGreaterThan(0);
    const results = new Set([...byJob.values()].flat().map((t) => t.result));
    expect(results).toEqual(new Set(['success', 'failure', 'skipped']));
  });

  it('pages follow next_page_token to null, items in listing order, page size respected', async () => {
    let multiPage = 0;
    for (const job of numbered) {
      const { pages, items } = await walkList(core, testsPath(job.project_slug as string, job.job_number as number));
      expect(items).toEqual(served(byJob.get(job.id as string)));
      const sizes = pages.map((p) => body<Page>(p).items.length);
      expect(sizes.slice(0, -1).every((n) => n === size)).toBe(true);
      expect(sizes[sizes.length - 1]).toBeLessThanOrEqual(size);
      if (items.length === 0) expect(pages.map((p) => body<Page>(p))).toEqual([{ items: [], next_page_token: null }]);
      if (pages.length > 1) multiPage++;
    }
    expect(multiPage).toBeGreaterThan(1);
  });

  it('page tokens are bound to their job: garbage or another job\'s token answers 400', async () => {
    const [a, b] = [...byJob.entries()].filter(([, ts]) => ts.length > size).map(([, ts]) => ts[0] as JsonObject) as [JsonObject, JsonObject];
    const pathA = testsPath(a.project_slug as string, a._job_number as number);
    const pathB = testsPath(b.project_slug as string, b._job_number as number);
    const token = body<Page>(await get(core, pathA)).next_page_token as string;
    expect(typeof token).toBe('string');
    expect((await get(core, withParam(pathA, 'page-token', token))).status).toBe(200);
    expect((await get(core, withParam(pathB, 'page-token', token))).status).toBe(400);
    expect((await get(core, withParam(pathA, 'page-token', 'garbage'))).status).toBe(400);
  });

  it('_test_key follows the rule, is unique within a job and numbers repeats in listing order', () => {
    let repeats = 0;
    for (const tests of byJob.values()) {
      const keys = tests.map((t) => t._test_key as string);
      expect(keys).toEqual(testKeysOf(tests));
      expect(new Set(keys).size).toBe(keys.length);
      for (const [i, t] of tests.entries()) {
        const base = `${t.file as string}::${t.classname as string}::${t.name as string}`;
        const earlier = tests.slice(0, i).filter((x) => x.file === t.file && x.classname === t.classname && x.name === t.name).length;
        expect(t._test_key).toBe(earlier === 0 ? base : `${base}#${earlier + 1}`);
        if (earlier > 0) repeats++;
      }
    }
    expect(repeats).toBeGreaterThan(0);
  });

  it('a failed job lists its failing test; running jobs have no tests yet', () => {
    const failed = numbered.filter((j) => j.status === 'failed' && (j.name as string).startsWith('test'));
    expect(failed.length).toBeGreaterThan(0);
    for (const j of failed) expect(byJob.get(j.id as string)?.some((t) => t.result === 'failure' && typeof t.message === 'string')).toBe(true);
    const running = numbered.filter((j) => j.status === 'running');
    expect(running.length).toBeGreaterThan(0);
    for (const j of running) expect(byJob.has(j.id as string)).toBe(false);
  });

  it('keys and items of finished jobs are stable across syncs (same seed, and after the world advances)', () => {
    const again = testsByJob(createWorld({ preset: 'tiny', seed: 1 }));
    expect([...again.entries()]).toEqual([...byJob.entries()]);
    const advanced = createWorld({ preset: 'tiny', seed: 1 });
    advanced.finishRunningWorkflows();
    const later = testsByJob(advanced);
    for (const [jobId, tests] of byJob) expect(later.get(jobId)).toEqual(tests);
    const other = testsByJob(createWorld({ preset: 'tiny', seed: 2 }));
    expect([...other.values()].flat().map((t) => t.run_time)).not.toEqual([...byJob.values()].flat().map((t) => t.run_time));
  });
});

describe('job-level truth', () => {
  const world = createWorld({ preset: 'small', seed: 6 });

  it('selects like the jobs truth: projects and startDate', () => {
    const slugs = world.projectSlugs().slice(1, 3);
    const startDate = new Date(world.epochMs - 20 * 86_400_000).toISOString();
    for (const options of [{}, { projectSlugs: slugs }, { startDate }, { projectSlugs: slugs, startDate }]) {
      const jobs = world.truth('jobs', options).filter((j) => j.job_number !== undefined);
      const details = [...world.jobDetailsTruth(options)];
      expect(details.map((d) => d._job_id)).toEqual(jobs.map((j) => j.id));
      expect(details.map((d) => [d._workflow_id, d._workflow_created_at, d.number])).toEqual(
        jobs.map((j) => [j._workflow_id, j._workflow_created_at, j.job_number]),
      );
      const ids = new Set(jobs.map((j) => j.id));
      const tests = [...world.testsTruth(options)];
      expect(tests.length).toBeGreaterThan(0);
      for (const t of tests) expect(ids.has(t._job_id)).toBe(true);
    }
    expect(() => [...world.jobDetailsTruth({ startDate: 'yesterday' })]).toThrow(/invalid startDate/);
  });

  it('is deterministic: same seed, same records; another seed, other records', () => {
    const again = createWorld({ preset: 'small', seed: 6 });
    expect([...again.jobDetailsTruth()]).toEqual([...world.jobDetailsTruth()]);
    expect([...again.testsTruth()]).toEqual([...world.testsTruth()]);
    const other = createWorld({ preset: 'small', seed: 7 });
    const ids = new Set([...world.jobDetailsTruth()].map((d) => d._job_id));
    expect([...other.jobDetailsTruth()].some((d) => ids.has(d._job_id))).toBe(false);
  });
});
