import type { LogLevel } from '../protocol/messages.js';
import { ApiError, errorForStatus, UnreachableError } from './api-error.js';
import { RateGovernor } from './rate-governor.js';
import { Transport, TransportError, type TransportDownload, type TransportResponse } from './transport.js';
import { DEFAULT_MAX_RETRY_AFTER_MS, decideRetry, isRateLimited, type Failure, type RetryDecision } from './retry-policy.js';

export interface ClientOptions {
  apiUrl: string;
  token: string;
  maxConcurrency: number;
  /** A ceiling on the request rate; without one the governor finds the server's limit. */
  requestsPerMinute?: number | undefined;
  /** The longest `Retry-After` (and 429 waits in all, per request) waited out; default 600 s. */
  maxRetryAfterMs?: number;
  userAgent: string;
  requestTimeoutMs?: number;
  log?: (level: LogLevel, message: string) => void;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Once aborted (the sync is cancelled), requests in flight are abandoned and none is started or retried. */
  signal?: AbortSignal;
}

export type Query = Record<string, string | number | undefined>;

/** A page as CircleCI sends it. */
interface Page<T> {
  items: T[];
  next_page_token?: string | null;
}

export interface ClientStats {
  requests: number;
  retries: number;
  rateLimited: number;
}

/** The request rate, the limit the governor holds (Infinity: none shown) and the 429s received, for the run's summary. */
export interface RateSummary {
  perMinute: number;
  limitPerMinute: number;
  rateLimited: number;
}

type Quota = [remaining: number | undefined, resetMs: number | undefined];

type Attempt = ({ ok: true; status: number; body: string; value?: unknown } | { ok: false; failure: Failure; body?: string }) & { quota?: Quota };

/** One exchange's answer: text from the API, bytes (`raw`) from a download. */
type Exchanged = TransportResponse | (TransportDownload & { raw: true });

/**
 * The one way the connector talks to CircleCI: authentication, the shared rate governor,
 * timeouts, the retry policy and pagination. One instance per run, passed to whoever
 * needs it. A 404 comes back as `undefined` (callers treat it as "nothing there"); every
 * other failure is an ApiError with a message meant for the user. Nothing it logs or
 * throws contains the token: requests are described by method and path only, and
 * transport errors are reduced to their error code.
 */
export class CircleCiClient {
  readonly stats: ClientStats = { requests: 0, retries: 0, rateLimited: 0 };
  private readonly transport: Transport;
  private readonly governor: RateGovernor;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly log: (level: LogLevel, message: string) => void;
  private readonly maxRetryAfterMs: number;
  readonly host: string;

  constructor(private readonly options: ClientOptions) {
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
    this.log = options.log ?? (() => undefined);
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
    this.host = new URL(options.apiUrl).host;
    this.governor = new RateGovernor({
      maxConcurrency: options.maxConcurrency,
      ceilingPerMinute: options.requestsPerMinute,
      now: this.now,
      sleep: this.sleep,
      log: (message) => this.log('INFO', message),
    });
    this.transport = new Transport({
      baseUrl: options.apiUrl,
      headers: { 'Circle-Token': options.token, 'User-Agent': options.userAgent, Accept: 'application/json' },
      timeoutMs: options.requestTimeoutMs ?? 60_000,
    });
  }

  /**
   * GET a JSON document. Resolves `undefined` on 404. `path` starts at the host root, e.g. `/api/v2/me`.
   * The retry budget counts this request's own attempts and waits, never its time queued
   * behind others at the governor (a 429's wait is the governor's pause, which it shares).
   */
  async get<T>(path: string, query: Query = {}): Promise<T | undefined> {
    const search = new URLSearchParams(definedOnly(query)).toString();
    return this.send<T>(describe(path, query), () => this.transport.get(path, search, this.options.signal));
  }

  // --- POST and downloads (the usage export): the same governor and retry policy as GET ---

  /**
   * POST a JSON body; resolves the answer's JSON (`undefined` on 404). A retried POST may
   * create a second export job upstream; it is retried only where GET would be (429, 5xx,
   * network), as a lost answer leaves nothing else to go on. A cancel starts no POST but
   * lets one in flight land: the job it starts is saved for the next sync to collect.
   */
  async post<T>(path: string, body: unknown): Promise<T | undefined> {
    return this.send<T>(`POST ${path}`, () => this.transport.post(path, body));
  }

  /**
   * GET a file from a pre-signed URL on another host: no API header (the token never
   * leaves for another host; the URL authorises itself), through the governor and retry
   * policy. Only https is followed (http only when the API itself is on http, a local
   * test server). Messages name the host and path, never the query, which is the URL's
   * credential. Any status but 2xx is a transient error (an expired URL is fixed by
   * asking for the export again).
   */
  async download(url: string): Promise<Buffer> {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      throw new ApiError('CircleCI gave a download URL that is not a URL; the API may have changed.', 'system_error', 'GET (download)');
    }
    const apiScheme = new URL(this.options.apiUrl).protocol;
    if (target.protocol !== 'https:' && !(target.protocol === 'http:' && apiScheme === 'http:')) {
      throw new ApiError(`CircleCI gave a download URL on ${target.protocol}//${target.host}, which is not https; not followed.`, 'system_error', 'GET (download)');
    }
    const route = `GET ${target.protocol}//${target.host}${target.pathname}`;
    try {
      const body = await this.send<Buffer>(
        route,
        async () => {
          const answer = await this.transport.download(target.href, this.options.signal);
          return { ...answer, raw: true as const };
        },
        target.host,
      );
      if (body === undefined) throw new ApiError(`The export file ${route} does not exist (404).`, 'transient_error', route);
      return body;
    } catch (error) {
      if (error instanceof ApiError && error.status !== undefined && error.status < 500 && error.status !== 429) {
        throw new ApiError(`The file host refused ${route} (${error.status}): the download URL may have expired; the export is asked for again on a later sync.`, 'transient_error', route);
      }
      throw error;
    }
  }

  /** Whether the API host has answered anything in this run (any status): it can be reached. */
  get reachedApi(): boolean {
    return this.answered;
  }

  private answered = false;

  /** One request through the governor and the retry policy; `host` is where it goes (the API's, or a download's). */
  private async send<T>(route: string, exchange: () => Promise<Exchanged>, host = this.host): Promise<T | undefined> {
    let spentMs = 0;
    let rateLimited = 0;
    let transient = 0;
    for (;;) {
      this.options.signal?.throwIfAborted();
      // The retry decision is made while the attempt still holds its slot, so a 429 that
      // pauses the governor does so before the freed slot lets anything else start.
      const { attempt, decision, everyone } = await this.governor.schedule(async (permit) => {
        this.options.signal?.throwIfAborted();
        const startedAt = this.now();
        const attempt = await this.attempt(exchange);
        // A failure after a cancel is the cancel's, not one to retry; an answer that came is kept
        // (a POST answered as the sync is cancelled started a job the next sync must collect).
        if (!attempt.ok) this.options.signal?.throwIfAborted();
        spentMs += this.now() - startedAt;
        if (attempt.ok) {
          this.governor.settle(permit, { refused: false, quota: attempt.quota });
          return { attempt, decision: undefined, everyone: false };
        }
        const limited = isRateLimited(attempt.failure);
        if (limited) {
          rateLimited += 1;
          // Every 429 received counts in the run's summary, retried or not.
          this.stats.rateLimited += 1;
        } else transient += 1;
        const decision = decideRetry(attempt.failure, { rateLimited, transient, elapsedMs: spentMs }, this.now(), this.random, this.maxRetryAfterMs);
        const everyone = this.governor.settle(permit, { refused: limited, waitMs: limited && decision.retry ? decision.delayMs : 0, quota: attempt.quota });
        return { attempt, decision, everyone };
      }, rateLimited + transient > 0);
      if (attempt.ok) {
        if (attempt.status === 404) return undefined;
        if (attempt.status < 300) return attempt.value as T;
        throw errorForStatus(attempt.status, route, attempt.body);
      }
      const failure = attempt.failure;
      if (!decision!.retry) throw this.finalError(failure, route, host, attempt.body ?? '', decision!, rateLimited, transient, spentMs);
      const delayMs = decision!.delayMs;
      spentMs += delayMs;
      if (isRateLimited(failure)) {
        this.stats.retries += 1;
        if (delayMs > 60_000) {
          this.log('WARN', `${route}: CircleCI asked to wait ${seconds(delayMs)} (Retry-After) before more requests; waiting it out (max_retry_after_seconds is ${Math.round(this.maxRetryAfterMs / 1000)}).`);
        } else this.log('WARN', `${route}: rate limited (429); retrying in ${(delayMs / 1000).toFixed(1)} s`);
        // When the governor paused everyone this request waits in its queue; a lone 429 waits alone.
        if (!everyone) await this.sleep(delayMs);
        continue;
      }
      this.noteRetry(route, describeFailure(failure), delayMs);
      await this.sleep(delayMs);
    }
  }

  /**
   * Pages through a `{items, next_page_token}` list, yielding one page of items at a time.
   * A 404 on the first page is an empty list (`onNotFound` hears of it). A page token the server already sent is an
   * error: following it would loop forever.
   */
  async *pages<T>(path: string, query: Query = {}, onNotFound?: () => void): AsyncGenerator<T[]> {
    const seen = new Set<string>();
    let token: string | undefined;
    for (;;) {
      const page = await this.get<Page<T>>(path, token === undefined ? query : { ...query, 'page-token': token });
      if (page === undefined) {
        if (token === undefined) {
          onNotFound?.();
          return;
        }
        const route = describe(path, query);
        throw new ApiError(`CircleCI no longer recognises the page token for ${route} (404); the listing will be read again on the next sync.`, 'transient_error', route, 404);
      }
      if (!page || typeof page !== 'object' || !Array.isArray(page.items)) {
        const route = describe(path, query);
        throw new ApiError(`CircleCI answered ${route} with a page that has no "items" list; the API may have changed.`, 'system_error', route);
      }
      yield page.items;
      const next = page.next_page_token;
      if (next === undefined || next === null || next === '') return;
      if (seen.has(next)) {
        const route = describe(path, query);
        throw new ApiError(`CircleCI repeated a page token on ${route} after ${seen.size + 1} pages; stopped to avoid reading the same pages forever.`, 'system_error', route);
      }
      seen.add(next);
      token = next;
    }
  }

  async close(): Promise<void> {
    await this.governor.stop();
    this.transport.close();
  }

  /** The rate of the last minute, the governor's limit, and every 429 received. */
  get rate(): RateSummary {
    return { perMinute: this.governor.ratePerMinute, limitPerMinute: this.governor.limitPerMinute, rateLimited: this.stats.rateLimited };
  }

  /** One line for the run's summary, e.g. `rate 2,400/min (limit 2,600/min), 12 × 429`. */
  get rateSummary(): string {
    const { perMinute: rate, limitPerMinute, rateLimited } = this.rate;
    return `rate ${perMinute(rate)} (${limitPerMinute === Infinity ? 'no limit shown' : `limit ${perMinute(limitPerMinute)}`}), ${rateLimited} × 429`;
  }


  /**
   * The API server's clock: its last `Date` header, moved on by the local clock since
   * (the local clock when no answer had one). What "today" is for data the service
   * produces (the usage export's complete days, the 90 days Insights keeps) is the
   * service's word, not this machine's.
   */
  serverNow(): number {
    return this.serverDate ? this.serverDate.at + (this.now() - this.serverDate.seen) : this.now();
  }

  private serverDate: { at: number; seen: number } | undefined;

  private noteServerDate(headers: Headers): void {
    const raw = headers.date;
    const at = Date.parse(Array.isArray(raw) ? (raw[0] ?? '') : (raw ?? ''));
    if (!Number.isNaN(at)) this.serverDate = { at, seen: this.now() };
  }

  private async attempt(exchange: () => Promise<Exchanged>): Promise<Attempt> {
    this.stats.requests += 1;
    try {
      const response = await exchange();
      // A file host's headers say nothing of CircleCI's quota or clock: only the API's are read.
      const fromApi = !('raw' in response);
      if (fromApi) this.answered = true;
      const status = response.statusCode;
      const quota = fromApi ? quotaHeaders(response.headers) : undefined;
      if (!fromApi && status >= 200 && status < 300) return { quota, ok: true, status, body: '', value: response.body };
      const text = typeof response.body === 'string' ? response.body : response.body.toString('utf8');
      if (fromApi) this.noteServerDate(response.headers);
      if (status === 429) {
        const retryAfter = response.headers['retry-after'];
        return { quota, ok: false, failure: { kind: 'status', status, retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter }, body: text };
      }
      if (status >= 500) return { quota, ok: false, failure: { kind: 'status', status }, body: text };
      if (status >= 300 || status === 404) return { quota, ok: true, status, body: text };
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        // An HTML page or a body cut off mid-way: usually a proxy or a dropped connection.
        return { quota, ok: false, failure: { kind: 'unreadable' }, body: text };
      }
      return { quota, ok: true, status, body: text, value };
    } catch (error) {
      // Only a failed exchange is worth retrying; anything else is our own bug and must
      // not be reported as a network problem.
      if (!(error instanceof TransportError)) throw error;
      return { ok: false, failure: { kind: 'network', code: error.code } };
    }
  }

  private noteRetry(route: string, what: string, delayMs: number): void {
    this.stats.retries += 1;
    this.log('WARN', `${route}: ${what}; retrying in ${(delayMs / 1000).toFixed(1)} s`);
  }

  private finalError(failure: Failure, route: string, host: string, body: string, decision: RetryDecision, rateLimited: number, transient: number, spentMs: number): ApiError {
    if (isRateLimited(failure)) {
      const limit = `max_retry_after_seconds (${Math.round(this.maxRetryAfterMs / 1000)})`;
      const message =
        decision.retry === false && decision.reason === 'too_long'
          ? `CircleCI asked to wait ${seconds(decision.askedMs)} (Retry-After) before retrying ${route}, more than ${limit} allows. ` +
            'Run the sync later, or raise max_retry_after_seconds in the config to wait it out.'
          : `CircleCI kept rate-limiting ${route} (429) for ${seconds(spentMs)} over ${rateLimited} attempts, more than ${limit} allows. ` +
            'Run the sync later; setting requests_per_minute or lowering max_concurrency in the config reduces the load.';
      return new ApiError(message, 'transient_error', route, 429);
    }
    if (failure.kind === 'network') {
      const attempts = transient > 1 ? ` after ${transient} attempts` : '';
      // A download goes to the file host its pre-signed URL names, not to api_url.
      const advice =
        host === this.host
          ? 'check api_url and the network between this machine and CircleCI.'
          : `that is the export file's host (a pre-signed URL CircleCI gave): check the network between this machine and ${host}; the export is asked for again on a later sync.`;
      return new UnreachableError(`Could not reach ${host} (${failure.code}) for ${route}${attempts}; ${advice}`, route, host, failure.code);
    }
    if (failure.kind === 'status') {
      const error = errorForStatus(failure.status, route, body);
      return new ApiError(`${error.message} Gave up after ${transient} attempts.`, 'transient_error', route, failure.status);
    }
    return new ApiError(
      `CircleCI answered ${route} with a body that is not valid JSON (an error page or a cut-off response) ${transient} times in a row.`,
      'transient_error',
      route,
    );
  }
}

/** `1,200/min`. */
function perMinute(rate: number): string {
  return `${Math.round(rate).toLocaleString('en-US')}/min`;
}

/** `90 s`, `3600 s (60 min)`. */
function seconds(ms: number): string {
  const total = Math.round(ms / 1000);
  return total < 120 ? `${total} s` : `${total} s (${Math.round(total / 6) / 10} min)`;
}

function describe(path: string, query: Query): string {
  const params = new URLSearchParams(definedOnly(query)).toString();
  return `GET ${path}${params ? `?${params}` : ''}`;
}

function describeFailure(failure: Failure): string {
  if (failure.kind === 'status') return failure.status === 429 ? 'rate limited (429)' : `server error ${failure.status}`;
  if (failure.kind === 'network') return `network error ${failure.code}`;
  return 'an unreadable body';
}

function definedOnly(query: Query): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(query)) if (value !== undefined) out[key] = String(value);
  return out;
}

type Headers = Record<string, string | string[] | undefined>;

function headerNumber(headers: Headers, ...names: string[]): number | undefined {
  for (const name of names) {
    const raw = headers[name];
    const value = Number(Array.isArray(raw) ? raw[0] : raw);
    if (raw !== undefined && Number.isFinite(value)) return value;
  }
  return undefined;
}

/**
 * Remaining requests and milliseconds until the window resets, from either header family.
 * Exported for the throughput simulation, which must read quotas exactly as the client does.
 */
export function quotaHeaders(headers: Headers): [number | undefined, number | undefined] {
  const remaining = headerNumber(headers, 'ratelimit-remaining', 'x-ratelimit-remaining');
  const reset = headerNumber(headers, 'ratelimit-reset', 'x-ratelimit-reset');
  if (reset === undefined) return [remaining, undefined];
  // RateLimit-Reset is seconds from now; X-RateLimit-Reset is often an epoch in seconds.
  const resetMs = reset > 1_000_000_000 ? reset * 1000 - Date.now() : reset * 1000;
  return [remaining, Math.max(0, resetMs)];
}

