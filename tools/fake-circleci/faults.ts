// Faults and limits of the fake CircleCI API, switchable per run.
//
// Every fault can be aimed at route names (as counted in stats) and limited in how often
// it fires, so a test can build "transient, within the retry policy" (e.g. the first two
// requests to `pipelines` answer 503) as well as "beyond it" (every request does).
// Randomness (rates, jitter) is seeded, so a run with the same request order is
// reproducible.

import { hashInts, unit } from './hash.js';

export type RouteTarget = string | readonly string[];

export interface FaultTarget {
  /** Route name(s) the fault applies to (see ROUTE_NAMES); default: every route. */
  route?: RouteTarget;
  /** Matching requests to let through before the fault may fire. Default 0. */
  after?: number;
  /** Fire at most this many times (rate 1: exactly the first N matching requests). */
  times?: number;
  /** Probability that a matching request is hit (seeded). Default 1. */
  rate?: number;
}

export interface LatencyOptions {
  /** Added to every response. */
  fixedMs?: number;
  /** Plus a seeded uniform delay in [0, jitterMs). */
  jitterMs?: number;
  route?: RouteTarget;
}

export interface RateLimitOptions {
  /** Requests admitted per window (default window: one minute). */
  requestsPerMinute?: number;
  /** Window length in ms for requestsPerMinute; default 60000 (shorten it in tests). */
  windowMs?: number;
  /** Requests allowed in flight at once; more answer 429. */
  maxConcurrent?: number;
  /** Overrides the computed Retry-After (seconds). */
  retryAfterSeconds?: number;
  /**
   * true (default): 429s carry Retry-After, RateLimit-Limit/Remaining/Reset and
   * X-RateLimit-Limit/Remaining/Reset (other responses carry the RateLimit ones too).
   * false: a bare 429 with no Retry-After and no rate-limit headers.
   * 'retry-after': 429s carry Retry-After only, and no answer carries quota headers.
   */
  headers?: boolean | 'retry-after';
  /** Share of requests answered 429 whatever the rate (seeded), as a busy API does; Retry-After: retryAfterSeconds ?? 1. */
  strayShare?: number;
  /** Every request from `fromMs` after the first request, for `durationMs`, is answered 429 (Retry-After as for strays). */
  storm?: { fromMs: number; durationMs: number };
  route?: RouteTarget;
}

export interface ServerErrorFault extends FaultTarget {
  /** Default 500. */
  status?: number;
  /** Once fired, the next burst-1 matching requests fail too. Default 1. */
  burst?: number;
  message?: string;
}

export interface HtmlErrorFault extends FaultTarget {
  /** Default 502. */
  status?: number;
}

type Many<T> = T | readonly T[];

export interface FaultOptions {
  /** Seed of the fault PRNG (rates, jitter). Default 1. */
  seed?: number;
  latency?: LatencyOptions;
  rateLimit?: RateLimitOptions;
  /** JSON 5xx answers `{"message": ...}`. */
  serverErrors?: Many<ServerErrorFault>;
  /** An HTML error page (text/html), e.g. a 502 from a proxy. */
  htmlErrors?: Many<HtmlErrorFault>;
  /** The connection is reset (server: socket destroyed; msw: network error). */
  resets?: Many<FaultTarget>;
  /** No answer at all until the adapter closes (or the client gives up). */
  hangs?: Many<FaultTarget>;
  /** A 200 whose JSON body is cut in half (Content-Length matches the cut body). */
  truncated?: Many<FaultTarget>;
  /**
   * Pipeline/workflow/job ids that answer 404 (pipeline workflows, workflow, workflow
   * jobs; a job id makes its job details and tests answer 404 "Job not found").
   */
  notFoundIds?: readonly string[];
  /** Organization ids whose groups answer 403 (token user is not an org admin). */
  forbiddenGroupOrgs?: readonly string[];
  /**
   * Project slugs whose environment variables, checkout keys and webhooks answer 403 (the
   * token user may see the project but is not one of its admins).
   */
  forbiddenProjects?: readonly string[];
  /** Project slugs whose Insights answer 403 (a plan without Insights). */
  forbiddenInsightsProjects?: readonly string[];
  /** The personal token works for N requests, then answers 401 from then on. */
  revokeTokenAfter?: number;
  /** On this route, a page fetched with a page-token returns that same token as next. */
  repeatPageToken?: string | { route: string };
}

/** The spec of a fault that fired (the union of the per-kind fields). */
export type FiredFault = FaultTarget & { status?: number; burst?: number; message?: string };

export type FaultKind = 'serverErrors' | 'htmlErrors' | 'resets' | 'hangs' | 'truncated';

const KIND_INDEX: Record<FaultKind, number> = { serverErrors: 1, htmlErrors: 2, resets: 3, hangs: 4, truncated: 5 };

interface SpecState {
  matched: number;
  fired: number;
  burstLeft: number;
}

export type AdmitResult =
  | { ok: true; headers: Record<string, string> }
  | { ok: false; headers: Record<string, string>; reason: 'rate' | 'concurrency' | 'stray' | 'storm' };

function routeMatches(target: RouteTarget | undefined, route: string): boolean {
  if (target === undefined) return true;
  if (typeof target === 'string') return target === '*' || target === route;
  return target.includes(route) || target.includes('*');
}

function asList<T>(x: Many<T> | undefined): readonly T[] {
  if (x === undefined) return [];
  return Array.isArray(x) ? (x as readonly T[]) : [x as T];
}

export class FaultController {
  private opts: FaultOptions;
  private states = new Map<object, SpecState>();
  private window: number[] = [];
  private active = 0;
  private tokenUses = 0;
  private latencyCounter = 0;
  private strayCounter = 0;
  private firstAdmitAt: number | undefined;

  constructor(options: FaultOptions = {}) {
    this.opts = options;
  }

  get options(): FaultOptions {
    return this.opts;
  }

  /** Replace the fault options and reset all counters. */
  set(options: FaultOptions): void {
    this.opts = options;
    this.reset();
  }

  /** Merge options into the current ones (counters of untouched faults are kept). */
  update(options: FaultOptions): void {
    this.opts = { ...this.opts, ...options };
  }

  /** Reset counters, the rate-limit window and the token-use count. */
  reset(): void {
    this.states = new Map();
    this.window = [];
    this.active = 0;
    this.tokenUses = 0;
    this.latencyCounter = 0;
    this.strayCounter = 0;
    this.firstAdmitAt = undefined;
  }

  private get seed(): number {
    return this.opts.seed ?? 1;
  }

  latencyMs(route: string): number {
    const l = this.opts.latency;
    if (!l || !routeMatches(l.route, route)) return 0;
    const jitter = l.jitterMs ? Math.floor(unit(hashInts(this.seed, 0x1a7, this.latencyCounter++)) * l.jitterMs) : 0;
    return (l.fixedMs ?? 0) + jitter;
  }

  /** Rate limiting at the start of a request; call release() when an admitted request ends. */
  admit(route: string, nowMs: number = Date.now()): AdmitResult {
    const rl = this.opts.rateLimit;
    if (!rl || !routeMatches(rl.route, route)) return { ok: true, headers: {} };
    const withHeaders = rl.headers !== false;
    const windowMs = rl.windowMs ?? 60_000;
    const rpm = rl.requestsPerMinute;
    this.window = this.window.filter((t) => t > nowMs - windowMs);
    const resetSeconds = (): number => {
      const oldest = this.window[0];
      return oldest === undefined ? Math.ceil(windowMs / 1000) : Math.max(1, Math.ceil((oldest + windowMs - nowMs) / 1000));
    };
    const rateHeaders = (remaining: number): Record<string, string> => {
      if (!withHeaders || rl.headers === 'retry-after' || rpm === undefined) return {};
      const reset = resetSeconds();
      return {
        'RateLimit-Limit': String(rpm),
        'RateLimit-Remaining': String(Math.max(0, remaining)),
        'RateLimit-Reset': String(reset),
        'X-RateLimit-Limit': String(rpm),
        'X-RateLimit-Remaining': String(Math.max(0, remaining)),
        'X-RateLimit-Reset': String(Math.ceil(nowMs / 1000) + reset),
      };
    };
    const sinceFirst = nowMs - (this.firstAdmitAt ??= nowMs);
    const storm = rl.storm !== undefined && sinceFirst >= rl.storm.fromMs && sinceFirst < rl.storm.fromMs + rl.storm.durationMs;
    if (storm || (rl.strayShare !== undefined && unit(hashInts(this.seed, 0x5a7, this.strayCounter++)) < rl.strayShare)) {
      return { ok: false, headers: withHeaders ? { 'Retry-After': String(rl.retryAfterSeconds ?? 1) } : {}, reason: storm ? 'storm' : 'stray' };
    }
    if (rl.maxConcurrent !== undefined && this.active >= rl.maxConcurrent) {
      const headers = withHeaders
        ? { 'Retry-After': String(rl.retryAfterSeconds ?? 1), ...rateHeaders(rpm === undefined ? 0 : rpm - this.window.length) }
        : {};
      return { ok: false, headers, reason: 'concurrency' };
    }
    if (rpm !== undefined && this.window.length >= rpm) {
      const headers = withHeaders ? { 'Retry-After': String(rl.retryAfterSeconds ?? resetSeconds()), ...rateHeaders(0) } : {};
      return { ok: false, headers, reason: 'rate' };
    }
    this.window.push(nowMs);
    this.active++;
    return { ok: true, headers: rpm === undefined ? {} : rateHeaders(rpm - this.window.length) };
  }

  release(route: string): void {
    const rl = this.opts.rateLimit;
    if (!rl || !routeMatches(rl.route, route)) return;
    if (this.active > 0) this.active--;
  }

  /** Decide whether a fault of this kind hits this request; returns the spec that fired. */
  fire(kind: FaultKind, route: string): FiredFault | undefined {
    const specs = asList(this.opts[kind] as Many<FiredFault> | undefined);
    for (let i = 0; i < specs.length; i++) {
      const spec = specs[i] as FiredFault;
      if (!routeMatches(spec.route, route)) continue;
      let st = this.states.get(spec);
      if (!st) {
        st = { matched: 0, fired: 0, burstLeft: 0 };
        this.states.set(spec, st);
      }
      const index = st.matched++;
      if (index < (spec.after ?? 0)) continue;
      if (spec.times !== undefined && st.fired >= spec.times) continue;
      let hit: boolean;
      if (st.burstLeft > 0) {
        st.burstLeft--;
        hit = true;
      } else {
        const rate = spec.rate ?? 1;
        hit = rate >= 1 || unit(hashInts(this.seed, KIND_INDEX[kind], i, index)) < rate;
        if (hit) st.burstLeft = Math.max(0, (spec.burst ?? 1) - 1);
      }
      if (hit) {
        st.fired++;
        return spec;
      }
    }
    return undefined;
  }

  /** Count a use of the personal token; true when it is (now) revoked. */
  useToken(): boolean {
    this.tokenUses++;
    const n = this.opts.revokeTokenAfter;
    return n !== undefined && this.tokenUses > n;
  }

  isNotFoundId(id: string): boolean {
    return (this.opts.notFoundIds ?? []).some((x) => x.toLowerCase() === id.toLowerCase());
  }

  isForbiddenGroupOrg(orgId: string): boolean {
    return (this.opts.forbiddenGroupOrgs ?? []).some((x) => x.toLowerCase() === orgId.toLowerCase());
  }

  isForbiddenProject(slug: string): boolean {
    return (this.opts.forbiddenProjects ?? []).some((x) => x.toLowerCase() === slug.toLowerCase());
  }

  isForbiddenInsightsProject(slug: string): boolean {
    return (this.opts.forbiddenInsightsProjects ?? []).some((x) => x.toLowerCase() === slug.toLowerCase());
  }

  repeatTokenRoute(): string | undefined {
    const r = this.opts.repeatPageToken;
    if (r === undefined) return undefined;
    return typeof r === 'string' ? r : r.route;
  }
}

export function createFaults(options: FaultOptions = {}): FaultController {
  return new FaultController(options);
}

/** Accept either options or a controller (so tests can switch faults at run time). */
export function toFaultController(faults: FaultOptions | FaultController | undefined): FaultController {
  return faults instanceof FaultController ? faults : new FaultController(faults ?? {});
}

export const HTML_ERROR_PAGE = (status: number): string => {
  const title = status === 502 ? '502 Bad Gateway' : status === 503 ? '503 Service Temporarily Unavailable' : `${status} Error`;
  return (
    `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n` +
    `<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n`
  );
};
