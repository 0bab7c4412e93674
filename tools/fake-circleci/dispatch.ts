// The request pipeline shared by both adapters: route matching, stats, rate limits,
// faults, auth, the route handler, serialization. Adapters only translate transport:
// the same request gives the same status, headers and bytes through either of them.

import { FaultController, HTML_ERROR_PAGE, toFaultController, type FaultOptions } from './faults.js';
import { errorBody, matchRoute, type RouteRequest, type RouteResponse } from './routes.js';
import { FakeStats } from './stats.js';
import type { Json, World } from './world.js';

export interface FakeRequest {
  method: string;
  /** Path and query relative to the API host root, e.g. `/api/v2/me?x=1`. */
  path: string;
  headers: Record<string, string | readonly string[] | undefined>;
  /** Request body as text (POST routes). */
  body?: string;
  /** Host root the client used (URLs the fake hands out point there); default http://fake-circleci.invalid. */
  baseUrl?: string;
}

export type Outcome =
  /** `binary`: body holds raw bytes, one char per byte (latin1); adapters send those bytes. */
  | { kind: 'response'; route: string; status: number; headers: Record<string, string>; body: string; binary?: true }
  | { kind: 'reset'; route: string }
  | { kind: 'hang'; route: string };

export interface RequestLogEntry {
  method: string;
  path: string;
  route: string;
  outcome: number | 'reset' | 'hang';
  ms: number;
}

export interface CoreOptions {
  world: World;
  faults?: FaultOptions | FaultController;
  stats?: FakeStats;
  onRequest?: (entry: RequestLogEntry) => void;
}

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** Routes that need project admin rights (the `forbiddenProjects` fault). */
const PROJECT_ADMIN_ROUTES: ReadonlySet<string> = new Set(['project_envvars', 'project_checkout_keys', 'webhooks']);

export const MESSAGES = {
  loginRequired: 'You must log in first.',
  invalidToken: 'Invalid token provided.',
  queryAuth:
    'Support for query parameter authentication has been deprecated to improve security. Please use a supported authentication method such as header-based, or basic authentication.',
  projectNotFound: 'Project not found',
  rateLimited: 'Rate limit exceeded.',
  notFound: 'Not found',
  forbidden: 'Permission denied.',
  serverError: 'Internal server error.',
} as const;

function header(headers: FakeRequest['headers'], name: string): string | undefined {
  const direct = headers[name] ?? headers[name.toLowerCase()];
  const v =
    direct ??
    Object.entries(headers).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : v[0];
}

/** The token of a request: Circle-Token, Authorization: Bearer, or Basic (token as user). */
export function requestToken(headers: FakeRequest['headers']): string | undefined {
  const circle = header(headers, 'circle-token');
  if (circle) return circle.trim();
  const auth = header(headers, 'authorization');
  if (!auth) return undefined;
  const bearer = /^Bearer\s+(.+)$/i.exec(auth);
  if (bearer) return (bearer[1] as string).trim();
  const basic = /^Basic\s+(.+)$/i.exec(auth);
  if (basic) {
    const decoded = Buffer.from(basic[1] as string, 'base64').toString('utf8');
    return decoded.split(':')[0] || undefined;
  }
  return undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class FakeCircleCiCore {
  readonly world: World;
  readonly faults: FaultController;
  readonly stats: FakeStats;
  onRequest?: (entry: RequestLogEntry) => void;

  constructor(options: CoreOptions) {
    this.world = options.world;
    this.faults = toFaultController(options.faults);
    this.stats = options.stats ?? new FakeStats();
    this.onRequest = options.onRequest;
  }

  async handle(req: FakeRequest): Promise<Outcome> {
    const started = performance.now();
    const url = new URL(req.path, 'http://fake-circleci.invalid');
    const match = matchRoute(req.method, url.pathname);
    const route = match?.route.name ?? 'unmatched';
    this.stats.begin(route);
    let admitted = false;
    const finish = (outcome: Outcome): Outcome => {
      const status = outcome.kind === 'response' ? outcome.status : outcome.kind;
      this.stats.end(status);
      this.onRequest?.({ method: req.method, path: req.path, route, outcome: status, ms: Math.round(performance.now() - started) });
      return outcome;
    };
    const json = (status: number, body: Json, headers: Record<string, string> = {}): Outcome => ({
      kind: 'response',
      route,
      status,
      // The world's clock, as a real server's Date header gives its own (the usage export's days follow it).
      headers: { 'Content-Type': JSON_CONTENT_TYPE, Date: new Date(this.world.nowMs).toUTCString(), ...headers },
      body: JSON.stringify(body),
    });
    try {
      const admit = this.faults.admit(route);
      if (!admit.ok) return finish(json(429, errorBody(MESSAGES.rateLimited), admit.headers));
      admitted = true;
      const extra = admit.headers;
      const latency = this.faults.latencyMs(route);
      if (latency > 0) await sleep(latency);

      // transport and upstream faults
      if (this.faults.fire('resets', route)) return finish({ kind: 'reset', route });
      if (this.faults.fire('hangs', route)) return finish({ kind: 'hang', route });
      const html = this.faults.fire('htmlErrors', route);
      if (html) {
        const status = html.status ?? 502;
        return finish({
          kind: 'response',
          route,
          status,
          headers: { 'Content-Type': 'text/html; charset=utf-8' },
          body: HTML_ERROR_PAGE(status),
        });
      }
      const serverError = this.faults.fire('serverErrors', route);
      if (serverError) {
        return finish(json(serverError.status ?? 500, errorBody(serverError.message ?? MESSAGES.serverError), extra));
      }

      if (!match) return finish(json(404, errorBody(MESSAGES.notFound), extra));

      // auth (a pre-signed URL carries its own signature instead)
      if (match.route.scope !== 'presigned') {
        const token = requestToken(req.headers);
        if (token === undefined) {
          const viaQuery = url.searchParams.has('circle-token');
          return finish(json(401, errorBody(viaQuery ? MESSAGES.queryAuth : MESSAGES.loginRequired), extra));
        }
        if (token === this.world.projectToken) {
          return finish(
            match.route.scope === 'project'
              ? json(404, errorBody(MESSAGES.projectNotFound), extra)
              : json(401, errorBody(MESSAGES.invalidToken), extra),
          );
        }
        if (token !== this.world.token) return finish(json(401, errorBody(MESSAGES.invalidToken), extra));
        if (this.faults.useToken()) return finish(json(401, errorBody(MESSAGES.invalidToken), extra));
      }

      // per-entity faults
      const params = match.params;
      // Listing groups and the usage export both need organization admin rights.
      if ((route === 'groups' || route === 'usage_export_create' || route === 'usage_export_get') && this.faults.isForbiddenGroupOrg(params.orgId ?? '')) {
        return finish(json(403, errorBody(MESSAGES.forbidden), extra));
      }
      if ((this.faults.options.forbiddenProjects ?? []).length > 0 && PROJECT_ADMIN_ROUTES.has(route)) {
        const p = route === 'webhooks' ? this.world.projectById(url.searchParams.get('scope-id') ?? '') : this.world.projectBySlug(params.slug ?? '');
        if (p && this.faults.isForbiddenProject(p.slug)) return finish(json(403, errorBody(MESSAGES.forbidden), extra));
      }
      if (route.startsWith('insights_') && route !== 'insights_org_summary') {
        const project = this.world.projectBySlug(params.slug ?? '');
        if (project && this.faults.isForbiddenInsightsProject(project.slug)) return finish(json(403, errorBody(MESSAGES.forbidden), extra));
      }
      if (route === 'pipeline_workflows' && this.faults.isNotFoundId(params.pipelineId ?? '')) {
        return finish(json(404, errorBody('Pipeline not found'), extra));
      }
      if ((route === 'workflow' || route === 'workflow_jobs') && this.faults.isNotFoundId(params.workflowId ?? '')) {
        return finish(json(404, errorBody('Workflow not found'), extra));
      }
      if ((route === 'job_details' || route === 'job_tests') && (this.faults.options.notFoundIds ?? []).length > 0) {
        const jobId = this.world.jobIdByNumber(params.slug ?? '', params.jobNumber ?? '');
        if (jobId !== undefined && this.faults.isNotFoundId(jobId)) return finish(json(404, errorBody('Job not found'), extra));
      }

      const routeReq: RouteRequest = {
        method: req.method,
        params,
        query: url.searchParams,
        headers: Object.fromEntries(
          Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), typeof v === 'string' ? v : v?.[0]]),
        ),
        body: req.body,
        baseUrl: req.baseUrl ?? 'http://fake-circleci.invalid',
      };
      let res: RouteResponse;
      try {
        res = match.route.handler(routeReq, this.world);
      } catch (e) {
        return finish(json(500, errorBody(`${MESSAGES.serverError} ${(e as Error).message}`), extra));
      }

      // post-processing faults
      const pageToken = url.searchParams.get('page-token');
      if (
        pageToken &&
        this.faults.repeatTokenRoute() === route &&
        res.status === 200 &&
        typeof res.body === 'object' &&
        res.body !== null &&
        !Array.isArray(res.body) &&
        'next_page_token' in res.body
      ) {
        res = { ...res, body: { ...res.body, next_page_token: pageToken } };
      }
      const out: Outcome = res.raw
        ? { kind: 'response', route, status: res.status, headers: { ...extra, ...(res.headers ?? {}) }, body: res.raw.toString('latin1'), binary: true }
        : json(res.status, res.body, { ...extra, ...(res.headers ?? {}) });
      if (res.status === 200 && out.kind === 'response' && this.faults.fire('truncated', route)) {
        return finish({ ...out, body: out.body.slice(0, Math.max(1, Math.floor(out.body.length / 2))) });
      }
      return finish(out);
    } finally {
      if (admitted) this.faults.release(route);
    }
  }
}

export function createCore(options: CoreOptions): FakeCircleCiCore {
  return new FakeCircleCiCore(options);
}
