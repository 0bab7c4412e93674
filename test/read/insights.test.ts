import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createFaults, createWorld, startFakeCircleCi, type RunningFake, type World } from '../../tools/fake-circleci/index.js';
import type { StreamName } from '../../src/streams/schemas/index.js';
import { dedupe, fakeConfig, runRead, type RunResult } from '../support/connector.js';
import { expectRefusedParts } from '../support/refused.js';

const DAY = 86_400_000;
const INSIGHTS: Partial<Record<StreamName, 'full_refresh' | 'incremental'>> = {
  insights_workflows: 'full_refresh',
  insights_jobs: 'full_refresh',
  insights_workflow_runs: 'incremental',
  flaky_tests: 'full_refresh',
  insights_org_summary: 'full_refresh',
};
const PROJECT_STREAMS = ['insights_workflows', 'insights_jobs', 'insights_workflow_runs', 'flaky_tests'] as const;

/** The start-date of every recent-runs request, by workflow name. */
function runStartDates(paths: string[]): string[] {
  return paths.filter((path) => /\/insights\/.+\/workflows\/[^/?]+\?/.test(path)).map((path) => new URL(path, 'http://x').searchParams.get('start-date') ?? '');
}

describe('Insights streams', () => {
  let world: World;
  let fake: RunningFake;
  let slugs: string[];
  const paths: string[] = [];

  beforeAll(async () => {
    world = createWorld({ preset: 'tiny', seed: 7 });
    slugs = world.projects.slice(0, 2).map((p) => p.slug);
    fake = await startFakeCircleCi({
      world,
      faults: createFaults({ forbiddenInsightsProjects: [slugs[0]!] }),
      onRequest: (entry) => paths.push(entry.path),
    });
  });
  afterAll(() => fake.close());

  describe('a start date older than the 90 days Insights keeps, and one project whose plan has no Insights (403)', () => {
    const START = '2020-01-01T00:00:00Z';
    let run: RunResult;

    beforeAll(async () => {
      paths.length = 0;
      run = await runRead({ config: fakeConfig(world, fake.url, { project_slugs: slugs, start_date: START }), streams: INSIGHTS }, { clock: () => world.nowMs });
    });

    it('has data in every stream for the project that syncs', () => {
      for (const stream of [...PROJECT_STREAMS, 'insights_org_summary'] as const) {
        expect({ stream, size: (run.records.get(stream) ?? []).length > 0 }).toEqual({ stream, size: true });
      }
    });

    it('syncs the other project and the organization summaries: each stream equals the truth without the forbidden project', () => {
      for (const stream of [...PROJECT_STREAMS, 'insights_org_summary'] as const) {
        const truth = world.truth(stream, { projectSlugs: slugs.slice(1), startDate: START }) as Array<Record<string, unknown>>;
        expect(dedupe(stream, run.records.get(stream))).toEqual(dedupe(stream, truth));
      }
    });

    it('fails the parts listed under the forbidden project: its streams end INCOMPLETE, the WARN and TRACE ERROR say why and what to do', () => {
      expectRefusedParts(run, [
        { stream: 'insights_workflows', parent: slugs[0]! },
        { stream: 'flaky_tests', parent: slugs[0]! },
      ]);
      const warnings = run.logs.filter((log) => log.level === 'WARN' && log.message.includes(slugs[0]!) && log.message.includes('403'));
      expect(warnings).toHaveLength(2);
    });

    it('asks for runs from 90 days before CircleCI\'s today (its Date header), and says that the start date was clamped', () => {
      const horizon = new Date(world.nowMs - 90 * DAY).toISOString();
      const starts = runStartDates(paths);
      expect(starts.length).toBeGreaterThan(0);
      expect(new Set(starts)).toEqual(new Set([horizon]));
      // Once per sync, not once per project and workflow name.
      const clamped = run.logs.filter((log) => log.level === 'WARN' && log.message.startsWith('insights_workflow_runs') && log.message.includes('90 days'));
      expect(world.truth('insights_workflows', { projectSlugs: slugs.slice(1) }).length).toBeGreaterThan(1);
      expect(clamped.length).toBe(1);
    });

    it('keeps one bookmark per project and workflow name', () => {
      const state = run.finalState.find((s) => s.stream.stream_descriptor.name === 'insights_workflow_runs')!.stream.stream_state;
      const names = world.truth('insights_workflows', { projectSlugs: slugs.slice(1) }).map((w) => `${slugs[1]}/${String(w.name)}`);
      expect(Object.keys(state.project_workflows).sort()).toEqual(names.sort());
    });

    it('stamps every snapshot with the reporting window and the sync start', () => {
      const syncedAt = new Date(world.nowMs).toISOString();
      for (const stream of ['insights_workflows', 'insights_jobs', 'insights_org_summary'] as const) {
        for (const record of run.records.get(stream) ?? []) expect([record._reporting_window, record._synced_at]).toEqual(['last-90-days', syncedAt]);
      }
    });
  });

  it('counts the 90 days from CircleCI\'s clock, whatever the run\'s clock (the snapshots\' _synced_at) says', async () => {
    paths.length = 0;
    const config = fakeConfig(world, fake.url, { project_slugs: slugs.slice(1), start_date: '2020-01-01T00:00:00Z' });
    const run = await runRead({ config, streams: { insights_workflow_runs: 'full_refresh' } }, { clock: () => world.nowMs + 45 * DAY });
    expect(run.exitCode).toBe(0);
    expect(new Set(runStartDates(paths))).toEqual(new Set([new Date(world.nowMs - 90 * DAY).toISOString()]));
    const truth = world.truth('insights_workflow_runs', { projectSlugs: slugs.slice(1) }) as Array<Record<string, unknown>>;
    expect(truth.length).toBeGreaterThan(0);
    expect(dedupe('insights_workflow_runs', run.records.get('insights_workflow_runs'))).toEqual(dedupe('insights_workflow_runs', truth));
  });

  it('a configured project Insights does not know (404) reads as empty, with a warning per stream listed under it', async () => {
    const unknown = 'gh/nobody/nothing-here';
    const run = await runRead(
      { config: fakeConfig(world, fake.url, { project_slugs: [slugs[1]!, unknown], start_date: '2026-08-01T00:00:00Z' }), streams: INSIGHTS },
      { clock: () => world.nowMs },
    );
    expect(run.exitCode).toBe(0);
    const warned = run.logs.filter((log) => log.level === 'WARN' && log.message.includes(unknown) && log.message.includes('404'));
    expect(warned.map((log) => log.message.split(':')[0]).sort()).toEqual(['flaky_tests', 'insights_workflows']);
    const truth = world.truth('insights_workflows', { projectSlugs: [slugs[1]!] }) as Array<Record<string, unknown>>;
    expect(dedupe('insights_workflows', run.records.get('insights_workflows'))).toEqual(dedupe('insights_workflows', truth));
  });

  it('an incremental sync asks for runs from each bookmark less the workflow lookback, and the destination equals the new truth', async () => {
    const START = new Date(world.nowMs - 30 * DAY).toISOString();
    const config = fakeConfig(world, fake.url, { project_slugs: slugs.slice(1), start_date: START, workflow_lookback_hours: 6 });
    const first = await runRead({ config, streams: { insights_workflow_runs: 'incremental' } }, { clock: () => world.nowMs });
    const bookmarks = first.finalState[0]!.stream.stream_state.project_workflows as Record<string, { created_at: string }>;
    world.advanceTime(3600_000);
    world.addPipelines(slugs[1]!, 2);
    world.finishRunningWorkflows();
    paths.length = 0;
    const second = await runRead({ config, streams: { insights_workflow_runs: 'incremental' }, state: first.finalState }, { clock: () => world.nowMs });
    expect([first.exitCode, second.exitCode]).toEqual([0, 0]);
    const names = world.truth('insights_workflows', { projectSlugs: slugs.slice(1) }).map((w) => `${slugs[1]}/${String(w.name)}`);
    const expected = names.map((name) => (bookmarks[name] ? new Date(Date.parse(bookmarks[name].created_at) - 6 * 3600_000).toISOString() : START));
    expect(new Set(runStartDates(paths))).toEqual(new Set(expected));
    const truth = world.truth('insights_workflow_runs', { projectSlugs: slugs.slice(1), startDate: START }) as Array<Record<string, unknown>>;
    expect(dedupe('insights_workflow_runs', first.records.get('insights_workflow_runs'), second.records.get('insights_workflow_runs'))).toEqual(
      dedupe('insights_workflow_runs', truth),
    );
  });
});
