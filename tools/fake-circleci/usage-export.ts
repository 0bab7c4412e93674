// The usage export of the fake world: POST /organizations/{org_id}/usage_export_job starts
// a job, GET …/usage_export_job/{id} polls it (created → processing → completed, or
// failed, or processing for ever), and a completed job gives pre-signed-style URLs of
// gzip-compressed CSV files, one per project, that the same fake serves under
// /usage-files/ (in real life they are on another host, S3).
//
// Rows are derived from the world's jobs when a file is requested, for the export's
// window only (a binary search over the pipelines of each project), so a million-job
// world computes nothing until a file is downloaded, and then only that window.
//
// Facts followed (see /work/shared/reference/README.md, "Usage export"): a window of at
// most 32 days, starting within the last 13 months (the spec's descriptions say "no more
// than one year ago" and "31 days after start"; the live-API fact from CircleCI's support
// pages wins), at most 10 POSTs per hour per organization; data is refreshed daily
// through the previous full day (CircleCI changelog, "Usage API"), so only job runs that
// stopped before the UTC day of the export's creation are in it.

import { gzipSync } from 'node:zlib';
import { hashStr, hex40, hashInts, between, unit, uuidFrom, mac } from './hash.js';
import type { JsonObject, World } from './world.js';

type Org = World['orgs'][number];
type Project = World['projects'][number];
type WorkflowMeta = ReturnType<World['workflowMetas']>[number];

const DAY = 86_400_000;
const HOUR = 3_600_000;
const MINUTE = 60_000;
const T = { job: 201, sign: 202, row: 203, project: 204, org: 205 } as const;

/**
 * CSV columns, in file order. CircleCI's usage API page lists the documented columns;
 * files seen in the wild (public scripts that read them, e.g. CircleCI's own usage
 * example and ingestion schemas) also carry ORGANIZATION_CREATED_DATE,
 * PROJECT_CREATED_DATE and LAST_BUILD_FINISHED_AT, and JOB_RUN_QUEUED_AT, JOB_RUN_STARTED_AT,
 * JOB_RUN_STOPPED_AT were added after JOB_RUN_DATE in August 2024 (CircleCI changelog,
 * "New fields being introduced to Usage API"). The fake serves that full set: a reader
 * must go by the header, not by position.
 */
export const USAGE_COLUMNS = [
  'ORGANIZATION_ID',
  'ORGANIZATION_NAME',
  'ORGANIZATION_CREATED_DATE',
  'PROJECT_ID',
  'PROJECT_NAME',
  'PROJECT_CREATED_DATE',
  'LAST_BUILD_FINISHED_AT',
  'VCS_NAME',
  'VCS_URL',
  'VCS_BRANCH',
  'PIPELINE_ID',
  'PIPELINE_CREATED_AT',
  'PIPELINE_NUMBER',
  'IS_UNREGISTERED_USER',
  'PIPELINE_TRIGGER_SOURCE',
  'PIPELINE_TRIGGER_USER_ID',
  'WORKFLOW_ID',
  'WORKFLOW_NAME',
  'WORKFLOW_FIRST_JOB_QUEUED_AT',
  'WORKFLOW_FIRST_JOB_STARTED_AT',
  'WORKFLOW_STOPPED_AT',
  'IS_WORKFLOW_SUCCESSFUL',
  'JOB_NAME',
  'JOB_RUN_NUMBER',
  'JOB_ID',
  'JOB_RUN_DATE',
  'JOB_RUN_QUEUED_AT',
  'JOB_RUN_STARTED_AT',
  'JOB_RUN_STOPPED_AT',
  'JOB_BUILD_STATUS',
  'RESOURCE_CLASS',
  'OPERATING_SYSTEM',
  'EXECUTOR',
  'PARALLELISM',
  'JOB_RUN_SECONDS',
  'MEDIAN_CPU_UTILIZATION_PCT',
  'MAX_CPU_UTILIZATION_PCT',
  'MEDIAN_RAM_UTILIZATION_PCT',
  'MAX_RAM_UTILIZATION_PCT',
  'COMPUTE_CREDITS',
  'DLC_CREDITS',
  'USER_CREDITS',
  'STORAGE_CREDITS',
  'NETWORK_CREDITS',
  'LEASE_CREDITS',
  'LEASE_OVERAGE_CREDITS',
  'IPRANGES_CREDITS',
  'TOTAL_CREDITS',
] as const;

export type UsageColumn = (typeof USAGE_COLUMNS)[number];
/** A parsed row: every column, null where the file says `\N`. */
export type UsageRow = Record<UsageColumn, string | null>;

// ---------------------------------------------------------------------------------------
// Options and per-world state
// ---------------------------------------------------------------------------------------

export interface UsageExportOptions {
  /** GET polls answered `created` before a job is `processing`. Default 1. */
  createdPolls: number;
  /** GET polls answered `processing` before a job ends. Default 1. */
  processingPolls: number;
  /** A job also ends once this much world time passed since its creation. */
  completeAfterMs?: number;
  /** How jobs created from now on end: `complete`, `fail`, or `stuck` (processing for ever). */
  outcome: 'complete' | 'fail' | 'stuck';
  /** Lifetime of a download URL (X-Amz-Expires), seconds of world time. Default 3600. */
  urlTtlSeconds: number;
  /** POSTs per organization per hour of world time. Default 10. */
  postsPerHour: number;
  /** Organizations (ids) whose jobs never end (processing for ever), whatever `outcome` says. Default none. */
  stuckOrganizations: readonly string[];
  /** Organizations (ids) without the usage export: a POST answers 404, as an installation or organization without the usage API does. Default none. */
  unavailableOrganizations: readonly string[];
}

const DEFAULTS: UsageExportOptions = {
  createdPolls: 1,
  processingPolls: 1,
  outcome: 'complete',
  urlTtlSeconds: 3600,
  postsPerHour: 10,
  stuckOrganizations: [],
  unavailableOrganizations: [],
};

export interface UsageExportJob {
  id: string;
  orgIds: string[];
  startMs: number;
  endMs: number;
  createdMs: number;
  polls: number;
  outcome: UsageExportOptions['outcome'];
  completeAfterMs?: number;
  createdPolls: number;
  processingPolls: number;
}

interface UsageState {
  options: UsageExportOptions;
  jobs: Map<string, UsageExportJob>;
  posts: Map<string, number[]>;
  created: number;
  /** X-Amz-Signature of every download URL handed out. */
  signatures: Set<string>;
}

const states = new WeakMap<World, UsageState>();

function stateOf(world: World): UsageState {
  let s = states.get(world);
  if (!s) {
    s = { options: { ...DEFAULTS }, jobs: new Map(), posts: new Map(), created: 0, signatures: new Set() };
    states.set(world, s);
  }
  return s;
}

/** Set how this world's export jobs behave (applies to jobs created afterwards). */
export function configureUsageExport(world: World, options: Partial<UsageExportOptions>): UsageExportOptions {
  const s = stateOf(world);
  s.options = { ...s.options, ...options };
  return { ...s.options };
}

/** The export jobs created so far (for tests: state and poll counts). */
export function usageExportJobs(world: World): UsageExportJob[] {
  return [...stateOf(world).jobs.values()].map((j) => ({ ...j, orgIds: [...j.orgIds] }));
}

export type ExportState = 'created' | 'processing' | 'completed' | 'failed';

function stateAfter(world: World, job: UsageExportJob): ExportState {
  const ended =
    job.outcome !== 'stuck' &&
    (job.polls > job.createdPolls + job.processingPolls ||
      (job.completeAfterMs !== undefined && world.nowMs - job.createdMs >= job.completeAfterMs));
  if (ended) return job.outcome === 'fail' ? 'failed' : 'completed';
  return job.polls <= job.createdPolls ? 'created' : 'processing';
}

// ---------------------------------------------------------------------------------------
// Validation of a request
// ---------------------------------------------------------------------------------------

export type CreateResult =
  | { ok: true; job: UsageExportJob }
  | { ok: false; status: 400 | 404 | 429; message: string; retryAfterSeconds?: number };

function monthsBefore(ms: number, months: number): number {
  const d = new Date(ms);
  d.setUTCMonth(d.getUTCMonth() - months);
  return d.getTime();
}

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Create an export job from a POST body (raw text), or say why not. */
export function createUsageExport(world: World, orgId: string, rawBody: string | undefined): CreateResult {
  const s = stateOf(world);
  const org = world.orgById(orgId);
  if (!org) return { ok: false, status: 404, message: 'Organization does not exist.' };
  if (s.options.unavailableOrganizations.includes(org.id)) return { ok: false, status: 404, message: 'Not Found' };
  // The limit counts requests, accepted or not, in the hour of world time before now.
  const posts = (s.posts.get(org.id) ?? []).filter((t) => world.nowMs - t < HOUR);
  if (posts.length >= s.options.postsPerHour) {
    const oldest = posts[0] as number;
    s.posts.set(org.id, posts);
    return { ok: false, status: 429, message: 'Rate limit exceeded.', retryAfterSeconds: Math.max(1, Math.ceil((oldest + HOUR - world.nowMs) / 1000)) };
  }
  posts.push(world.nowMs);
  s.posts.set(org.id, posts);

  const bad = (message = 'Unexpected request body provided.'): CreateResult => ({ ok: false, status: 400, message });
  let body: unknown;
  try {
    body = JSON.parse(rawBody ?? '');
  } catch {
    return bad();
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return bad();
  const b = body as Record<string, unknown>;
  // The request schema is closed (additionalProperties: false).
  if (Object.keys(b).some((k) => k !== 'start' && k !== 'end' && k !== 'shared_org_ids')) return bad();
  if (typeof b.start !== 'string' || !ISO_DATE_TIME.test(b.start) || Number.isNaN(Date.parse(b.start))) {
    return bad('start must be an ISO 8601 date-time.');
  }
  if (typeof b.end !== 'string' || !ISO_DATE_TIME.test(b.end) || Number.isNaN(Date.parse(b.end))) {
    return bad('end must be an ISO 8601 date-time.');
  }
  const orgIds = [org.id];
  if (b.shared_org_ids !== undefined) {
    if (!Array.isArray(b.shared_org_ids) || b.shared_org_ids.some((x) => typeof x !== 'string' || !UUID_RE.test(x))) return bad();
    for (const id of b.shared_org_ids as string[]) {
      const shared = world.orgById(id);
      if (!shared) return { ok: false, status: 404, message: 'Organization does not exist.' };
      if (!orgIds.includes(shared.id)) orgIds.push(shared.id);
    }
  }
  const startMs = Date.parse(b.start);
  const endMs = Date.parse(b.end);
  if (endMs < startMs) return bad('end must not be before start.');
  if (endMs - startMs > 32 * DAY) return bad('The date range must be 32 days or less.');
  if (startMs < monthsBefore(world.nowMs, 13)) return bad('start must be within the last 13 months.');

  s.created += 1;
  const job: UsageExportJob = {
    id: uuidFrom(keyOf(world), T.job, s.created),
    orgIds,
    startMs,
    endMs,
    createdMs: world.nowMs,
    polls: 0,
    outcome: s.options.stuckOrganizations.includes(org.id) ? 'stuck' : s.options.outcome,
    completeAfterMs: s.options.completeAfterMs,
    createdPolls: s.options.createdPolls,
    processingPolls: s.options.processingPolls,
  };
  s.jobs.set(job.id, job);
  return { ok: true, job };
}

function keyOf(world: World): number {
  return hashStr(`fake-circleci:usage:${world.seed}`);
}

/** The job of an organization with this id, if any. */
export function findUsageExport(world: World, orgId: string, id: string): UsageExportJob | undefined {
  const job = stateOf(world).jobs.get(id.toLowerCase());
  const org = world.orgById(orgId);
  return job && org && job.orgIds[0] === org.id ? job : undefined;
}

/** Count one GET poll and answer the job's state after it. */
export function pollUsageExport(world: World, job: UsageExportJob): ExportState {
  job.polls += 1;
  return stateAfter(world, job);
}

// ---------------------------------------------------------------------------------------
// Download URLs (pre-signed style, signed with a world secret, valid for world time)
// ---------------------------------------------------------------------------------------

export const USAGE_FILES_PREFIX = '/usage-files';

function amzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

function parseAmzDate(s: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return NaN;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

function signature(world: World, jobId: string, file: number, date: string, expires: string): string {
  return mac(`usage-files:${hex40(keyOf(world), T.sign)}`, `${jobId}/${file}/${date}/${expires}`);
}

/** Number of files of a job: one per project of its organizations (at least one). */
export function usageFileCount(world: World, job: UsageExportJob): number {
  return Math.max(1, projectsOf(world, job.orgIds).length);
}

/** Download URLs of a completed job, signed now (world time), under `baseUrl`. */
export function usageDownloadUrls(world: World, job: UsageExportJob, baseUrl: string): string[] {
  const s = stateOf(world);
  const date = amzDate(world.nowMs);
  const expires = String(s.options.urlTtlSeconds);
  const base = baseUrl.replace(/\/+$/, '');
  return Array.from({ length: usageFileCount(world, job) }, (_, k) => {
    const sig = signature(world, job.id, k, date, expires);
    s.signatures.add(sig);
    const q = new URLSearchParams({
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': `FAKEACCESSKEY/${date.slice(0, 8)}/us-east-1/s3/aws4_request`,
      'X-Amz-Date': date,
      'X-Amz-Expires': expires,
      'X-Amz-SignedHeaders': 'host',
      'X-Amz-Signature': sig,
    });
    return `${base}${USAGE_FILES_PREFIX}/${job.id}/${k}.csv.gz?${q.toString()}`;
  });
}

/**
 * The signatures of every download URL handed out so far: a pre-signed URL grants access
 * to the file until it expires, so it belongs in no connector output either.
 */
export function usageUrlSecrets(world: World): string[] {
  return [...stateOf(world).signatures];
}

export type FileResult = { ok: true; bytes: Buffer } | { ok: false; status: 400 | 403 | 404; code: string; message: string };

/**
 * Serve file `file` of job `jobId` for a request with this query and these headers. The
 * answers follow S3's for pre-signed URLs: 403 when the signature does not match or the URL
 * expired, 404 for a key that does not exist. Stricter than S3 on purpose: a request that
 * carries a CircleCI token (Circle-Token or Authorization) is refused with 400, so tests
 * prove a connector never sends its token to the file host.
 */
export function usageFile(
  world: World,
  jobId: string,
  file: number,
  query: URLSearchParams,
  headers: Record<string, string | undefined>,
): FileResult {
  if (headers['circle-token'] !== undefined || headers.authorization !== undefined) {
    return { ok: false, status: 400, code: 'InvalidArgument', message: 'Only one auth mechanism allowed; a CircleCI token must not be sent to the file host.' };
  }
  const date = query.get('X-Amz-Date') ?? '';
  const expires = query.get('X-Amz-Expires') ?? '';
  const sig = query.get('X-Amz-Signature') ?? '';
  if (sig === '' || date === '' || expires === '') {
    return { ok: false, status: 403, code: 'AccessDenied', message: 'Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters' };
  }
  if (sig !== signature(world, jobId.toLowerCase(), file, date, expires)) {
    return { ok: false, status: 403, code: 'SignatureDoesNotMatch', message: 'The request signature we calculated does not match the signature you provided.' };
  }
  if (world.nowMs > parseAmzDate(date) + Number(expires) * 1000) {
    return { ok: false, status: 403, code: 'AccessDenied', message: 'Request has expired' };
  }
  const job = stateOf(world).jobs.get(jobId.toLowerCase());
  if (!job || stateAfter(world, job) !== 'completed' || file >= usageFileCount(world, job)) {
    return { ok: false, status: 404, code: 'NoSuchKey', message: 'The specified key does not exist.' };
  }
  const project = projectsOf(world, job.orgIds)[file];
  const rows = project ? projectRows(world, project, job.startMs, job.endMs, cutoffOf(job.createdMs)) : [];
  return { ok: true, bytes: gzipSync(Buffer.from(toCsv(rows), 'utf8')) };
}

export function s3ErrorXml(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>FAKE</RequestId></Error>`;
}

// ---------------------------------------------------------------------------------------
// Rows
// ---------------------------------------------------------------------------------------

function projectsOf(world: World, orgIds: readonly string[]): Project[] {
  return orgIds.flatMap((id) => world.orgById(id)?.projects ?? []);
}

/** Data is refreshed through the previous full UTC day. */
function cutoffOf(createdMs: number): number {
  return Math.floor(createdMs / DAY) * DAY;
}

/** Usage timestamps are UTC without zone, milliseconds, as the files have them. */
function ts(ms: number | null): string | null {
  if (ms === null) return null;
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

/** A generous bound on how long after its pipeline's creation a job of it can start. */
function startLagMs(world: World): number {
  return 6 * HOUR + 2 * world.options.jobsPerWorkflow * 6 * MINUTE + 5 * MINUTE;
}

/** First pipeline number of p created at or after t (count + 1 when none). */
function firstPipelineAtOrAfter(world: World, p: Project, t: number): number {
  let lo = 1;
  let hi = world.pipelineCount(p) + 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (world.pipelineCreatedMs(p, mid) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The workflows whose jobs may start within [startMs, endMs]: found per window, lazily. */
function* windowWorkflows(world: World, p: Project, startMs: number, endMs: number): Generator<WorkflowMeta> {
  const count = world.pipelineCount(p);
  const from = firstPipelineAtOrAfter(world, p, startMs - startLagMs(world));
  // explicit reruns of older pipelines start long after their pipeline was created
  const older = [...p.reruns.keys()].filter((n) => n < from).sort((a, b) => a - b);
  for (const n of older) yield* p.reruns.get(n) ?? [];
  for (let n = from; n <= count && world.pipelineCreatedMs(p, n) <= endMs; n++) yield* world.workflowMetas(p, n);
}

function projectCreatedMs(world: World, p: Project): number {
  const first = world.pipelineCount(p) > 0 ? world.pipelineCreatedMs(p, 1) : world.epochMs;
  return first - between(hashInts(keyOf(world), T.project, p.gIdx), 1, 60) * DAY;
}

function orgCreatedMs(world: World, org: Org): number {
  const firsts = org.projects.map((p) => projectCreatedMs(world, p));
  return Math.min(world.epochMs, ...firsts) - between(hashInts(keyOf(world), T.org, org.index), 1, 200) * DAY;
}

/** Newest job stop of a project known at `asOfMs` (a scan down from its newest pipeline). */
function lastBuildFinishedMs(world: World, p: Project, asOfMs: number): number | null {
  let best: number | null = null;
  for (let n = world.pipelineCount(p), seen = 0; n >= 1 && seen < 50; n--, seen++) {
    for (const m of world.workflowMetas(p, n)) {
      const stopped = world.workflowStoppedMs(m);
      if (stopped !== null && stopped < asOfMs && (best === null || stopped > best)) best = stopped;
    }
    if (best !== null && world.pipelineCreatedMs(p, n) < best - DAY) break;
  }
  return best;
}

const RATE_PER_MINUTE: Record<string, number> = {
  small: 5,
  medium: 10,
  'medium+': 15,
  large: 20,
  xlarge: 40,
  'arm.medium': 13,
  'macos.m1.medium.gen1': 150,
};

function money(hundredths: number): string {
  return (hundredths / 100).toFixed(2);
}

function pct(h: number, lo: number, hi: number): string {
  return (lo + unit(h) * (hi - lo)).toFixed(2);
}

/** Rows of one project for a window, in pipeline, workflow and job order (yielded: a file holds only its text). */
function* projectRows(world: World, p: Project, startMs: number, endMs: number, cutoffMs: number): Generator<UsageRow> {
  const k = keyOf(world);
  const org = p.org;
  let lastBuild: string | null | undefined;
  const orgCreated = ts(orgCreatedMs(world, org));
  const projectCreated = ts(projectCreatedMs(world, p));
  for (const m of windowWorkflows(world, p, startMs, endMs)) {
    const details = world.jobDetailsRecords(m);
    const jobs = world.jobRecords(m);
    const picked: number[] = [];
    details.forEach((d, j) => {
      if (!d || d.stopped_at === null) return;
      const started = Date.parse(d.started_at as string);
      const stopped = Date.parse(d.stopped_at as string);
      if (started < startMs || started > endMs || stopped >= cutoffMs) return;
      picked.push(j);
    });
    if (picked.length === 0) continue;
    lastBuild ??= ts(lastBuildFinishedMs(world, p, cutoffMs));
    const wf = world.workflowRecord(m);
    const pipeline = world.pipelineRecord(p, m.n);
    const started = details.filter((d) => d !== undefined).map((d) => d as JsonObject);
    const firstQueued = Math.min(...started.map((d) => Date.parse(d.queued_at as string)));
    const firstStarted = Math.min(...started.map((d) => Date.parse(d.started_at as string)));
    const wfStopped = wf.stopped_at === null ? null : Date.parse(wf.stopped_at as string);
    const vcs = pipeline.vcs as JsonObject;
    const trigger = pipeline.trigger as JsonObject;
    for (const j of picked) {
      const d = details[j] as JsonObject;
      const executor = d.executor as JsonObject;
      const resourceClass = executor.resource_class as string;
      const parallelism = d.parallelism as number;
      const runStart = Date.parse(d.started_at as string);
      const runStop = Date.parse(d.stopped_at as string);
      const seconds = Math.max(1, Math.round((runStop - runStart) / 1000));
      const h = hashInts(k, T.row, p.gIdx, m.n, m.idx, j, m.salt);
      const compute = Math.round(((seconds * parallelism) / 60) * (RATE_PER_MINUTE[resourceClass] ?? 10) * 100);
      const dlc = executor.type === 'docker' && unit(hashInts(h, 1)) < 0.2 ? 200 * between(hashInts(h, 2), 1, 3) * 100 : 0;
      const storage = between(hashInts(h, 3), 0, 40);
      const network = between(hashInts(h, 4), 0, 20);
      const total = compute + dlc + storage + network;
      yield {
        ORGANIZATION_ID: org.id,
        ORGANIZATION_NAME: org.name,
        ORGANIZATION_CREATED_DATE: orgCreated,
        PROJECT_ID: p.id,
        PROJECT_NAME: p.name,
        PROJECT_CREATED_DATE: projectCreated,
        LAST_BUILD_FINISHED_AT: lastBuild,
        VCS_NAME: (vcs.provider_name as string).toLowerCase(),
        VCS_URL: p.vcsUrl,
        VCS_BRANCH: typeof vcs.branch === 'string' ? vcs.branch : null,
        PIPELINE_ID: pipeline.id as string,
        PIPELINE_CREATED_AT: ts(Date.parse(pipeline.created_at as string)),
        PIPELINE_NUMBER: String(m.n),
        IS_UNREGISTERED_USER: 'false',
        PIPELINE_TRIGGER_SOURCE: trigger.type as string,
        PIPELINE_TRIGGER_USER_ID: wf.started_by as string,
        WORKFLOW_ID: wf.id as string,
        WORKFLOW_NAME: wf.name as string,
        WORKFLOW_FIRST_JOB_QUEUED_AT: ts(firstQueued),
        WORKFLOW_FIRST_JOB_STARTED_AT: ts(firstStarted),
        WORKFLOW_STOPPED_AT: ts(wfStopped),
        IS_WORKFLOW_SUCCESSFUL: wf.status === 'success' ? 'true' : 'false',
        JOB_NAME: d.name as string,
        JOB_RUN_NUMBER: String(d.number as number),
        JOB_ID: (jobs[j] as JsonObject).id as string,
        JOB_RUN_DATE: (d.started_at as string).slice(0, 10),
        JOB_RUN_QUEUED_AT: ts(Date.parse(d.queued_at as string)),
        JOB_RUN_STARTED_AT: ts(runStart),
        JOB_RUN_STOPPED_AT: ts(runStop),
        JOB_BUILD_STATUS: d.status as string,
        RESOURCE_CLASS: resourceClass,
        OPERATING_SYSTEM: executor.type === 'macos' ? 'macos' : 'linux',
        EXECUTOR: executor.type as string,
        PARALLELISM: String(parallelism),
        JOB_RUN_SECONDS: String(seconds),
        MEDIAN_CPU_UTILIZATION_PCT: pct(hashInts(h, 5), 5, 60),
        MAX_CPU_UTILIZATION_PCT: pct(hashInts(h, 6), 60, 100),
        MEDIAN_RAM_UTILIZATION_PCT: pct(hashInts(h, 7), 10, 50),
        MAX_RAM_UTILIZATION_PCT: pct(hashInts(h, 8), 50, 95),
        COMPUTE_CREDITS: money(compute),
        DLC_CREDITS: money(dlc),
        USER_CREDITS: money(0),
        STORAGE_CREDITS: money(storage),
        NETWORK_CREDITS: money(network),
        LEASE_CREDITS: money(0),
        LEASE_OVERAGE_CREDITS: money(0),
        IPRANGES_CREDITS: money(0),
        TOTAL_CREDITS: money(total),
      };
    }
  }
}

/**
 * CSV as the export writes it (a Snowflake unload: unquoted fields, `\` escapes a comma,
 * a backslash or a line break inside a field, `\N` is null; public readers of these files
 * use `escapechar='\\'` and `na_values=['\\N']`). One header line per file.
 */
export function toCsv(rows: Iterable<UsageRow>): string {
  const field = (v: string | null): string => (v === null ? '\\N' : v.replace(/[\\,\n\r]/g, (c) => `\\${c}`));
  const lines = [USAGE_COLUMNS.join(',')];
  for (const r of rows) lines.push(USAGE_COLUMNS.map((c) => field(r[c])).join(','));
  return `${lines.join('\n')}\n`;
}

/**
 * Truth: the rows an export of `orgId` (plus `sharedOrgIds`) for [start, end] created at
 * `asOf` (default: the world's now) holds, all files in URL order, as a CSV reader parses
 * them. Computed from the world's jobs for that window only.
 */
export function usageRowsTruth(
  world: World,
  orgId: string,
  start: string,
  end: string,
  options: { asOf?: string; sharedOrgIds?: readonly string[] } = {},
): UsageRow[] {
  const org = world.orgById(orgId);
  if (!org) throw new Error(`usageRowsTruth: unknown organization ${orgId}`);
  const ids = [org.id, ...(options.sharedOrgIds ?? []).map((id) => world.orgById(id)?.id ?? id)].filter((id, i, a) => a.indexOf(id) === i);
  const cutoff = cutoffOf(options.asOf ? Date.parse(options.asOf) : world.nowMs);
  return projectsOf(world, ids).flatMap((p) => [...projectRows(world, p, Date.parse(start), Date.parse(end), cutoff)]);
}

/**
 * Truth of the `usage` stream for one organization: what exports of every window from the
 * start date (its UTC day; at most 13 months back, then the day after that limit) up to
 * the day before yesterday (world time) hold, as records: column names in lower case,
 * typed by what each column holds (written here from the columns' names, apart from the
 * connector's own column table), `\N` as null.
 */
export function usageTruthRecords(world: World, orgId: string, startDate: string | undefined): JsonObject[] {
  const today = Math.floor(world.nowMs / DAY) * DAY;
  const earliest = Math.ceil(monthsBefore(today, 13) / DAY) * DAY + DAY;
  const from = Math.max(earliest, Math.floor((startDate ? Date.parse(startDate) : 0) / DAY) * DAY);
  const until = today - DAY;
  // Window by window (32 days at most, each ending 1 ms before the next starts), as the
  // exports are made: a window's rows come from the pipelines that can have jobs in it.
  const out: JsonObject[] = [];
  for (let start = from; start < until; start = Math.min(start + 32 * DAY, until)) {
    const end = Math.min(start + 32 * DAY, until) - 1;
    for (const row of usageRowsTruth(world, orgId, new Date(start).toISOString(), new Date(end).toISOString())) out.push(usageRecordOf(row));
  }
  return out;
}

const INTEGER_COLUMNS = new Set(['PIPELINE_NUMBER', 'JOB_RUN_NUMBER', 'PARALLELISM', 'JOB_RUN_SECONDS']);

/** One row as the connector's record: lower-case names, numbers, booleans, ISO date-times. */
export function usageRecordOf(row: UsageRow): JsonObject {
  const out: JsonObject = {};
  for (const column of USAGE_COLUMNS) {
    const value = row[column];
    const name = column.toLowerCase();
    if (value === null) out[name] = null;
    else if (column === 'JOB_RUN_DATE') out[name] = value;
    else if (/_AT$|_DATE$/.test(column)) out[name] = `${value.replace(' ', 'T')}Z`.replace(/T(\d\d:\d\d:\d\d)Z$/, 'T$1.000Z');
    else if (column.startsWith('IS_')) out[name] = value === 'true';
    else if (INTEGER_COLUMNS.has(column) || /_PCT$|_CREDITS$/.test(column)) out[name] = Number(value);
    else out[name] = value;
  }
  return out;
}
