/** decideRetry and its helpers: every branch, with a fixed clock and a fixed random. */
import { describe, expect, it } from '@jest/globals';

import {
  BACKOFF_MAX_MS,
  DEFAULT_MAX_RETRY_AFTER_MS,
  TRANSIENT_MAX_ATTEMPTS,
  backoff,
  decideRetry,
  isRateLimited,
  isTransient,
  parseRetryAfter,
  type AttemptHistory,
  type Failure,
} from '../../src/http/retry-policy.js';

const NOW = Date.UTC(2025, 5, 1, 12, 0, 0);
const half = () => 0.5;
const zero = () => 0;
const almostOne = () => 0.999999;

const rateLimited = (retryAfter?: string): Failure => ({ kind: 'status', status: 429, retryAfter });
const history = (h: Partial<AttemptHistory>): AttemptHistory => ({ rateLimited: 0, transient: 0, elapsedMs: 0, ...h });

describe('the limits', () => {
  it('are the documented ones', () => {
    expect(DEFAULT_MAX_RETRY_AFTER_MS).toBe(600_000);
    expect(TRANSIENT_MAX_ATTEMPTS).toBe(5);
  });
});

describe('429', () => {
  it('waits Retry-After seconds', () => {
    expect(decideRetry(rateLimited('7'), history({ rateLimited: 1 }), NOW, half)).toEqual({ retry: true, delayMs: 7000 });
    expect(decideRetry(rateLimited(' 2.5 '), history({ rateLimited: 1 }), NOW, half)).toEqual({ retry: true, delayMs: 2500 });
    expect(decideRetry(rateLimited('0'), history({ rateLimited: 1 }), NOW, half)).toEqual({ retry: true, delayMs: 0 });
  });

  it('waits until a Retry-After HTTP date', () => {
    const at = new Date(NOW + 12_000).toUTCString();
    expect(decideRetry(rateLimited(at), history({ rateLimited: 1 }), NOW, half)).toEqual({ retry: true, delayMs: 12_000 });
  });

  it('a Retry-After date in the past means retry now', () => {
    const at = new Date(NOW - 5_000).toUTCString();
    expect(decideRetry(rateLimited(at), history({ rateLimited: 1 }), NOW, half)).toEqual({ retry: true, delayMs: 0 });
  });

  it('without Retry-After (or with an unreadable one) backs off exponentially', () => {
    for (const retryAfter of [undefined, '', 'soon', '-3']) {
      expect(decideRetry(rateLimited(retryAfter), history({ rateLimited: 1 }), NOW, half)).toEqual({ retry: true, delayMs: 750 });
      expect(decideRetry(rateLimited(retryAfter), history({ rateLimited: 3 }), NOW, half)).toEqual({ retry: true, delayMs: 3000 });
    }
  });

  it('keeps retrying while the request’s own attempts and waits stay within max_retry_after (not on a count)', () => {
    expect(decideRetry(rateLimited('1'), history({ rateLimited: 50, elapsedMs: 100_000 }), NOW, half)).toEqual({ retry: true, delayMs: 1000 });
    expect(decideRetry(rateLimited('10'), history({ rateLimited: 2, elapsedMs: 590_000 }), NOW, half)).toEqual({ retry: true, delayMs: 10_000 });
    expect(decideRetry(rateLimited('10'), history({ rateLimited: 2, elapsedMs: 590_001 }), NOW, half)).toEqual({ retry: false, reason: 'budget' });
    // the backoff without Retry-After counts against the budget too
    expect(decideRetry(rateLimited(), history({ rateLimited: 2, elapsedMs: 599_500 }), NOW, half)).toEqual({ retry: false, reason: 'budget' });
    // a configured maximum
    expect(decideRetry(rateLimited('10'), history({ rateLimited: 2, elapsedMs: 55_000 }), NOW, half, 60_000)).toEqual({ retry: false, reason: 'budget' });
  });

  it('waits out a long Retry-After up to the maximum; beyond it, fails at once saying how long was asked', () => {
    expect(decideRetry(rateLimited('600'), history({ rateLimited: 1 }), NOW, half)).toEqual({ retry: true, delayMs: 600_000 });
    expect(decideRetry(rateLimited('601'), history({ rateLimited: 1 }), NOW, half)).toEqual({ retry: false, reason: 'too_long', askedMs: 601_000 });
    expect(decideRetry(rateLimited('120'), history({ rateLimited: 1 }), NOW, half, 90_000)).toEqual({ retry: false, reason: 'too_long', askedMs: 120_000 });
  });

  it('429 attempts do not use up the transient allowance', () => {
    expect(decideRetry(rateLimited('1'), history({ rateLimited: 1, transient: 5 }), NOW, half)).toEqual({ retry: true, delayMs: 1000 });
  });
});

describe('transient failures', () => {
  it.each([500, 502, 503, 504, 599])('%i is retried with backoff, at most 5 attempts', (status) => {
    const failure: Failure = { kind: 'status', status };
    expect(decideRetry(failure, history({ transient: 1 }), NOW, half)).toEqual({ retry: true, delayMs: 750 });
    expect(decideRetry(failure, history({ transient: 4 }), NOW, half)).toEqual({ retry: true, delayMs: 6000 });
    expect(decideRetry(failure, history({ transient: 5 }), NOW, half)).toEqual({ retry: false, reason: 'attempts' });
  });

  it.each(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EAI_AGAIN', 'EPIPE', 'ERR_GOT_REQUEST_ERROR', 'UNKNOWN'])('network error %s is retried', (code) => {
    const failure: Failure = { kind: 'network', code };
    expect(isTransient(failure)).toBe(true);
    expect(decideRetry(failure, history({ transient: 1 }), NOW, half)).toEqual({ retry: true, delayMs: 750 });
    expect(decideRetry(failure, history({ transient: 5 }), NOW, half)).toEqual({ retry: false, reason: 'attempts' });
  });

  it('ENOTFOUND (no such host) is not retried', () => {
    const failure: Failure = { kind: 'network', code: 'ENOTFOUND' };
    expect(isTransient(failure)).toBe(false);
    expect(decideRetry(failure, history({ transient: 1 }), NOW, half)).toEqual({ retry: false, reason: 'not_retryable' });
  });

  it('an unreadable body is retried like a 5xx', () => {
    expect(decideRetry({ kind: 'unreadable' }, history({ transient: 2 }), NOW, half)).toEqual({ retry: true, delayMs: 1500 });
    expect(decideRetry({ kind: 'unreadable' }, history({ transient: 5 }), NOW, half)).toEqual({ retry: false, reason: 'attempts' });
  });

  it('transient retries ignore the 429 budget', () => {
    expect(decideRetry({ kind: 'status', status: 503 }, history({ transient: 1, elapsedMs: 10 * 60_000 }), NOW, half).retry).toBe(true);
  });
});

describe('final failures', () => {
  it.each([400, 401, 403, 404, 409, 422, 301, 302, 304, 600])('%i is not retried', (status) => {
    const failure: Failure = { kind: 'status', status };
    expect(isTransient(failure)).toBe(false);
    expect(isRateLimited(failure)).toBe(false);
    expect(decideRetry(failure, history({ transient: 1 }), NOW, half)).toEqual({ retry: false, reason: 'not_retryable' });
  });

  it('isRateLimited is true for 429 only', () => {
    expect(isRateLimited(rateLimited())).toBe(true);
    expect(isRateLimited({ kind: 'network', code: 'ECONNRESET' })).toBe(false);
    expect(isRateLimited({ kind: 'unreadable' })).toBe(false);
  });
});

describe('backoff', () => {
  it('is full jitter between half and all of base·2^(n-1)', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoff(n, zero))).toEqual([500, 1000, 2000, 4000, 8000]);
    expect([1, 2, 3, 4, 5].map((n) => backoff(n, almostOne))).toEqual([1000, 2000, 4000, 8000, 16_000]);
    expect([1, 2, 3].map((n) => backoff(n, half))).toEqual([750, 1500, 3000]);
  });

  it('is capped at 30 s', () => {
    expect(backoff(6, almostOne)).toBe(BACKOFF_MAX_MS);
    expect(backoff(50, almostOne)).toBe(BACKOFF_MAX_MS);
    expect(backoff(50, zero)).toBe(BACKOFF_MAX_MS / 2);
  });

  it('treats attempt 0 like attempt 1', () => {
    expect(backoff(0, zero)).toBe(500);
  });

  it('stays within bounds for any random value', () => {
    for (let n = 1; n <= 10; n += 1) {
      const ceiling = Math.min(BACKOFF_MAX_MS, 1000 * 2 ** (n - 1));
      for (const r of [0, 0.1, 0.5, 0.9, 0.999999]) {
        const delay = backoff(n, () => r);
        expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
        expect(delay).toBeLessThanOrEqual(ceiling);
      }
    }
  });
});

describe('parseRetryAfter', () => {
  it.each([
    [undefined, undefined],
    ['', undefined],
    ['   ', undefined],
    ['abc', undefined],
    // V8's Date.parse reads these as dates in 2001; they are not HTTP dates
    ['-3', undefined],
    ['2', 2_000],
    ['abc 1', undefined],
    ['Wed, 21 Oct 2015 07:28:00 GMT', 0],
    ['Sunday, 01-Jun-25 12:00:10 GMT', 10_000],
    ['30', 30_000],
    ['0.5', 500],
    [new Date(NOW + 3_000).toUTCString(), 3_000],
    [new Date(NOW - 3_000).toUTCString(), 0],
  ])('%j → %j', (value, expected) => {
    expect(parseRetryAfter(value, NOW)).toBe(expected);
  });
});
