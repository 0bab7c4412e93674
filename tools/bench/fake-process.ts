// The fake CircleCI API for the benchmark, run as a child process of tools/bench/bench.ts
// (never inside the connector's process). It also knows the world, so it answers what
// the benchmark cannot see from outside: the fewest requests a sync needs, the records
// it must emit, and per-URL counts (a URL answered twice is a request made twice).
//
//   fork('dist/tools/bench/fake-process.js', [JSON.stringify(FakeProcessInit)])
//   → {type: 'ready', ...}; then 'stats', 'reset' and 'incremental-minimum' requests over IPC.

import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startFakeCircleCi } from '../fake-circleci/server.js';
import { createWorld, type PresetName, type World } from '../fake-circleci/world.js';
import { insightsWorkflowsTruth } from '../fake-circleci/insights.js';
import type { FaultOptions } from '../fake-circleci/faults.js';
import type { RequestLogEntry } from '../fake-circleci/dispatch.js';
import type { StatsSnapshot } from '../fake-circleci/stats.js';
import { pages, worldFigures, type WorldFigures } from './world-figures.js';

export interface FakeProcessInit {
  seed: number;
  /** The world's preset (default: benchmark). */
  preset?: PresetName;
  pipelinesPerProject: number;
  /** Projects per organization instead of the preset's. */
  projectsPerOrg?: number;
  faults: FaultOptions;
  /** The connector's page_size: the page size it asks for on groups and deploy environments. */
  connectorPageSize: number;
}

export type FakeReply =
  | { type: 'ready'; url: string; token: string; slugs: string[]; figures: WorldFigures }
  | { type: 'stats'; stats: StatsSnapshot; duplicateUrls: number; duplicateExample?: string; timeline: number[]; refusedAt: number[] }
  | { type: 'reset-done' }
  | { type: 'settled' }
  | { type: 'incremental-minimum'; minimumByRoute: Record<string, number>; minimum: number };

export type FakeRequestMessage =
  | { type: 'stats' }
  | { type: 'reset' }
  | { type: 'incremental-minimum'; unfinishedWorkflowIds: string[] }
  /** Every running workflow finishes, then the world's clock moves on by `ms`. */
  | { type: 'settle'; ms: number };

async function main(): Promise<void> {
  const init = JSON.parse(process.argv[2] ?? '{}') as FakeProcessInit;
  const world = createWorld({ preset: init.preset ?? 'benchmark', seed: init.seed, pipelinesPerProject: init.pipelinesPerProject, ...(init.projectsPerOrg ? { projectsPerOrg: init.projectsPerOrg } : {}) });
  const figures = worldFigures(world, init.connectorPageSize);
  let answered = new Map<string, number>();
  // Answers other than 429 per second since the first request (the storm row's recovery).
  let timeline: number[] = [];
  // When each 429 was sent, in ms since the first request (the limit rows' diagnosis).
  let refusedAt: number[] = [];
  let firstAt: number | undefined;
  const onRequest = (entry: RequestLogEntry): void => {
    const sinceFirst = Date.now() - (firstAt ??= Date.now());
    if (entry.outcome === 429) refusedAt.push(sinceFirst);
    else {
      const second = Math.floor(sinceFirst / 1000);
      while (timeline.length <= second) timeline.push(0);
      timeline[second]! += 1;
    }
    // Only answers that end a request count: a 429 or 5xx is retried, which is not a repeat.
    if (typeof entry.outcome !== 'number' || entry.outcome === 429 || entry.outcome >= 500) return;
    answered.set(entry.path, (answered.get(entry.path) ?? 0) + 1);
  };
  const fake = await startFakeCircleCi({ world, faults: init.faults, onRequest });
  const send = (message: FakeReply): void => {
    process.send?.(message);
  };
  process.on('message', (message: FakeRequestMessage) => {
    if (message.type === 'stats') {
      const repeated = [...answered].filter(([, n]) => n > 1);
      send({ type: 'stats', stats: fake.stats.snapshot(), duplicateUrls: repeated.length, timeline, refusedAt, ...(repeated[0] ? { duplicateExample: repeated[0][0] } : {}) });
    } else if (message.type === 'reset') {
      fake.stats.reset();
      answered = new Map();
      timeline = [];
      refusedAt = [];
      firstAt = undefined;
      send({ type: 'reset-done' });
    } else if (message.type === 'settle') {
      world.finishRunningWorkflows();
      world.advanceTime(message.ms);
      send({ type: 'settled' });
    } else if (message.type === 'incremental-minimum') {
      send({ type: 'incremental-minimum', ...incrementalMinimum(world, figures, message.unfinishedWorkflowIds) });
    }
  });
  process.on('disconnect', () => {
    void fake.close().then(() => process.exit(0));
  });
  send({ type: 'ready', url: fake.url, token: world.token, slugs: world.projectSlugs(), figures });
}

/**
 * An incremental sync with nothing new (workflow lookback 0): the organization streams
 * again (they have no server-side filter), one pipeline page per project, Insights' workflow
 * names per project and one page of recent runs per name (nothing since the bookmark), and
 * the workflows still followed as unfinished: each read by id, with its job list and its
 * numbered jobs' details and tests.
 */
function incrementalMinimum(world: World, figures: WorldFigures, unfinishedIds: string[]): { minimumByRoute: Record<string, number>; minimum: number } {
  const byRoute: Record<string, number> = { ...figures.minimumByRoute };
  byRoute.pipelines = figures.projects;
  byRoute.pipeline_workflows = 0;
  byRoute.insights_workflows = figures.projects;
  byRoute.insights_workflow_runs = world.projectSlugs().reduce((sum, slug) => sum + insightsWorkflowsTruth(world, slug, 'last-90-days', null).length, 0);
  byRoute.workflow = unfinishedIds.length;
  byRoute.workflow_jobs = 0;
  byRoute.job_details = 0;
  byRoute.job_tests = 0;
  for (const id of unfinishedIds) {
    const workflow = world.workflowById(id);
    const jobs = workflow ? world.jobRecords(workflow) : [];
    byRoute.workflow_jobs += pages(jobs.length, world.options.pageSize);
    // Each numbered job's details and tests are read again with its workflow.
    for (const [index, job] of jobs.entries()) {
      if (job.job_number === undefined || job.job_number === null || !workflow) continue;
      byRoute.job_details += 1;
      byRoute.job_tests += pages(world.testItems(workflow, index).length, world.options.pageSize);
    }
  }
  return { minimumByRoute: byRoute, minimum: Object.values(byRoute).reduce((a, b) => a + b, 0) };
}

// Run only when started as a script (importing the types has no side effects).
const invoked = process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
if (invoked) await main();
