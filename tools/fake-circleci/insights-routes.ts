// Request handling of the Insights routes: query parameters as the spec defines them, the
// answer computed by insights.ts. The route entries themselves are in routes.ts.

import {
  DEFAULT_WINDOW,
  INSIGHTS_HORIZON_MS,
  insightsBranches,
  insightsFlakyTests,
  insightsJobs,
  insightsOrgSummary,
  insightsWorkflows,
  isReportingWindow,
  runsPage,
  type BranchScope,
  type ReportingWindow,
  type RunKey,
} from './insights.js';
import { errorBody, makePageToken, paginate, readPageToken, type RouteRequest, type RouteResponse } from './route-kit.js';
import type { World } from './world.js';

type Project = World['projects'][number];

function err(status: number, message: string): RouteResponse {
  return { status, body: errorBody(message) };
}

function isError(x: unknown): x is RouteResponse {
  return typeof x === 'object' && x !== null && 'status' in x && 'body' in x;
}

function project(req: RouteRequest, world: World): Project | RouteResponse {
  return world.projectBySlug(req.params.slug ?? '') ?? err(404, 'Project not found');
}

function reportingWindow(query: URLSearchParams): ReportingWindow | RouteResponse {
  const raw = query.get('reporting-window');
  if (raw === null || raw === '') return DEFAULT_WINDOW;
  if (!isReportingWindow(raw)) {
    return err(400, 'Invalid reporting-window: must be one of last-24-hours, last-7-days, last-30-days, last-60-days, last-90-days.');
  }
  return raw;
}

/**
 * `all-branches` or `branch`; neither means the project's default branch (the spec). The
 * spec says to use one OR the other: the fake refuses both at once rather than guess
 * which one the live API prefers.
 */
function branchScope(query: URLSearchParams, p: Project): BranchScope | RouteResponse {
  const all = query.get('all-branches');
  const branch = query.get('branch');
  if (all !== null && all !== 'true' && all !== 'false') return err(400, 'Invalid all-branches: must be true or false.');
  if (all === 'true') return branch ? err(400, 'Use either all-branches or branch, not both.') : null;
  return branch || p.defaultBranch;
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

function dateParam(query: URLSearchParams, name: string): string | undefined | RouteResponse {
  const raw = query.get(name);
  if (raw === null || raw === '') return undefined;
  if (!DATE_TIME.test(raw) || Number.isNaN(Date.parse(raw))) return err(400, `Invalid ${name}: must be an RFC 3339 date-time.`);
  return new Date(Date.parse(raw)).toISOString();
}

/** What a project's summary metrics are asked for: the project, the reporting window and the branches (or the error answer). */
function summaryRequest(req: RouteRequest, world: World): { p: Project; window: ReportingWindow; branch: BranchScope } | RouteResponse {
  const p = project(req, world);
  if (isError(p)) return p;
  const window = reportingWindow(req.query);
  if (isError(window)) return window;
  const branch = branchScope(req.query, p);
  if (isError(branch)) return branch;
  return { p, window, branch };
}

export function handleInsightsWorkflows(req: RouteRequest, world: World): RouteResponse {
  const asked = summaryRequest(req, world);
  if (isError(asked)) return asked;
  const { p, window, branch } = asked;
  const items = insightsWorkflows(world, p, window, branch);
  const scope = `insights-workflows:${p.id}:${window}:${branch ?? '*'}`;
  return paginate(world, scope, req.query, items, (x) => x.name as string, world.options.pageSize);
}

/**
 * Recent runs. An unknown workflow name is not an error: Insights finds no runs of it and
 * answers an empty page (the spec documents no 404 for it; the live API answers 200 with
 * no items for a name it has no runs of). An unknown project is 404 "Project not found".
 */
export function handleWorkflowRuns(req: RouteRequest, world: World): RouteResponse {
  const p = project(req, world);
  if (isError(p)) return p;
  const branch = branchScope(req.query, p);
  if (isError(branch)) return branch;
  const startDate = dateParam(req.query, 'start-date');
  if (isError(startDate)) return startDate;
  const endDate = dateParam(req.query, 'end-date');
  if (isError(endDate)) return endDate;
  if (endDate !== undefined) {
    if (startDate === undefined) return err(400, 'start-date must be specified if an end-date is provided.');
    const span = Date.parse(endDate) - Date.parse(startDate);
    if (span < 0) return err(400, 'end-date must not be before start-date.');
    if (span > INSIGHTS_HORIZON_MS) return err(400, 'end-date can be at most 90 days after the start-date.');
  }
  const name = req.params.workflowName ?? '';
  const scope = `insights-runs:${p.id}:${name}:${branch ?? '*'}:${startDate ?? ''}:${endDate ?? ''}`;
  const tok = readPageToken(world, scope, req.query);
  if (!tok.ok) return tok.response;
  let cursor: RunKey | undefined;
  if (tok.cursor !== undefined) {
    const [createdMs, n, idx] = tok.cursor.split('.').map(Number) as [number, number, number];
    if (![createdMs, n, idx].every(Number.isSafeInteger)) return err(404, 'Page token not found or expired.');
    cursor = { createdMs, n, idx };
  }
  const page = runsPage(world, p, name, { branch, startDate, endDate }, cursor, world.options.pageSize);
  const last = page.last;
  const next = page.more && last ? makePageToken(world, scope, `${last.createdMs}.${last.n}.${last.idx}`) : null;
  // The last page comes without any next_page_token key (live API, test/reference/README.md; the spec requires it).
  return { status: 200, body: next === null ? { items: page.items } : { items: page.items, next_page_token: next } };
}

export function handleInsightsJobs(req: RouteRequest, world: World): RouteResponse {
  const asked = summaryRequest(req, world);
  if (isError(asked)) return asked;
  const { p, window, branch } = asked;
  const name = req.params.workflowName ?? '';
  const jobName = req.query.get('job-name') || undefined;
  const items = insightsJobs(world, p, name, window, branch, jobName);
  const scope = `insights-jobs:${p.id}:${name}:${window}:${branch ?? '*'}:${jobName ?? ''}`;
  return paginate(world, scope, req.query, items, (x) => x.name as string, world.options.pageSize);
}

export function handleFlakyTests(req: RouteRequest, world: World): RouteResponse {
  const p = project(req, world);
  if (isError(p)) return p;
  return { status: 200, body: insightsFlakyTests(world, p) };
}

export function handleInsightsBranches(req: RouteRequest, world: World): RouteResponse {
  const p = project(req, world);
  if (isError(p)) return p;
  return { status: 200, body: insightsBranches(world, p, req.query.get('workflow-name') || undefined) };
}

/** `project-names` repeats (`?project-names=a&project-names=b`); unknown names match nothing. */
export function handleOrgSummary(req: RouteRequest, world: World): RouteResponse {
  const org = world.orgBySlug(req.params.orgSlug ?? '');
  if (!org) return err(404, 'Organization not found');
  const window = reportingWindow(req.query);
  if (isError(window)) return window;
  const names = req.query.getAll('project-names').filter((n) => n !== '');
  return { status: 200, body: insightsOrgSummary(world, org, window, names) };
}
