/**
 * The built connector, SIGKILLed at seeded random points and restarted each time from the
 * last STATE it emitted per stream, until a run completes. Whatever a destination received
 * over all those runs, deduplicated by primary key, must equal the truth; what a restart
 * re-emits of each project must stay within that project's in-flight window (projects are
 * walked side by side, so a restart may re-emit one window per project).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { STREAM_NAMES, type StreamName } from '../../src/streams/schemas/index.js';
import { STREAM_GRAPH, STREAMS } from '../../src/streams/streams.js';
import { createWorld, startFakeCircleCi, type RunningFake, type World } from '../../tools/fake-circleci/index.js';
import { CORE_STREAMS, catalogOf, coreStreams, fakeConfig, parseRun, primaryKeyOf, writeJson, type RunResult } from '../support/connector.js';
import { assertCleanOutput, describeDiff, destinationOf, diffTables, formatTable, lastStates, runCli, seededRandom, truthTables } from './harness.js';

const START = '2026-06-01T00:00:00Z';
/** Two campaigns side by side, ten kills each; more campaigns only if one finished early. */
const CAMPAIGN_SEEDS = [101, 202];
const KILLS_PER_CAMPAIGN = 10;
/** Kill after 1..MAX_KILL_LINE stdout lines: a full run prints ~850, so most runs are cut short. */
const MAX_KILL_LINE = 300;
/** A campaign that needs more runs than this is not making progress. */
const MAX_RUNS_PER_CAMPAIGN = 40;
const MIN_KILLS = 20;
const CHECKPOINT_RECORDS = 20;
/** Streams whose STATE lets a restart skip what was done: their re-emissions are the ones bounded. */
const RESUMABLE = CORE_STREAMS.filter((name) => STREAMS[name].cursor !== undefined);
/** Streams walked per configured project (pipelines and everything below them). */
const HISTORY: readonly StreamName[] = STREAM_NAMES.filter((name) => STREAM_GRAPH.inHistory(name));
/** Streams below workflows, whose records carry their workflow's id. */
const UNDER_WORKFLOWS: readonly StreamName[] = HISTORY.filter((name) => STREAM_GRAPH.within(name, 'jobs'));
/** Workflows in these statuses are followed (read again) by every sync until they end. */
const UNFINISHED = new Set(['running', 'on_hold', 'failing']);

interface Restart {
  killAfter: number;
  killed: boolean;
  lines: number;
  /** Records of resumable streams this run emitted that an earlier run of the campaign had already emitted. */
  reEmitted: number;
  /** The history part of `reEmitted`, per project slug. */
  reEmittedByProject: Map<string, number>;
}

interface Campaign {
  seed: number;
  restarts: Restart[];
  runs: RunResult[];
  final: RunResult;
}

let world: World;
let fake: RunningFake;
let slugs: string[];
let configPath: string;
let catalogPath: string;
const campaigns: Campaign[] = [];

/** Restarts one sync from its own states, killing it up to `killBudget` times, until a run completes. */
async function runCampaign(seed: number, killBudget: number): Promise<Campaign> {
  const random = seededRandom(seed);
  const runs: RunResult[] = [];
  const restarts: Restart[] = [];
  const seen = new Map<StreamName, Set<string>>(RESUMABLE.map((name) => [name, new Set()]));
  let states: Array<Record<string, any>> = [];
  for (let attempt = 0; attempt < MAX_RUNS_PER_CAMPAIGN; attempt += 1) {
    const kills = restarts.filter((r) => r.killed).length;
    const killAfter = kills < killBudget ? 1 + Math.floor(random() * MAX_KILL_LINE) : Number.POSITIVE_INFINITY;
    const args = ['read', '--config', configPath, '--catalog', catalogPath, ...(states.length > 0 ? ['--state', writeJson(states)] : [])];
    const cli = await runCli(args, { killAfterLines: killAfter, runOptions: { checkpointRecords: CHECKPOINT_RECORDS }, timeoutMs: 60_000 });
    assertCleanOutput(cli, world.token, `campaign ${seed} run ${attempt + 1}`);
    const killed = cli.signal === 'SIGKILL';
    const run = parseRun(cli.lines.join('\n'), cli.exitCode ?? -1);
    let reEmitted = 0;
    const reEmittedByProject = new Map<string, number>();
    for (const stream of RESUMABLE) {
      const keys = seen.get(stream)!;
      for (const record of run.records.get(stream) ?? []) {
        const key = primaryKeyOf(stream, record);
        if (keys.has(key)) {
          reEmitted += 1;
          if (HISTORY.includes(stream)) {
            // Job details name their project in `project.slug`.
            const slug = String(record.project_slug ?? (record.project as { slug?: unknown } | undefined)?.slug);
            reEmittedByProject.set(slug, (reEmittedByProject.get(slug) ?? 0) + 1);
          }
        }
        keys.add(key);
      }
    }
    runs.push(run);
    restarts.push({ killAfter, killed, lines: cli.lines.length, reEmitted, reEmittedByProject });
    states = lastStates({ finalState: states }, run);
    if (!killed) return { seed, restarts, runs, final: run };
  }
  throw new Error(`campaign ${seed}: no run completed in ${MAX_RUNS_PER_CAMPAIGN} attempts (restarts: ${JSON.stringify(restarts.map((r) => r.lines))})`);
}

beforeAll(async () => {
  // Pages of 5: a project's pipelines span several pages, so checkpoints fall inside projects.
  world = createWorld({ preset: 'small', seed: 3, pageSize: 5 });
  // A little latency per request, so a kill lands while requests are in flight.
  fake = await startFakeCircleCi({ world, faults: { latency: { fixedMs: 2 } } });
  slugs = world.projectSlugs();
  configPath = writeJson(fakeConfig(world, fake.url, { project_slugs: slugs, start_date: START }));
  catalogPath = writeJson(catalogOf(coreStreams()));
  // Campaigns are independent (each restarts only from its own states): run them side by side.
  campaigns.push(...(await Promise.all(CAMPAIGN_SEEDS.map((seed) => runCampaign(seed, KILLS_PER_CAMPAIGN)))));
  const killsSoFar = () => campaigns.flatMap((c) => c.restarts).filter((r) => r.killed).length;
  for (let seed = 1000; killsSoFar() < MIN_KILLS && seed < 1005; seed += 1) campaigns.push(await runCampaign(seed, MIN_KILLS - killsSoFar()));
}, 170_000);

afterAll(async () => {
  await fake?.close();
  const rows = campaigns.map((c) => {
    const kills = c.restarts.filter((r) => r.killed);
    const reEmitted = c.restarts.map((r) => r.reEmitted);
    const killLines = kills.map((r) => r.killAfter);
    const perProject = Math.max(0, ...c.restarts.flatMap((r) => [...r.reEmittedByProject.values()]));
    return [c.seed, c.restarts.length, kills.length, c.restarts.length - 1, `${Math.min(...killLines)}..${Math.max(...killLines)}`, reEmitted.reduce((a, b) => a + b, 0), Math.max(...reEmitted), perProject];
  });
  const windows = slugs?.map(inFlightWindow) ?? [];
  console.log(
    `Kill and resume (small world, ${slugs?.length ?? 0} projects, checkpoint every ${CHECKPOINT_RECORDS} records, kill after 1..${MAX_KILL_LINE} lines; per-project windows ${Math.min(...windows)}..${Math.max(...windows)} records)\n` +
      formatTable(['seed', 'runs', 'kills', 'resumes', 'killed after lines', 're-emitted records', 'most in one restart', 'most of one project'], rows),
  );
});

/**
 * A project's in-flight window: the pipelines, workflows and what is below them (jobs,
 * job details, tests) of the two consecutive pages of its pipeline list that hold the most
 * records (the page being walked and the one fetched ahead), plus the unfinished workflows
 * and what is below them, which every sync reads again.
 */
function inFlightWindow(slug: string): number {
  const scope = { projectSlugs: [slug], startDate: START };
  const workflows = world.truth('workflows', scope);
  const below = UNDER_WORKFLOWS.flatMap((stream) => world.truth(stream, scope));
  const perPipeline = world
    .truth('pipelines', scope)
    .sort((a, b) => Number(b.number) - Number(a.number))
    .map((pipeline) => {
      const ids = new Set(workflows.filter((w) => world.listingPipelineId(w) === pipeline.id).map((w) => w.id));
      return 1 + ids.size + below.filter((record) => ids.has(record._workflow_id)).length;
    });
  const span = 2 * world.options.pageSize;
  let window = 0;
  for (let i = 0; i < perPipeline.length; i += 1) window = Math.max(window, perPipeline.slice(i, i + span).reduce((a, b) => a + b, 0));
  const unfinished = new Set(workflows.filter((w) => UNFINISHED.has(String(w.status))).map((w) => w.id));
  return window + unfinished.size + below.filter((record) => unfinished.has(record._workflow_id)).length;
}

describe('a sync SIGKILLed at random points and resumed from its last states', () => {
  it(`is killed at least ${MIN_KILLS} times in all, and each campaign ends with a completed run`, () => {
    const kills = campaigns.flatMap((c) => c.restarts.filter((r) => r.killed));
    expect(kills.length).toBeGreaterThanOrEqual(MIN_KILLS);
    for (const campaign of campaigns) {
      expect(campaign.final.exitCode).toBe(0);
      expect(campaign.final.errors).toEqual([]);
    }
  });

  it('the union of every run, deduplicated by primary key, equals the truth in every stream', () => {
    const truth = truthTables(world, slugs, START);
    for (const campaign of campaigns) {
      const diffs = diffTables(truth, destinationOf(...campaign.runs));
      if (diffs.size > 0) throw new Error(`campaign ${campaign.seed}:\n${describeDiff(diffs)}`);
    }
  });

  it("a restart re-emits, per project, no more than that project's in-flight window", () => {
    const bounds = new Map(slugs.map((slug) => [slug, inFlightWindow(slug)]));
    for (const slug of slugs) {
      // The window is smaller than the project: a project read again from scratch would break it.
      const all = world.counts({ projectSlugs: [slug], startDate: START });
      expect(bounds.get(slug)!).toBeLessThan(HISTORY.reduce((sum, stream) => sum + all[stream], 0));
    }
    for (const campaign of campaigns) {
      for (const [i, restart] of campaign.restarts.entries()) {
        for (const [slug, count] of restart.reEmittedByProject) {
          if (!bounds.has(slug)) throw new Error(`campaign ${campaign.seed} run ${i + 1} re-emitted records of an unknown project ${slug}`);
          if (count > bounds.get(slug)!) throw new Error(`campaign ${campaign.seed} run ${i + 1} re-emitted ${count} records of ${slug}; its window is ${bounds.get(slug)}`);
        }
      }
    }
  });
});
