/**
 * An incremental sync of an organization where nothing ran costs the organization's
 * project listing, not a request per project; a project where something finished is
 * walked as before, and the destination still equals the truth (bookmarks stay exact).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { createWorld, startFakeCircleCi, type RunningFake, type World } from '../../tools/fake-circleci/index.js';
import { dedupe, fakeConfig, runRead, type RunResult } from '../support/connector.js';

const START = '2026-08-01T00:00:00Z';
const PROJECTS = 60; // two pages of the private listing
const STREAMS = { pipelines: 'incremental', workflows: 'incremental', jobs: 'incremental' } as const;
const DAY_AND_AN_HOUR = 25 * 3600_000;

function stateOf(run: RunResult, stream: string): Record<string, any> {
  return run.finalState.find((s) => s.stream.stream_descriptor.name === stream)!.stream.stream_state;
}

describe('an idle sync', () => {
  let world: World;
  let fake: RunningFake;
  let config: Record<string, unknown>;
  const runs: RunResult[] = [];
  const requests: Array<Record<string, number>> = [];

  async function sync(): Promise<RunResult> {
    fake.stats.reset();
    const run = await runRead({ config, streams: STREAMS, ...(runs.length > 0 ? { state: runs.at(-1)!.finalState } : {}) });
    runs.push(run);
    requests.push({ ...fake.stats.byRoute });
    return run;
  }

  beforeAll(async () => {
    world = createWorld({ preset: 'tiny', seed: 31, organizations: 1, projectsPerOrg: PROJECTS, pageSize: 20 });
    fake = await startFakeCircleCi({ world });
    config = fakeConfig(world, fake.url, { start_date: START });
    await sync();
    // Everything finishes, and a day passes: the next sync reads the finished workflows and
    // is the last that must walk every project (the discovery's delay has passed since).
    world.finishRunningWorkflows();
    world.advanceTime(DAY_AND_AN_HOUR);
    await sync();
    world.advanceTime(3600_000);
    await sync(); // idle
  });
  afterAll(() => fake.close());

  it('every sync succeeds', () => {
    for (const run of runs) expect([run.exitCode, run.errors]).toEqual([0, []]);
  });

  it('costs the organization listing only: no request per project, no record, the state unchanged', () => {
    const idle = requests[2]!;
    expect(idle).toEqual({ collaborations: 1, private_projects: Math.ceil(PROJECTS / 50) });
    expect(requests[0]!.pipelines).toBe(PROJECTS); // a walk: at least one request per project
    for (const stream of Object.keys(STREAMS)) {
      expect(runs[2]!.records.get(stream as keyof typeof STREAMS) ?? []).toEqual([]);
      expect(stateOf(runs[2]!, stream)).toEqual(stateOf(runs[1]!, stream));
    }
    expect(runs[2]!.logs.some((log) => log.message.includes(`${PROJECTS} of ${PROJECTS} partitions not walked`))).toBe(true);
  });

  it('a project where something finished is walked again; the others are not; nothing is lost', async () => {
    const [busy, rerun] = [world.projects[3]!, world.projects[7]!];
    world.addPipelines(busy.slug, 2);
    // A rerun of an old pipeline leaves the pipeline unchanged: only its finished jobs say so.
    const old = world.truth('pipelines', { projectSlugs: [rerun.slug] }).filter((p) => p.state !== 'errored').at(-1)!;
    const rerunWorkflow = world.rerunWorkflow(String(old.id));
    world.finishRunningWorkflows();
    world.advanceTime(3600_000);
    const run = await sync();
    expect([run.exitCode, run.errors]).toEqual([0, []]);
    const walked = requests.at(-1)!;
    expect(walked.pipelines).toBe(2);
    expect(new Set((run.records.get('pipelines') ?? []).map((p) => p.project_slug))).toEqual(new Set([busy.slug]));
    expect((run.records.get('workflows') ?? []).map((w) => w.id)).toContain(rerunWorkflow.id);
    for (const stream of ['pipelines', 'workflows', 'jobs'] as const) {
      const destination = dedupe(stream, ...runs.map((r) => r.records.get(stream)));
      expect({ stream, records: destination }).toEqual({ stream, records: dedupe(stream, world.truth(stream, { startDate: START }) as Array<Record<string, unknown>>) });
    }
  });

  it('a full-refresh stream in the catalog walks every project', async () => {
    fake.stats.reset();
    await runRead({ config, streams: { ...STREAMS, jobs: 'full_refresh' }, state: runs.at(-1)!.finalState });
    expect(fake.stats.byRoute.pipelines).toBe(PROJECTS);
  });
});
