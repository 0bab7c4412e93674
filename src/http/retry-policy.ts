/**
 * When to retry a request, and how long to wait first. Pure: no clock, no I/O, so every
 * branch is unit-tested without HTTP or sleeping.
 *
 * - 429: wait `Retry-After` (seconds or an HTTP date), or back off exponentially when it
 *   is absent. A long `Retry-After` is waited out; one longer than `max_retry_after_seconds`
 *   (default 600) fails at once, and so does a request whose own attempts and waits would
 *   pass that much in all. (A storm of 429s is outlived, not failed on a count.)
 * - 5xx, connection failures, timeouts, unreadable bodies: exponential backoff with full
 *   jitter, at most 5 attempts.
 * - Everything else is final: the caller decides what a 404 or 403 means.
 */
export const DEFAULT_MAX_RETRY_AFTER_MS = 600_000;
export const TRANSIENT_MAX_ATTEMPTS = 5;
export const BACKOFF_BASE_MS = 1_000;
export const BACKOFF_MAX_MS = 30_000;

export type Failure =
  | { kind: 'status'; status: number; retryAfter?: string | undefined }
  | { kind: 'network'; code: string }
  | { kind: 'unreadable' };

export interface AttemptHistory {
  /** Attempts made so far that ended in 429. */
  rateLimited: number;
  /** Attempts made so far that ended in a transient failure (5xx, network, unreadable). */
  transient: number;
  /** Milliseconds this request has spent in its own attempts and waits (not queued behind others). */
  elapsedMs: number;
}

export type RetryDecision =
  | { retry: true; delayMs: number }
  | { retry: false; reason: 'not_retryable' | 'attempts' | 'budget' }
  | { retry: false; reason: 'too_long'; askedMs: number };

export function isRateLimited(failure: Failure): boolean {
  return failure.kind === 'status' && failure.status === 429;
}

/** Network errors that retrying cannot fix: the host name does not exist. */
const PERMANENT_NETWORK_CODES = new Set(['ENOTFOUND']);

export function isTransient(failure: Failure): boolean {
  if (failure.kind === 'status') return failure.status >= 500 && failure.status <= 599;
  if (failure.kind === 'network') return !PERMANENT_NETWORK_CODES.has(failure.code);
  return true;
}

/** Decides about the attempt that just failed; `history` already counts it. */
export function decideRetry(failure: Failure, history: AttemptHistory, nowMs: number, random: () => number, maxRetryAfterMs = DEFAULT_MAX_RETRY_AFTER_MS): RetryDecision {
  if (isRateLimited(failure)) {
    const asked = failure.kind === 'status' ? parseRetryAfter(failure.retryAfter, nowMs) : undefined;
    if (asked !== undefined && asked > maxRetryAfterMs) return { retry: false, reason: 'too_long', askedMs: asked };
    const delayMs = asked ?? backoff(history.rateLimited, random);
    if (history.elapsedMs + delayMs > maxRetryAfterMs) return { retry: false, reason: 'budget' };
    return { retry: true, delayMs };
  }
  if (isTransient(failure)) {
    if (history.transient >= TRANSIENT_MAX_ATTEMPTS) return { retry: false, reason: 'attempts' };
    return { retry: true, delayMs: backoff(history.transient, random) };
  }
  return { retry: false, reason: 'not_retryable' };
}

/** Full-jitter exponential backoff: uniform in [base·2^(n-1)/2, base·2^(n-1)], capped. */
export function backoff(attempt: number, random: () => number): number {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** `Retry-After` as seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  // Only the HTTP-date forms (Sun, 06 Nov 1994 08:49:37 GMT and the obsolete two): Date.parse
  // also reads "-3" or "x 1" as dates in 2001, which would mean "retry at once".
  if (!/^[A-Za-z]{3,9},?\s.*\d{1,2}:\d{2}:\d{2}/.test(text)) return undefined;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}
