import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createWorld, startFakeCircleCi, type RunningFake, type World } from '../../tools/fake-circleci/index.js';
import { dedupe, fakeConfig, followedIds, runRead, type RunResult } from '../support/connector.js';

const START = '2026-08-01T00:00:00Z';

/**
 * The streams under jobs (job_details, tests) cost requests only when selected: one per
 * job with a number (tests: one per page), none for approval jobs; the job list is read
 * once for both. What they emit equals the world's truth (the generic suites check every
 * stream; here the request counts and the test key rule).
 */
describe('job-level streams', () => {
  let world: World;
  let fake: RunningFake;
  let slugs: string[];
  let config: Record<string, unknown>;
  let jobsOnly: RunResult;
  let jobsOnlyRequests: Record<string, number>;
  let both: RunResult;
  let bothRequests: Record<string, number>;

  beforeAll(async () => {
    // Pages of 5: test suites span several pages.
    world = createWorld({ preset: 'tiny', seed: 12, pageSize: 5 });
    fake = await startFakeCircleCi({ world });
    slugs = world.projects.slice(0, 2).map((p) => p.slug);
    config = fakeConfig(world, fake.url, { project_slugs: slugs, start_date: START });
    jobsOnly = await runRead({ config, streams: { jobs: 'incremental' } });
    jobsOnlyRequests = { ...fake.stats.byRoute };
    fake.stats.reset();
    both = await runRead({ config, streams: { job_details: 'incremental', tests: 'incremental' } });
    bothRequests = { ...fake.stats.byRoute };
  });
  afterAll(() => fake.close());

  it('both reads succeed', () => {
    expect([jobsOnly.exitCode, both.exitCode]).toEqual([0, 0]);
  });

  it('a read of jobs alone asks for no job details and no tests', () => {
    expect(jobsOnlyRequests['job_details'] ?? 0).toBe(0);
    expect(jobsOnlyRequests['job_tests'] ?? 0).toBe(0);
  });

  it('job_details and tests alone list each workflow\'s jobs once, and ask once per numbered job (tests: per page)', () => {
    const jobs = world.truth('jobs', { projectSlugs: slugs, startDate: START });
    const numbered = jobs.filter((job) => job.job_number !== undefined && job.job_number !== null);
    expect(numbered.length).toBeLessThan(jobs.length); // the world has approval jobs, which have no number
    expect(bothRequests['workflow_jobs']).toBe(jobsOnlyRequests['workflow_jobs']);
    expect(bothRequests['job_details']).toBe(numbered.length);
    const tests = world.truth('tests', { projectSlugs: slugs, startDate: START });
    const pages = numbered
      .map((job) => tests.filter((test) => test._job_id === job.id).length)
      .reduce((sum, count) => sum + Math.max(1, Math.ceil(count / world.options.pageSize)), 0);
    expect(pages).toBeGreaterThan(numbered.length); // some jobs have several pages of tests
    expect(bothRequests['job_tests']).toBe(pages);
  });

  it('a test key is unique within its job, numbering repeats of the same file, class and name in listing order', () => {
    const emitted = both.records.get('tests') ?? [];
    expect(dedupe('tests', emitted).size).toBe(emitted.length);
    const repeated = emitted.filter((test) => String(test._test_key).endsWith('#2'));
    expect(repeated.length).toBeGreaterThan(0); // the world repeats tests in some suites
    for (const test of repeated) {
      const base = String(test._test_key).slice(0, -2);
      const same = emitted.filter((other) => other._job_id === test._job_id && `${other.file ?? ''}::${other.classname ?? ''}::${other.name ?? ''}` === base);
      expect(same.map((other) => other._test_key).slice(0, 2)).toEqual([base, `${base}#2`]);
    }
    expect(dedupe('tests', emitted)).toEqual(dedupe('tests', world.truth('tests', { projectSlugs: slugs, startDate: START }) as Array<Record<string, unknown>>));
  });

  it('job details and tests of a workflow still running are read again with it until final', async () => {
    const followed = followedIds(both.finalState.find((s) => s.stream.stream_descriptor.name === 'job_details')!.stream.stream_state);
    expect(followed.length).toBeGreaterThan(0); // the world has running workflows
    world.finishRunningWorkflows();
    fake.stats.reset();
    const next = await runRead({ config: { ...config, workflow_lookback_hours: 0 }, streams: { job_details: 'incremental', tests: 'incremental' }, state: both.finalState });
    expect(next.exitCode).toBe(0);
    const details = next.records.get('job_details') ?? [];
    // Only the followed workflows' jobs are read again, now final.
    expect([...new Set(details.map((d) => d._workflow_id))].sort()).toEqual([...followed].sort());
    const scope = { projectSlugs: slugs, startDate: START };
    const truthOf = (stream: 'job_details' | 'tests') => world.truth(stream, scope).filter((r) => followed.includes(String(r._workflow_id))) as Array<Record<string, unknown>>;
    expect(dedupe('job_details', details)).toEqual(dedupe('job_details', truthOf('job_details')));
    expect(dedupe('tests', next.records.get('tests'))).toEqual(dedupe('tests', truthOf('tests')));
    expect(next.finalState.every((s) => followedIds(s.stream.stream_state).length === 0)).toBe(true);
  });
});
