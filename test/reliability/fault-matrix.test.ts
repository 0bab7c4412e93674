/**
 * Every fault the fake CircleCI API can inject, against a full sync of every stream
 * (in-process, real HTTP to a loopback fake, real retry waits kept short).
 *
 * - transient: within the retry policy → the records equal the truth, nothing twice, exit 0.
 * - beyond: past the policy → a TRACE ERROR of the right failure_type naming the route or
 *   stream; the STATEs before it are valid, and resuming from them after the fault is gone
 *   completes the data.
 * - partial: 404 children → the sync completes without them, says so in a log line, and
 *   everything else is intact.
 * - refused: 403 on one organization's groups → that part fails (groups INCOMPLETE, a WARN
 *   and a config_error TRACE ERROR saying what access it needs), exit 1, and everything
 *   else is intact.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { parseSelection } from '../../src/read/selection.js';
import { parseState } from '../../src/read/state-input.js';
import { DEFAULT_MAX_RETRY_AFTER_MS, TRANSIENT_MAX_ATTEMPTS } from '../../src/http/retry-policy.js';
import type { StreamName } from '../../src/streams/schemas/index.js';
import { createFaults, createWorld, startFakeCircleCi, type FaultOptions, type StatsSnapshot, type World } from '../../tools/fake-circleci/index.js';
import { catalogOf, coreStreams, fakeConfig, runRead, type RunResult } from '../support/connector.js';
import { expectRefusedParts } from '../support/refused.js';
import { assertNoSecret } from '../support/secrets.js';
import {
  assertCleanRun,
  countLost,
  describeDiff,
  destinationOf,
  diffTables,
  duplicatesWithin,
  formatTable,
  inParallel,
  lastStates,
  truthTables,
  withTimeout,
  type StreamDiff,
  type Tables,
} from './harness.js';

const START = '2026-08-01T00:00:00Z';
const SEED = 7;
/** No single run may take longer than this; the slowest (5 attempts with backoff) takes ~15 s. */
const RUN_BOUND_MS = 45_000;
/** Short enough that hung responses cost little, long enough for a loaded CI machine. */
const REQUEST_TIMEOUT_MS = 750;
/** The short timeout, and checkpoints every few records so an interrupted project walk leaves resume markers behind. */
const RUN_OPTIONS = { requestTimeoutMs: REQUEST_TIMEOUT_MS, checkpointRecords: 5 };
const STREAMS = coreStreams();

type Kind = 'transient' | 'beyond' | 'partial' | 'refused';

interface Scenario {
  name: string;
  kind: Kind;
  faults: (world: World, slugs: string[]) => FaultOptions;
  /** World options beyond the shared tiny world. */
  world?: { pipelinesPerProject?: number };
  /** Turns the fault off after this many responses with this outcome (rate limits have no `times`). */
  switchOffAfter?: { outcome: number | 'reset' | 'hang'; count: number; key: keyof FaultOptions };
  /** Proof that the fault fired (from the fake's counters or what the connector said). */
  fired: (stats: StatsSnapshot, run: RunResult) => boolean;
  /** For `beyond`: the failure type and what the message must name. */
  failureType?: 'transient_error' | 'config_error' | 'system_error';
  messageIncludes?: string[];
  /** For `partial`: the truth with what the fault hides removed, and the log line that must say so. */
  adjustTruth?: (truth: Tables, world: World, slugs: string[]) => void;
  logIncludes?: (world: World, slugs: string[]) => { level: string; text: string };
}

interface Outcome {
  scenario: Scenario;
  world: World;
  slugs: string[];
  first: RunResult;
  firstMs: number;
  resumed?: RunResult;
  stats: StatsSnapshot;
  truth: Tables;
  diffs: Map<StreamName, StreamDiff>;
  /** Records missing after the first (faulty) sync alone, before any resume. */
  lostBeforeResume: number;
  duplicates: number;
}

/** The configured projects: all three of the tiny world's (the per-project streams cover the scope, and only the circleci organization's project has triggers). */
const slugsOf = (world: World) => world.projectSlugs();

/** The first pipeline of a configured project that has workflows with jobs, and one workflow of another pipeline. */
function notFoundTargets(world: World, slugs: string[]): { pipelineId: string; workflowId: string } {
  const pipelines = world.truth('pipelines', { projectSlugs: slugs, startDate: START });
  const workflows = world.truth('workflows', { projectSlugs: slugs, startDate: START });
  const withWorkflows = pipelines.filter((p) => workflows.some((w) => world.listingPipelineId(w) === p.id));
  const pipelineId = String(withWorkflows[0]!.id);
  const workflowId = String(workflows.find((w) => world.listingPipelineId(w) !== pipelineId)!.id);
  return { pipelineId, workflowId };
}

/** Pages of a project's pipeline list (every tiny-world pipeline is after START, so the walk reads them all). */
function pipelinePages(world: World, slug: string): number {
  return Math.ceil(world.truth('pipelines', { projectSlugs: [slug], startDate: START }).length / world.options.pageSize);
}

const SCENARIOS: Scenario[] = [
  {
    name: '429 + Retry-After: 1',
    kind: 'transient',
    // A concurrency cap rather than a quota: quota headers would let the governor pause
    // before any 429. Latency makes requests overlap at the server.
    faults: () => ({ latency: { fixedMs: 20 }, rateLimit: { maxConcurrent: 1, retryAfterSeconds: 1 } }),
    switchOffAfter: { outcome: 429, count: 3, key: 'rateLimit' },
    fired: (s, run) => s.rateLimited >= 3 && run.logs.some((log) => /rate limited \(429\); retrying in 1\.0 s/.test(log.message)),
  },
  {
    name: '429, no headers',
    kind: 'transient',
    faults: () => ({ latency: { fixedMs: 20 }, rateLimit: { maxConcurrent: 1, headers: false } }),
    switchOffAfter: { outcome: 429, count: 3, key: 'rateLimit' },
    fired: (s) => s.rateLimited >= 3,
  },
  {
    name: '5xx bursts',
    kind: 'transient',
    faults: () => ({
      serverErrors: [
        { route: 'pipelines', status: 503, times: 2, burst: 2 },
        { route: 'workflow_jobs', status: 500, after: 2, times: 2 },
        { route: 'contexts', status: 502, times: 1 },
        { route: 'deploy_environments', status: 504, after: 1, times: 1 },
      ],
    }),
    fired: (s) => (s.byStatus['500'] ?? 0) + (s.byStatus['502'] ?? 0) + (s.byStatus['503'] ?? 0) + (s.byStatus['504'] ?? 0) >= 6,
  },
  {
    name: 'connection resets',
    kind: 'transient',
    faults: () => ({
      resets: [
        { route: 'collaborations', times: 1 },
        { route: 'pipeline_workflows', after: 1, times: 2 },
        { route: 'groups', times: 1 },
      ],
    }),
    fired: (s) => (s.byStatus.reset ?? 0) >= 4,
  },
  {
    name: `hung responses (timeout ${REQUEST_TIMEOUT_MS} ms)`,
    kind: 'transient',
    faults: () => ({ hangs: [{ route: 'workflow_jobs', after: 1, times: 2 }, { route: 'schedules', times: 1 }] }),
    fired: (s) => (s.byStatus.hang ?? 0) >= 3,
  },
  {
    name: 'truncated JSON',
    kind: 'transient',
    faults: () => ({ truncated: [{ route: 'pipelines', times: 1 }, { route: 'workflow_jobs', times: 2 }, { route: 'triggers', times: 1 }] }),
    // a truncated body is still a 200 on the wire: the connector's retry warnings are the proof
    fired: (_, run) => run.logs.filter((log) => log.message.includes('unreadable body')).length >= 4,
  },
  {
    name: 'HTML error pages',
    kind: 'transient',
    faults: () => ({ htmlErrors: [{ route: 'pipeline_workflows', times: 2, status: 502 }, { route: 'project', times: 1, status: 503 }] }),
    fired: (s) => (s.byStatus['502'] ?? 0) + (s.byStatus['503'] ?? 0) >= 3,
  },
  {
    name: '404 on a pipeline and a workflow',
    kind: 'partial',
    faults: (world, slugs) => {
      const { pipelineId, workflowId } = notFoundTargets(world, slugs);
      return { notFoundIds: [pipelineId, workflowId] };
    },
    fired: (s) => (s.byStatus['404'] ?? 0) >= 2,
    adjustTruth: (truth, world, slugs) => {
      const { pipelineId, workflowId } = notFoundTargets(world, slugs);
      const workflows = truth.get('workflows')!;
      const hidden = new Set([...workflows.values()].filter((w) => world.listingPipelineId(w) === pipelineId).map((w) => String(w.id)));
      for (const [key, w] of workflows) if (hidden.has(String(w.id))) workflows.delete(key);
      hidden.add(workflowId);
      for (const stream of ['jobs', 'job_details', 'tests'] as const) {
        const records = truth.get(stream)!;
        for (const [key, record] of records) if (hidden.has(String(record._workflow_id))) records.delete(key);
      }
    },
    logIncludes: (world, slugs) => ({ level: 'any', text: notFoundTargets(world, slugs).pipelineId }),
  },
  {
    name: "403 on one organization's groups",
    kind: 'refused',
    faults: (world) => ({ forbiddenGroupOrgs: [String(world.collaborations()[0]!.id)] }),
    fired: (s) => (s.byStatus['403'] ?? 0) >= 1,
    adjustTruth: (truth, world) => {
      const org = String(world.collaborations()[0]!.id);
      const groups = truth.get('groups')!;
      for (const [key, group] of groups) if (group.organization_id === org) groups.delete(key);
    },
  },
  {
    name: `5xx on all ${TRANSIENT_MAX_ATTEMPTS} attempts`,
    kind: 'beyond',
    faults: () => ({ serverErrors: { route: 'pipelines', status: 500, times: TRANSIENT_MAX_ATTEMPTS } }),
    fired: (s) => (s.byStatus['500'] ?? 0) === TRANSIENT_MAX_ATTEMPTS,
    failureType: 'transient_error',
    messageIncludes: ['GET /api/v2/project/', '/pipeline', '500'],
  },
  {
    name: 'a 429 asking to wait longer than max_retry_after_seconds',
    kind: 'beyond',
    faults: () => ({ rateLimit: { requestsPerMinute: 0, windowMs: 1000, retryAfterSeconds: DEFAULT_MAX_RETRY_AFTER_MS / 1000 + 1, route: 'pipelines' } }),
    switchOffAfter: { outcome: 429, count: 1, key: 'rateLimit' },
    fired: (s) => s.rateLimited === 1,
    failureType: 'transient_error',
    messageIncludes: ['GET /api/v2/project/', '/pipeline', 'max_retry_after_seconds'],
  },
  {
    name: `resets on all ${TRANSIENT_MAX_ATTEMPTS} attempts`,
    kind: 'beyond',
    // The second configured project's first page: the first project finishes and saves its bookmark.
    faults: (world, slugs) => ({ resets: { route: 'pipelines', after: pipelinePages(world, slugs[0]!), times: TRANSIENT_MAX_ATTEMPTS } }),
    fired: (s) => (s.byStatus.reset ?? 0) === TRANSIENT_MAX_ATTEMPTS,
    failureType: 'transient_error',
    messageIncludes: ['GET /api/v2/project/', '/pipeline', 'ECONNRESET'],
  },
  {
    name: 'token revoked mid-sync',
    kind: 'beyond',
    faults: () => ({ revokeTokenAfter: 40 }),
    fired: (s) => (s.byStatus['401'] ?? 0) >= 1,
    failureType: 'config_error',
    messageIncludes: ['401', 'invalid or expired'],
  },
  {
    name: 'repeating page token',
    kind: 'beyond',
    // Three pages per project, so the loop is caught before the last one and data is missing until the resume.
    world: { pipelinesPerProject: 5 },
    faults: () => ({ repeatPageToken: { route: 'pipelines' } }),
    fired: (_, run) => run.errors.some((error) => error.message.includes('repeated a page token')),
    failureType: 'system_error',
    messageIncludes: ['repeated a page token', 'GET /api/v2/project/', '/pipeline'],
  },
];

async function runScenario(scenario: Scenario): Promise<Outcome> {
  const world = createWorld({ preset: 'tiny', seed: SEED, ...scenario.world });
  const slugs = slugsOf(world);
  const faults = createFaults(scenario.faults(world, slugs));
  let seen = 0;
  const switchOff = scenario.switchOffAfter;
  const fake = await startFakeCircleCi({
    world,
    faults,
    onRequest: (entry) => {
      if (switchOff && entry.outcome === switchOff.outcome && ++seen === switchOff.count) faults.update({ [switchOff.key]: undefined });
    },
  });
  try {
    // page_size 2: every list route the client sizes itself paginates too.
    const config = fakeConfig(world, fake.url, {
      project_slugs: slugs,
      start_date: START,
      page_size: 2,
      // Beyond the policy, one request must meet the fault on every attempt: one request at a
      // time (projects walked in turn) keeps other requests from absorbing some of the faults.
      ...(scenario.kind === 'beyond' ? { max_concurrency: 1 } : {}),
    });
    const started = Date.now();
    const first = await withTimeout(runRead({ config, streams: STREAMS }, RUN_OPTIONS), RUN_BOUND_MS, `${scenario.name}: the sync`);
    const firstMs = Date.now() - started;
    const stats = fake.stats.snapshot();
    let resumed: RunResult | undefined;
    if (scenario.kind === 'beyond') {
      faults.set({}); // the fault is gone; the user re-runs the sync
      resumed = await withTimeout(runRead({ config, streams: STREAMS, state: lastStates(first) }, RUN_OPTIONS), RUN_BOUND_MS, `${scenario.name}: the resumed sync`);
    }
    const truth = truthTables(world, slugs, START);
    scenario.adjustTruth?.(truth, world, slugs);
    const destination = resumed ? destinationOf(first, resumed) : destinationOf(first);
    return {
      scenario,
      world,
      slugs,
      first,
      firstMs,
      resumed,
      stats,
      truth,
      diffs: diffTables(truth, destination),
      lostBeforeResume: countLost(diffTables(truth, destinationOf(first))),
      duplicates: duplicatesWithin(first),
    };
  } finally {
    await fake.close();
  }
}

const outcomes = new Map<string, Outcome | Error>();

beforeAll(async () => {
  // Scenarios are independent (own world, own server): five at a time.
  const results = await inParallel(SCENARIOS, 5, runScenario);
  SCENARIOS.forEach((scenario, i) => outcomes.set(scenario.name, results[i]!));
}, 150_000);

afterAll(() => {
  const rows = SCENARIOS.map((scenario) => {
    const outcome = outcomes.get(scenario.name);
    if (outcome === undefined || outcome instanceof Error) return [scenario.name, scenario.kind, `crashed: ${outcome?.message ?? 'not run'}`, '-', '-', '-', '-'];
    const errors = outcome.first.errors.map((e) => e.failure_type);
    const result =
      `exit ${outcome.first.exitCode}` +
      (errors.length > 0 ? ` ${[...new Set(errors)].join(',')}×${errors.length}` : '') +
      (outcome.resumed ? ` → resumed exit ${outcome.resumed.exitCode}` : '');
    const lostFirst = outcome.resumed ? String(outcome.lostBeforeResume) : '-';
    return [scenario.name, scenario.kind, result, lostFirst, countLost(outcome.diffs), outcome.duplicates, `${(outcome.firstMs / 1000).toFixed(1)} s`];
  });
  console.log(`Fault matrix (tiny world, seed ${SEED}, all streams)\n${formatTable(['fault', 'kind', 'outcome', 'missing before resume', 'records lost', 'duplicates', 'sync time'], rows)}`);
});

function outcomeOf(name: string): Outcome {
  const outcome = outcomes.get(name);
  if (outcome === undefined) throw new Error(`${name} did not run`);
  if (outcome instanceof Error) throw outcome;
  return outcome;
}

const byKind = (kind: Kind) => SCENARIOS.filter((s) => s.kind === kind).map((s) => [s.name] as const);

/** Every run: protocol-valid stdout, no token anywhere. */
function assertClean(outcome: Outcome): void {
  for (const run of [outcome.first, outcome.resumed]) {
    if (run) assertCleanRun(run, outcome.world.token, outcome.scenario.name);
  }
}

/** The fault fired, and the sync still ended exit 0 with exactly the truth: nothing lost or twice. */
function expectCompleteAndExact(outcome: Outcome): void {
  assertClean(outcome);
  expect(outcome.scenario.fired(outcome.stats, outcome.first)).toBe(true);
  expect(outcome.first.errors).toEqual([]);
  expect(outcome.first.exitCode).toBe(0);
  if (outcome.diffs.size > 0) throw new Error(describeDiff(outcome.diffs));
  expect(outcome.duplicates).toBe(0);
}

describe('faults within the retry policy', () => {
  it.each(byKind('transient'))('%s: the records equal the truth, nothing lost or twice, exit 0', (name) => {
    const outcome = outcomeOf(name);
    expectCompleteAndExact(outcome);
    // The retries happened and were said out loud.
    expect(outcome.first.logs.some((log) => log.level === 'WARN' && /retrying in/.test(log.message))).toBe(true);
  });
});

describe('faults beyond the retry policy', () => {
  it.each(byKind('beyond'))('%s: ends with a TRACE ERROR of the right type that names what failed', (name) => {
    const outcome = outcomeOf(name);
    const { first, scenario } = outcome;
    assertClean(outcome);
    expect(scenario.fired(outcome.stats, outcome.first)).toBe(true);
    expect(first.exitCode).not.toBe(0);
    const last = first.messages[first.messages.length - 1]!;
    expect(last.type === 'TRACE' && last.trace.type === 'ERROR').toBe(true);
    expect(first.errors.length).toBeGreaterThan(0);
    for (const error of first.errors) {
      expect(error.failure_type).toBe(scenario.failureType);
      for (const part of scenario.messageIncludes ?? []) expect(error.message).toContain(part);
      // A stream's error names the stream; a run-wide one (401) names the request instead.
      if (error.stream_descriptor) expect(error.message).toContain(`Stream ${error.stream_descriptor.name} `);
    }
    expect(duplicatesWithin(first)).toBe(0);
  });

  it.each(byKind('beyond'))('%s: the STATEs before the error are valid and resuming from them completes the data', (name) => {
    const outcome = outcomeOf(name);
    const { first, resumed } = outcome;
    // Every STATE parses as this connector's state (parseState throws a ConfigError otherwise).
    const selection = parseSelection(catalogOf(STREAMS));
    for (const state of first.states) expect(() => parseState([state], selection)).not.toThrow();
    expect(first.states.length).toBeGreaterThan(0);
    expect(resumed?.exitCode).toBe(0);
    expect(resumed?.errors).toEqual([]);
    if (outcome.diffs.size > 0) throw new Error(describeDiff(outcome.diffs));
  });

  it('a project that finished before the failure is not read again on resume', () => {
    const outcome = outcomeOf(`resets on all ${TRANSIENT_MAX_ATTEMPTS} attempts`);
    const [done, failed] = outcome.slugs;
    expect(outcome.first.errors[0]!.message).toContain(`/project/${failed}/pipeline`);
    expect((outcome.first.records.get('pipelines') ?? []).some((p) => p.project_slug === done)).toBe(true);
    const again = (outcome.resumed!.records.get('pipelines') ?? []).map((p) => p.project_slug);
    expect(again.length).toBeGreaterThan(0);
    expect(new Set(again)).toEqual(new Set([failed]));
  });
});

describe('children that answer 404', () => {
  it.each(byKind('partial'))('%s: the sync completes, everything else intact', (name) => {
    const outcome = outcomeOf(name);
    expectCompleteAndExact(outcome);
  });

  // A child listing that answers 404 is empty, but said: the user can tell a pipeline with
  // no workflows from one CircleCI no longer serves.
  it('a pipeline whose workflow list answers 404 is mentioned in a log line', () => {
    const outcome = outcomeOf('404 on a pipeline and a workflow');
    const expected = outcome.scenario.logIncludes!(outcome.world, outcome.slugs);
    expect(outcome.first.logs.some((log) => log.message.includes(expected.text))).toBe(true);
  });
});

describe('an organization that refuses groups (403)', () => {
  it.each(byKind('refused'))('%s: that part fails, saying what access it needs; everything else is intact, nothing twice', (name) => {
    const outcome = outcomeOf(name);
    assertClean(outcome);
    expect(outcome.scenario.fired(outcome.stats, outcome.first)).toBe(true);
    const refused = outcome.world.collaborations()[0]!;
    expectRefusedParts(outcome.first, [{ stream: 'groups', parent: `collaborations ${refused.slug}` }]);
    // The truth without the refused organization's groups: every other stream and organization.
    if (outcome.diffs.size > 0) throw new Error(describeDiff(outcome.diffs));
    expect(outcome.duplicates).toBe(0);
  });
});

describe('a configured project that does not exist (404 on its pipeline list)', () => {
  // A typo in project_slugs syncs nothing for that project; a WARN line says why.
  it('the sync says, in a WARN log naming the slug, that the project was not found', async () => {
    const world = createWorld({ preset: 'tiny', seed: SEED });
    const fake = await startFakeCircleCi({ world });
    try {
      const missing = 'gh/nobody/no-such-repo';
      const config = fakeConfig(world, fake.url, { project_slugs: [world.projects[0]!.slug, missing], start_date: START });
      const run = await withTimeout(runRead({ config, streams: { pipelines: 'incremental' } }, RUN_OPTIONS), RUN_BOUND_MS, 'the sync');
      assertNoSecret(run.lines.join('\n'), world.token);
      expect(run.logs.some((log) => log.level === 'WARN' && log.message.includes(missing) && /404|not found/i.test(log.message))).toBe(true);
    } finally {
      await fake.close();
    }
  });
});

describe('secret hygiene across the matrix', () => {
  it('no run printed the token in any form', () => {
    for (const scenario of SCENARIOS) {
      const outcome = outcomeOf(scenario.name);
      for (const run of [outcome.first, outcome.resumed]) if (run) assertNoSecret(run.lines.join('\n'), outcome.world.token, scenario.name);
    }
  });
});
