/**
 * A scripted history over six syncs of one world: new pipelines, reruns of recent
 * pipelines, running workflows finishing, approvals waiting and then approved, schedule
 * edits, new deploy environments, and a project added to the config later. After every
 * sync the destination (every record so far, deduplicated by primary key, last write
 * wins) must equal the world's truth in every stream, but for reruns still running under
 * pipelines older than the last sync: those are found through Insights, which lists
 * finished runs only, so they land (with their jobs) at the first sync after they finish.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import type { StreamName } from '../../src/streams/schemas/index.js';
import { createWorld, startFakeCircleCi, type RunningFake, type World } from '../../tools/fake-circleci/index.js';
import { coreStreams, fakeConfig, runRead, type RunResult } from '../support/connector.js';
import { assertCleanRun, describeDiff, destinationOf, diffTables, formatTable, truthTables, type StreamDiff, type Tables } from './harness.js';

const START = '2026-08-01T00:00:00Z';
const LOOKBACK_HOURS = 24;
const HOUR = 3600_000;
/** The streams the scripted history changes: shown per sync, and empty once nothing happens. */
const CHANGING: StreamName[] = ['pipelines', 'workflows', 'jobs', 'deploy', 'schedule'];

interface Step {
  name: string;
  /** Changes the world (and maybe the configured projects) before the sync. */
  change: (world: World, syncs: SyncResult[]) => void;
  /** Further expectations on this sync's records, against the truth as it was at this sync. */
  check?: (run: RunResult, truth: Tables) => void;
}

interface SyncResult {
  step: Step;
  slugs: string[];
  run: RunResult;
  truth: Tables;
  diffs: Map<StreamName, StreamDiff>;
}

let world: World;
let fake: RunningFake;
/** The configured projects; the third joins at sync 4. */
let slugs: string[];
let A: string;
let B: string;
let C: string;
const syncs: SyncResult[] = [];

/** Pipelines of a project in the truth, newest first. */
const pipelinesOf = (w: World, slug: string) => w.truth('pipelines', { projectSlugs: [slug] }).sort((a, b) => Number(b.number) - Number(a.number));
const workflowsOf = (w: World, slug: string) => w.truth('workflows', { projectSlugs: [slug] });

/** The bookmark the last sync saved for a stream and project. */
function bookmark(stream: 'pipelines' | 'workflows', slug: string): number {
  const state = syncs[syncs.length - 1]!.run.finalState.find((s) => s.stream.stream_descriptor.name === stream)!;
  const entry = state.stream.stream_state.projects[slug];
  return Date.parse(entry[stream === 'pipelines' ? 'updated_at' : 'created_at']);
}

/** The newest pipeline, made before this step, that the rerun lookback still covers. */
function rerunTarget(w: World, slug: string): Record<string, unknown> {
  const floor = bookmark('workflows', slug) - LOOKBACK_HOURS * HOUR;
  const target = pipelinesOf(w, slug).find((p) => Date.parse(String(p.updated_at)) >= floor && workflowsOf(w, slug).some((wf) => w.listingPipelineId(wf) === p.id));
  if (!target) throw new Error(`no pipeline of ${slug} within the lookback`);
  return target;
}

const UNFINISHED = new Set(['running', 'on_hold', 'failing']);

/**
 * The truth less the reruns a sync cannot see yet: workflows still unfinished, created
 * after the previous sync's workflows bookmark of their project, under a pipeline that
 * has not changed since (the walk does not list it again; Insights lists finished runs
 * only), and their jobs, job details and tests.
 */
function withoutRunningReruns(truth: Tables, previous: RunResult | undefined): Tables {
  if (!previous) return truth;
  const bookmarks = previous.finalState.find((s) => s.stream.stream_descriptor.name === 'workflows')!.stream.stream_state.projects as Record<string, { created_at?: string }>;
  const pipelines = new Map([...truth.get('pipelines')!.values()].map((p) => [p.id, p]));
  const pending = new Set<unknown>();
  for (const wf of truth.get('workflows')!.values()) {
    const bookmark = Date.parse(bookmarks[String(wf.project_slug)]?.created_at ?? '');
    const pipeline = pipelines.get(world.listingPipelineId(wf))!;
    const changed = Math.max(Date.parse(String(pipeline.updated_at)), Date.parse(String(pipeline.created_at)));
    if (UNFINISHED.has(String(wf.status)) && Date.parse(String(wf.created_at)) > bookmark && changed <= bookmark) pending.add(wf.id);
  }
  const out: Tables = new Map();
  for (const [stream, table] of truth) {
    const keep = (record: Record<string, unknown>) => !pending.has(stream === 'workflows' ? record.id : record._workflow_id);
    out.set(stream, ['workflows', 'jobs', 'job_details', 'tests'].includes(stream) ? new Map([...table].filter(([, record]) => keep(record))) : table);
  }
  return out;
}

const STEPS: Step[] = [
  { name: 'first sync', change: () => undefined },
  {
    name: 'new pipelines, a rerun, a schedule edit',
    change: (w) => {
      w.advanceTime(HOUR);
      const target = rerunTarget(w, B);
      w.rerunWorkflow(String(target.id));
      w.addPipelines(A, 2);
      w.editSchedule(String(w.truth('schedule')[0]!.id));
    },
    check: (run) => {
      expect((run.records.get('pipelines') ?? []).map((p) => p.project_slug)).toEqual([A, A]);
      expect((run.records.get('schedule') ?? []).length).toBe(1);
    },
  },
  {
    name: 'running workflows finish, an approval waits, a deploy environment appears',
    change: (w) => {
      w.advanceTime(2 * HOUR);
      w.finishRunningWorkflows();
      // A rerun of an approval workflow waits on its hold job.
      const approval = workflowsOf(w, A).find((wf) => wf.name === 'deploy' && Date.parse(String(wf.created_at)) >= bookmark('workflows', A) - LOOKBACK_HOURS * HOUR);
      w.rerunWorkflow(approval ? w.listingPipelineId(approval) : String(rerunTarget(w, A).id), approval ? String(approval.id) : undefined);
      w.addDeployEnvironment(String(w.collaborations()[1]!.id), 'hotfix');
    },
    check: (run, truth) => {
      expect((run.records.get('deploy') ?? []).map((d) => d.name)).toEqual(['hotfix']);
      // The rerun waiting on its hold is not listed by Insights yet: it lands once approved (sync 5).
      expect((run.records.get('workflows') ?? []).some((wf) => UNFINISHED.has(String(wf.status)))).toBe(false);
      expect([...truth.get('workflows')!.values()].some((wf) => UNFINISHED.has(String(wf.status)))).toBe(false);
    },
  },
  {
    name: 'a project joins the config; the others carry on',
    change: (w) => {
      w.advanceTime(HOUR);
      slugs = [A, B, C];
      w.addPipelines(B, 1);
    },
    check: (run, truth) => {
      const pipelines = run.records.get('pipelines') ?? [];
      // C starts from the start date: all of it. A has nothing new, B one pipeline.
      const ofC = [...truth.get('pipelines')!.values()].filter((p) => p.project_slug === C);
      expect(ofC.length).toBeGreaterThan(0);
      expect(pipelines.filter((p) => p.project_slug === C).length).toBe(ofC.length);
      expect(pipelines.filter((p) => p.project_slug === A)).toEqual([]);
      expect(pipelines.filter((p) => p.project_slug === B).length).toBe(1);
    },
  },
  {
    name: 'approvals approved, reruns on the new project, another schedule edit',
    change: (w) => {
      w.advanceTime(3 * HOUR);
      w.finishRunningWorkflows();
      w.rerunWorkflow(String(rerunTarget(w, C).id));
      w.addPipelines(C, 2);
      const schedules = w.truth('schedule');
      w.editSchedule(String(schedules[schedules.length - 1]!.id));
    },
  },
  {
    name: 'nothing happened',
    change: (w) => {
      w.advanceTime(HOUR);
      w.finishRunningWorkflows();
    },
  },
  {
    name: 'nothing happened, again',
    change: (w) => w.advanceTime(HOUR),
    check: (run) => {
      for (const stream of CHANGING) expect(run.records.get(stream) ?? []).toEqual([]);
    },
  },
];

beforeAll(async () => {
  world = createWorld({ preset: 'tiny', seed: 17, pipelinesPerProject: 8, workflowsPerPipeline: 3, jobsPerWorkflow: 4 });
  fake = await startFakeCircleCi({ world });
  [A, B, C] = world.projectSlugs() as [string, string, string];
  slugs = [A, B];
  let state: unknown;
  for (const step of STEPS) {
    step.change(world, syncs);
    const config = fakeConfig(world, fake.url, { project_slugs: slugs, start_date: START, workflow_lookback_hours: LOOKBACK_HOURS });
    const run = await runRead({ config, streams: coreStreams(), ...(state !== undefined ? { state } : {}) });
    const destination = destinationOf(...syncs.map((s) => s.run), run);
    const truth = withoutRunningReruns(truthTables(world, slugs, START), state === undefined ? undefined : syncs[syncs.length - 1]!.run);
    syncs.push({ step, slugs: [...slugs], run, truth, diffs: diffTables(truth, destination) });
    state = run.finalState;
  }
}, 120_000);

afterAll(async () => {
  await fake?.close();
  const rows = syncs.map((s, i) => [i + 1, s.step.name, s.slugs.length, ...CHANGING.map((name) => s.run.records.get(name)?.length ?? 0), s.diffs.size === 0 ? 'equal' : `${s.diffs.size} streams differ`]);
  console.log(`Data fidelity over ${syncs.length} syncs (records emitted per sync; destination vs truth)\n${formatTable(['sync', 'change', 'projects', ...CHANGING, 'destination'], rows)}`);
});

describe('a scripted history, synced step by step', () => {
  it.each(STEPS.map((step, i) => [i + 1, step.name] as const))('sync %d (%s): exit 0, clean output, destination equals the truth', (n) => {
    const sync = syncs[n - 1]!;
    assertCleanRun(sync.run, world.token, `sync ${n}`);
    expect(sync.run.errors).toEqual([]);
    expect(sync.run.exitCode).toBe(0);
    if (sync.diffs.size > 0) throw new Error(`after sync ${n}:\n${describeDiff(sync.diffs)}`);
    sync.step.check?.(sync.run, sync.truth);
  });

  it('the history really moved: running and on_hold workflows became final, reruns and new records arrived', () => {
    const finalWorkflows = destinationOf(...syncs.map((s) => s.run)).get('workflows')!;
    const finalStatus = new Map([...finalWorkflows.values()].map((wf) => [wf.id, wf.status]));
    const transitions = new Set<string>();
    for (const sync of syncs.slice(0, -1)) {
      for (const wf of sync.run.records.get('workflows') ?? []) {
        const now = finalStatus.get(wf.id);
        if (now !== wf.status) transitions.add(`${String(wf.status)} → ${String(now)}`);
      }
    }
    expect([...transitions]).toEqual(expect.arrayContaining(['running → success', 'on_hold → success']));
    const totalEmitted = (stream: StreamName) => syncs.slice(1).reduce((sum, s) => sum + (s.run.records.get(stream)?.length ?? 0), 0);
    for (const stream of CHANGING) expect(totalEmitted(stream)).toBeGreaterThan(0);
  });
});
