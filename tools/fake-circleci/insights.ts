// CircleCI Insights computed from the fake's world: recent runs of a workflow, summary
// metrics per workflow and per job, flaky tests, branches and the organization summary.
//
// Everything is derived per request from the same lazy workflows and jobs the pipeline,
// workflow and job routes serve (reruns and mutations included), so Insights and those
// routes never disagree. The live API refreshes summary metrics daily, so they may lag
// the last 24 hours; the fake ignores that delay and counts every run up to the world's
// `now` (recent runs are listed without delay on both).
//
// The *Truth functions are what the routes serve, computed the slow way (every workflow
// of the project, then filtered and sorted) for tests to compare with; the routes scan
// only the pipelines that can hold a matching run (see projectRunsSince).

import { DERIVED_WORKFLOW_LAG_MS, type JsonObject, type World } from './world.js';

type Project = World['projects'][number];
type Org = World['orgs'][number];
type Meta = ReturnType<World['workflowMetas']>[number];

const DAY = 86_400_000;
const MINUTE = 60_000;

/** Runs, summaries and branches go back at most 90 days (the spec, on each route). */
export const INSIGHTS_HORIZON_MS = 90 * DAY;
/** A test is no longer flaky after two weeks without a flake (the spec, flaky-tests). */
export const FLAKY_HORIZON_MS = 14 * DAY;
/** The spec caps the branch list at 5,000. */
export const MAX_BRANCHES = 5000;

export const REPORTING_WINDOWS = {
  'last-24-hours': 1,
  'last-7-days': 7,
  'last-30-days': 30,
  'last-60-days': 60,
  'last-90-days': 90,
} as const;
export type ReportingWindow = keyof typeof REPORTING_WINDOWS;
export const DEFAULT_WINDOW: ReportingWindow = 'last-90-days';

export function isReportingWindow(s: string): s is ReportingWindow {
  return Object.hasOwn(REPORTING_WINDOWS, s);
}

/** Which runs a query covers: one branch, or every branch (null). */
export type BranchScope = string | null;

export interface RunRange {
  branch: BranchScope;
  /** ISO; runs created at or after it. */
  startDate?: string;
  /** ISO; runs created before it. */
  endDate?: string;
}

// Credits per minute by resource class (CircleCI's published rates for these classes).
const CREDITS_PER_MINUTE: Record<string, number> = {
  small: 5,
  medium: 10,
  'medium+': 15,
  large: 20,
  xlarge: 40,
  'arm.medium': 10,
  'macos.m1.medium.gen1': 150,
};

// ---------------------------------------------------------------------------------------
// Facts about one workflow run
// ---------------------------------------------------------------------------------------

interface JobRun {
  name: string;
  status: string;
  startedMs: number | null;
  stoppedMs: number | null;
  credits: number;
}

function isFinal(status: string): boolean {
  return status === 'success' || status === 'failed';
}

function branchOf(world: World, m: Meta): string | undefined {
  return world.pipelineBranch(m.p, m.n);
}

function inScope(world: World, m: Meta, branch: BranchScope): boolean {
  return branch === null || branchOf(world, m) === branch;
}

/**
 * Credits of a job as its details (GET /project/{slug}/job/{number}) show it: its
 * resource class's rate per started minute; 0 while it runs. Approval jobs have none.
 */
function jobCredits(details: JsonObject | undefined): number {
  if (!details || typeof details.duration !== 'number') return 0;
  const rc = (details.executor as JsonObject).resource_class as string;
  return Math.ceil(details.duration / MINUTE) * (CREDITS_PER_MINUTE[rc] ?? 10);
}

/** Jobs of a run that have started (approval jobs included), with their credits. */
function jobRuns(world: World, m: Meta): JobRun[] {
  const jobs = world.jobRecords(m);
  const details = world.jobDetailsRecords(m);
  const out: JobRun[] = [];
  jobs.forEach((j, i) => {
    if (j.started_at === null) return;
    const started = Date.parse(j.started_at as string);
    const stopped = j.stopped_at === null ? null : Date.parse(j.stopped_at as string);
    out.push({ name: j.name as string, status: j.status as string, startedMs: started, stoppedMs: stopped, credits: jobCredits(details[i]) });
  });
  return out;
}

function creditsOf(world: World, m: Meta): number {
  return world.jobDetailsRecords(m).reduce((a, d) => a + jobCredits(d), 0);
}

function seconds(ms: number): number {
  return Math.round(ms / 1000);
}

/** An item of GET /insights/{project-slug}/workflows/{workflow-name}. */
export function runItem(world: World, m: Meta): JsonObject {
  const stopped = world.workflowStoppedMs(m);
  const branch = branchOf(world, m);
  const run: JsonObject = {
    id: world.workflowId(m.p, m.n, m.idx),
    duration: stopped === null ? null : seconds(stopped - m.createdMs),
    created_at: new Date(m.createdMs).toISOString(),
    stopped_at: stopped === null ? null : new Date(stopped).toISOString(),
    credits_used: creditsOf(world, m),
    status: world.workflowStatus(m),
  };
  // Runs of tag pipelines come without branch and is_approval, although the spec requires
  // both (live API, test/reference/README.md: the captured shape wins over the spec).
  if (branch === undefined) return run;
  // The spec describes is_approval as "if the job is an approval job"; for a workflow run
  // the fake reads it as "has an approval job".
  return { id: run.id!, branch, ...run, is_approval: m.template === 'approval' };
}

// ---------------------------------------------------------------------------------------
// Finding runs without walking a million workflows
// ---------------------------------------------------------------------------------------

/** The newest pipeline created at or before ms (0 if none); created_at grows with n. */
function lastPipelineAtOrBefore(world: World, p: Project, ms: number): number {
  let lo = 0;
  let hi = world.pipelineCount(p);
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (world.pipelineCreatedMs(p, mid) <= ms) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Order of runs: newest created_at first, then pipeline number and index, descending. */
export interface RunKey {
  createdMs: number;
  n: number;
  idx: number;
}

function keyOf(m: Meta): RunKey {
  return { createdMs: m.createdMs, n: m.n, idx: m.idx };
}

/** a comes after b in listing order (newest first). */
function after(a: RunKey, b: RunKey): boolean {
  if (a.createdMs !== b.createdMs) return a.createdMs < b.createdMs;
  if (a.n !== b.n) return a.n < b.n;
  return a.idx < b.idx;
}

/**
 * Visit the workflows of a project that may be created in [sinceMs, beforeMs]: the late
 * pipelines (reruns days after the pipeline) and the pipelines created in
 * [sinceMs - DERIVED_WORKFLOW_LAG_MS, beforeMs], newest first. `stopAt(n)` may end the
 * scan early once no older pipeline can matter.
 */
function visitRuns(
  world: World,
  p: Project,
  sinceMs: number,
  beforeMs: number,
  visit: (m: Meta) => void,
  stopAt: (pipelineCreatedMs: number) => boolean = () => false,
): void {
  const late = new Set(world.latePipelines(p));
  for (const n of late) for (const m of world.workflowMetas(p, n)) visit(m);
  for (let n = lastPipelineAtOrBefore(world, p, beforeMs); n >= 1; n--) {
    const created = world.pipelineCreatedMs(p, n);
    if (created + DERIVED_WORKFLOW_LAG_MS < sinceMs || stopAt(created)) break;
    if (late.has(n)) continue;
    for (const m of world.workflowMetas(p, n)) visit(m);
  }
}

/** Every workflow of a project created in [sinceMs, now] (any status). */
export function projectRunsSince(world: World, p: Project, sinceMs: number): Meta[] {
  const out: Meta[] = [];
  visitRuns(world, p, sinceMs, world.nowMs, (m) => {
    if (m.createdMs >= sinceMs && m.createdMs <= world.nowMs) out.push(m);
  });
  return out;
}

/** Every workflow of a project, the slow way (for truths). */
function allRuns(world: World, p: Project): Meta[] {
  const out: Meta[] = [];
  for (let n = world.pipelineCount(p); n >= 1; n--) out.push(...world.workflowMetas(p, n));
  return out;
}

interface RunFilter {
  name: string;
  branch: BranchScope;
  fromMs: number;
  /** Exclusive. */
  toMs: number;
}

function runFilter(world: World, name: string, range: RunRange): RunFilter {
  const start = range.startDate === undefined ? -Infinity : Date.parse(range.startDate);
  const end = range.endDate === undefined ? Infinity : Date.parse(range.endDate);
  return {
    name,
    branch: range.branch,
    fromMs: Math.max(world.nowMs - INSIGHTS_HORIZON_MS, start),
    toMs: Math.min(world.nowMs + 1, end),
  };
}

/**
 * Recent runs are completed runs: the status enum of the spec has no running, on_hold or
 * failing, so a workflow is listed once it has stopped.
 */
function listed(world: World, m: Meta, f: RunFilter): boolean {
  return (
    m.name === f.name &&
    m.createdMs >= f.fromMs &&
    m.createdMs < f.toMs &&
    isFinal(world.workflowStatus(m)) &&
    inScope(world, m, f.branch)
  );
}

/**
 * One page of recent runs after `cursor`, newest first. The spec says nothing about the
 * order ("Get recent runs of a workflow"); the fake lists newest first, as "recent runs"
 * suggests, with ties broken by pipeline number and workflow index (descending). A client
 * should select by start-date/end-date rather than rely on the order.
 */
export function runsPage(
  world: World,
  p: Project,
  name: string,
  range: RunRange,
  cursor: RunKey | undefined,
  size: number,
): { items: JsonObject[]; last: RunKey | undefined; more: boolean } {
  const f = runFilter(world, name, range);
  const upper = Math.min(f.toMs, cursor ? cursor.createdMs + 1 : Infinity);
  const best: Meta[] = []; // the size+1 first in listing order, sorted
  const consider = (m: Meta): void => {
    if (!listed(world, m, f)) return;
    if (cursor && !after(keyOf(m), cursor)) return;
    if (best.some((b) => b.n === m.n && b.idx === m.idx)) return;
    let at = best.length;
    while (at > 0 && after(keyOf(best[at - 1] as Meta), keyOf(m))) at--;
    if (at > size) return;
    best.splice(at, 0, m);
    if (best.length > size + 1) best.pop();
  };
  visitRuns(world, p, f.fromMs, upper, consider, (created) => {
    const worst = best[size];
    return worst !== undefined && created + DERIVED_WORKFLOW_LAG_MS < worst.createdMs;
  });
  const page = best.slice(0, size);
  const lastMeta = page[page.length - 1];
  return { items: page.map((m) => runItem(world, m)), last: lastMeta ? keyOf(lastMeta) : undefined, more: best.length > size };
}

/** Every recent run of a workflow name, as the route lists them over all pages. */
export function workflowRunsTruth(world: World, slug: string, name: string, range: RunRange): JsonObject[] {
  const p = requireProject(world, slug);
  const f = runFilter(world, name, range);
  return allRuns(world, p)
    .filter((m) => listed(world, m, f))
    .sort((a, b) => (after(keyOf(a), keyOf(b)) ? 1 : -1))
    .map((m) => runItem(world, m));
}

// ---------------------------------------------------------------------------------------
// Summary metrics
// ---------------------------------------------------------------------------------------

function durationMetrics(values: number[]): JsonObject {
  if (values.length === 0) return { min: null, mean: null, median: null, p95: null, max: null, standard_deviation: null };
  const s = [...values].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  const variance = s.reduce((a, b) => a + (b - mean) ** 2, 0) / s.length;
  return {
    min: s[0] as number,
    mean: Math.round(mean),
    median: s[Math.floor((s.length - 1) / 2)] as number,
    p95: s[Math.ceil(0.95 * s.length) - 1] as number,
    max: s[s.length - 1] as number,
    standard_deviation: Math.round(Math.sqrt(variance) * 1000) / 1000,
  };
}

function rate(part: number, whole: number): number {
  return whole === 0 ? 0 : Math.round((part / whole) * 10000) / 10000;
}

function windowMs(window: ReportingWindow): number {
  return REPORTING_WINDOWS[window] * DAY;
}

/** Runs of a project in a reporting window, [now - window, now], the slow or the fast way. */
function windowRuns(world: World, p: Project, window: ReportingWindow, slow: boolean): Meta[] {
  return runsBetween(world, p, world.nowMs - windowMs(window), world.nowMs + 1, slow);
}

function isoRange(ms: number[]): { window_start: string; window_end: string } {
  return { window_start: new Date(Math.min(...ms)).toISOString(), window_end: new Date(Math.max(...ms)).toISOString() };
}

/** Recoveries: a failed run followed (in creation order) by a success. */
function recoveries(world: World, runs: Meta[]): number[] {
  const finished = runs.filter((m) => isFinal(world.workflowStatus(m))).sort((a, b) => a.createdMs - b.createdMs);
  const out: number[] = [];
  let failedAt: number | null = null;
  for (const m of finished) {
    const stopped = world.workflowStoppedMs(m) as number;
    if (world.workflowStatus(m) === 'failed') failedAt ??= stopped;
    else if (failedAt !== null) {
      out.push(Math.max(0, stopped - failedAt));
      failedAt = null;
    }
  }
  return out;
}

/** Items grouped by name, in order of name: one summary per name. */
function byName<T extends { name: string }>(items: readonly T[]): Array<[string, T[]]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const list = groups.get(item.name);
    if (list) list.push(item);
    else groups.set(item.name, [item]);
  }
  return [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
}

/** Runs per day over the window, to four decimals. */
function throughput(runs: number, window: ReportingWindow): number {
  return Math.round((runs / REPORTING_WINDOWS[window]) * 10000) / 10000;
}

function workflowSummaries(world: World, p: Project, window: ReportingWindow, branch: BranchScope, slow: boolean): JsonObject[] {
  const runsInScope = windowRuns(world, p, window, slow).filter((m) => inScope(world, m, branch));
  return byName(runsInScope).map(([name, runs]) => {
    const statuses = runs.map((m) => world.workflowStatus(m));
    const durations = runs.flatMap((m) => {
      const stopped = world.workflowStoppedMs(m);
      return stopped === null ? [] : [seconds(stopped - m.createdMs)];
    });
    const rec = recoveries(world, runs);
    const successful = statuses.filter((s) => s === 'success').length;
    return {
      name,
      metrics: {
        total_runs: runs.length,
        successful_runs: successful,
        mttr: rec.length === 0 ? null : seconds(rec.reduce((a, b) => a + b, 0) / rec.length),
        total_credits_used: runs.reduce((a, m) => a + creditsOf(world, m), 0),
        failed_runs: statuses.filter((s) => s === 'failed').length,
        success_rate: rate(successful, runs.length),
        duration_metrics: durationMetrics(durations),
        total_recoveries: rec.length,
        throughput: throughput(runs.length, window),
      },
      ...isoRange(runs.map((m) => m.createdMs)),
      project_id: p.id,
    };
  });
}

/** Items of GET /insights/{project-slug}/workflows over all pages (ordered by name). */
export function insightsWorkflowsTruth(world: World, slug: string, window: ReportingWindow, branch: BranchScope): JsonObject[] {
  return workflowSummaries(world, requireProject(world, slug), window, branch, true);
}

export function insightsWorkflows(world: World, p: Project, window: ReportingWindow, branch: BranchScope): JsonObject[] {
  return workflowSummaries(world, p, window, branch, false);
}

function jobSummaries(
  world: World,
  p: Project,
  workflowName: string,
  window: ReportingWindow,
  branch: BranchScope,
  jobName: string | undefined,
  slow: boolean,
): JsonObject[] {
  const jobs = windowRuns(world, p, window, slow)
    .filter((m) => m.name === workflowName && inScope(world, m, branch))
    .flatMap((m) => jobRuns(world, m))
    // job-name: the full name or a substring of it (the spec).
    .filter((j) => jobName === undefined || j.name.includes(jobName));
  return byName(jobs).map(([name, runs]) => {
    const successful = runs.filter((j) => j.status === 'success').length;
    return {
      name,
      metrics: {
        total_runs: runs.length,
        failed_runs: runs.filter((j) => j.status === 'failed').length,
        successful_runs: successful,
        duration_metrics: durationMetrics(
          runs.flatMap((j) => (j.stoppedMs === null ? [] : [seconds(j.stoppedMs - (j.startedMs as number))])),
        ),
        success_rate: rate(successful, runs.length),
        total_credits_used: runs.reduce((a, j) => a + j.credits, 0),
        throughput: throughput(runs.length, window),
      },
      ...isoRange(runs.map((j) => j.startedMs as number)),
    };
  });
}

/** Items of GET /insights/{project-slug}/workflows/{workflow-name}/jobs over all pages. */
export function insightsJobsTruth(
  world: World,
  slug: string,
  workflowName: string,
  window: ReportingWindow,
  branch: BranchScope,
  jobName?: string,
): JsonObject[] {
  return jobSummaries(world, requireProject(world, slug), workflowName, window, branch, jobName, true);
}

export function insightsJobs(
  world: World,
  p: Project,
  workflowName: string,
  window: ReportingWindow,
  branch: BranchScope,
  jobName: string | undefined,
): JsonObject[] {
  return jobSummaries(world, p, workflowName, window, branch, jobName, false);
}

// ---------------------------------------------------------------------------------------
// Flaky tests
// ---------------------------------------------------------------------------------------

interface Flake {
  failures: number;
  passed: boolean;
  wastedSeconds: number;
  latest: { m: Meta; jobNumber: number; jobName: string };
  test: JsonObject;
}

/**
 * Flaky tests: a test that both failed and passed in the same commit (pipeline), within
 * one job (a retried test) or across the jobs of the same name of its workflows (a
 * rerun). One item per such instance (the spec: "a list of all instances of flakes"),
 * newest first; only instances of the last two weeks count, as a test is no longer flaky
 * after two weeks without a flake. `time-wasted` (unit unspecified by the spec) is the
 * seconds spent on the failed attempts.
 */
function flakyTests(world: World, p: Project, slow: boolean): JsonObject {
  const since = world.nowMs - FLAKY_HORIZON_MS;
  const runs = (slow ? allRuns(world, p) : projectRunsSince(world, p, since)).filter(
    (m) => m.createdMs >= since && m.createdMs <= world.nowMs,
  );
  const groups = new Map<string, Flake>();
  for (const m of runs) {
    world.jobRecords(m).forEach((job, j) => {
      if (job.job_number === undefined) return;
      for (const t of world.testItems(m, j)) {
        if (t.result !== 'success' && t.result !== 'failure') continue;
        const key = JSON.stringify([m.n, m.name, job.name, t.source, t.file, t.classname, t.name]);
        const g = groups.get(key) ?? {
          failures: 0,
          passed: false,
          wastedSeconds: 0,
          latest: { m, jobNumber: job.job_number as number, jobName: job.name as string },
          test: t,
        };
        if (t.result === 'failure') {
          g.failures++;
          g.wastedSeconds += t.run_time as number;
        } else g.passed = true;
        if (after(keyOf(g.latest.m), keyOf(m))) g.latest = { m, jobNumber: job.job_number as number, jobName: job.name as string };
        groups.set(key, g);
      }
    });
  }
  const flakes = [...groups.values()].filter((g) => g.failures > 0 && g.passed);
  flakes.sort(
    (a, b) =>
      (after(keyOf(a.latest.m), keyOf(b.latest.m)) ? 1 : after(keyOf(b.latest.m), keyOf(a.latest.m)) ? -1 : 0) ||
      a.latest.jobNumber - b.latest.jobNumber ||
      String(a.test.name).localeCompare(String(b.test.name)),
  );
  const unique = new Set(flakes.map((g) => JSON.stringify([g.test.source, g.test.file, g.test.classname, g.test.name])));
  return {
    'flaky-tests': flakes.map((g) => ({
      'time-wasted': Math.round(g.wastedSeconds),
      'workflow-created-at': new Date(g.latest.m.createdMs).toISOString(),
      'workflow-id': world.workflowId(p, g.latest.m.n, g.latest.m.idx),
      classname: g.test.classname as string,
      'pipeline-number': g.latest.m.n,
      'workflow-name': g.latest.m.name,
      'test-name': g.test.name as string,
      'job-name': g.latest.jobName,
      'job-number': g.latest.jobNumber,
      'times-flaked': g.failures,
      source: g.test.source as string,
      file: g.test.file as string,
    })),
    'total-flaky-tests': unique.size,
  };
}

/** The body of GET /insights/{project-slug}/flaky-tests. */
export function flakyTestsTruth(world: World, slug: string): JsonObject {
  return flakyTests(world, requireProject(world, slug), true);
}

export function insightsFlakyTests(world: World, p: Project): JsonObject {
  return flakyTests(world, p, false);
}

// ---------------------------------------------------------------------------------------
// Branches and the organization summary
// ---------------------------------------------------------------------------------------

function branches(world: World, p: Project, workflowName: string | undefined, slow: boolean): JsonObject {
  const since = world.nowMs - INSIGHTS_HORIZON_MS;
  const runs = slow ? allRuns(world, p) : projectRunsSince(world, p, since);
  const names = new Set<string>();
  for (const m of runs) {
    if (m.createdMs < since || m.createdMs > world.nowMs) continue;
    if (workflowName !== undefined && m.name !== workflowName) continue;
    const b = branchOf(world, m);
    if (b !== undefined) names.add(b);
  }
  return { org_id: p.org.id, project_id: p.id, branches: [...names].sort().slice(0, MAX_BRANCHES) };
}

/** The body of GET /insights/{project-slug}/branches. */
export function insightsBranchesTruth(world: World, slug: string, workflowName?: string): JsonObject {
  return branches(world, requireProject(world, slug), workflowName, true);
}

export function insightsBranches(world: World, p: Project, workflowName: string | undefined): JsonObject {
  return branches(world, p, workflowName, false);
}

interface Totals {
  total_runs: number;
  total_duration_secs: number;
  total_credits_used: number;
  success_rate: number;
  throughput: number;
}

/** Sums over runs: count, successes, seconds of finished runs, credits. */
interface Sums {
  runs: number;
  successful: number;
  seconds: number;
  credits: number;
}

function sums(world: World, runs: Meta[]): Sums {
  const out: Sums = { runs: runs.length, successful: 0, seconds: 0, credits: 0 };
  for (const m of runs) {
    const stopped = world.workflowStoppedMs(m);
    if (stopped !== null) out.seconds += seconds(stopped - m.createdMs);
    out.credits += creditsOf(world, m);
    if (world.workflowStatus(m) === 'success') out.successful++;
  }
  return out;
}

function add(a: Sums, b: Sums): Sums {
  return { runs: a.runs + b.runs, successful: a.successful + b.successful, seconds: a.seconds + b.seconds, credits: a.credits + b.credits };
}

function totals(s: Sums, days: number): Totals {
  return {
    total_runs: s.runs,
    total_duration_secs: s.seconds,
    total_credits_used: s.credits,
    success_rate: rate(s.successful, s.runs),
    throughput: Math.round((s.runs / days) * 10000) / 10000,
  };
}

/** Relative change from the previous window of the same length (0 when it had nothing). */
function trend(now: number, before: number): number {
  return before === 0 ? 0 : Math.round(((now - before) / before) * 10000) / 10000;
}

function trends(a: Totals, b: Totals): Totals {
  return {
    total_runs: trend(a.total_runs, b.total_runs),
    total_duration_secs: trend(a.total_duration_secs, b.total_duration_secs),
    total_credits_used: trend(a.total_credits_used, b.total_credits_used),
    success_rate: trend(a.success_rate, b.success_rate),
    throughput: trend(a.throughput, b.throughput),
  };
}

/** Workflows of a project created in [fromMs, toMs). */
function runsBetween(world: World, p: Project, fromMs: number, toMs: number, slow: boolean): Meta[] {
  const inRange = (m: Meta): boolean => m.createdMs >= fromMs && m.createdMs < toMs;
  if (slow) return allRuns(world, p).filter(inRange);
  const out: Meta[] = [];
  visitRuns(world, p, fromMs, toMs, (m) => {
    if (inRange(m)) out.push(m);
  });
  return out;
}

/** Trends compare the window with the window of the same length just before it. */
function orgSummary(world: World, org: Org, window: ReportingWindow, projectNames: readonly string[], slow: boolean): JsonObject {
  const days = REPORTING_WINDOWS[window];
  const w = windowMs(window);
  const now = world.nowMs;
  const selected = projectNames.length === 0 ? org.projects : org.projects.filter((p) => projectNames.includes(p.name));
  const zero: Sums = { runs: 0, successful: 0, seconds: 0, credits: 0 };
  const perProject = selected.map((p) => ({
    p,
    current: sums(world, windowRuns(world, p, window, slow)),
    previous: sums(world, runsBetween(world, p, now - 2 * w, now - w, slow)),
  }));
  const cur = totals(perProject.reduce((a, x) => add(a, x.current), zero), days);
  const prev = totals(perProject.reduce((a, x) => add(a, x.previous), zero), days);
  return {
    org_data: { metrics: { ...cur }, trends: { ...trends(cur, prev) } },
    org_project_data: perProject.map(({ p, current, previous }) => {
      const c = totals(current, days);
      const t = trends(c, totals(previous, days));
      return {
        project_name: p.name,
        metrics: {
          total_credits_used: c.total_credits_used,
          total_duration_secs: c.total_duration_secs,
          total_runs: c.total_runs,
          success_rate: c.success_rate,
        },
        trends: {
          total_credits_used: t.total_credits_used,
          total_duration_secs: t.total_duration_secs,
          total_runs: t.total_runs,
          success_rate: t.success_rate,
        },
      };
    }),
    all_projects: org.projects.map((p) => p.name),
  };
}

/** The body of GET /insights/{org-slug}/summary. */
export function orgSummaryTruth(world: World, orgSlug: string, window: ReportingWindow, projectNames: readonly string[] = []): JsonObject {
  const org = world.orgBySlug(orgSlug);
  if (!org) throw new Error(`unknown organization ${orgSlug}`);
  return orgSummary(world, org, window, projectNames, true);
}

export function insightsOrgSummary(world: World, org: Org, window: ReportingWindow, projectNames: readonly string[]): JsonObject {
  return orgSummary(world, org, window, projectNames, false);
}

function requireProject(world: World, slug: string): Project {
  const p = world.projectBySlug(slug);
  if (!p) throw new Error(`unknown project ${slug}`);
  return p;
}
