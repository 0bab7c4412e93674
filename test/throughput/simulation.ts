/**
 * Traffic through a RateGovernor (and its bottleneck limiter) in virtual time: workers issue requests the way
 * CircleCiClient does (schedule an attempt, report quota headers and 429s, wait the
 * retry policy's delay), against a server model. The server side is the fake CircleCI
 * API's own rate limiter (FaultController.admit), so the simulated limit behaves like
 * the one the benchmark and the end-to-end tests meet.
 */
import { quotaHeaders } from '../../src/http/client.js';
import { RateGovernor } from '../../src/http/rate-governor.js';
import { decideRetry, parseRetryAfter } from '../../src/http/retry-policy.js';
import { FaultController, type RateLimitOptions } from '../../tools/fake-circleci/faults.js';
import type { VirtualTime } from './virtual-time.js';

export interface Answer {
  status: number;
  headers: Record<string, string>;
}

/** Decides the answer to an attempt arriving at `now`; `done` is called when it has been answered. */
export interface ServerModel {
  arrive(now: number): { answer: Answer; done: () => void };
}

/** The fake API's limiter: a sliding window of `requestsPerMinute` per `windowMs`, with or without headers. */
export function slidingWindowServer(options: RateLimitOptions): ServerModel {
  const faults = new FaultController({ rateLimit: options });
  return {
    arrive(now) {
      const admit = faults.admit('pipelines', now);
      if (!admit.ok) return { answer: { status: 429, headers: admit.headers }, done: () => undefined };
      return { answer: { status: 200, headers: admit.headers }, done: () => faults.release('pipelines') };
    },
  };
}

export interface TrafficOptions {
  governor: RateGovernor;
  time: VirtualTime;
  server: ServerModel;
  requests: number;
  workers: number;
  latencyMs: number;
}

export interface Traffic {
  /** Start time of every attempt, in order. */
  starts: number[];
  /** Start times of attempts answered without 429. */
  admitted: number[];
  rateLimited: number;
  completed: number;
  gaveUp: number;
  peakInFlight: number;
}

/** Runs `requests` requests through `workers` concurrent callers and returns what happened. */
export async function simulate(options: TrafficOptions): Promise<Traffic> {
  const { governor, time, server, latencyMs } = options;
  const traffic: Traffic = { starts: [], admitted: [], rateLimited: 0, completed: 0, gaveUp: 0, peakInFlight: 0 };
  let inFlight = 0;
  let next = 0;
  const request = async (): Promise<void> => {
    const started = time.now();
    let rateLimited = 0;
    for (;;) {
      // As CircleCiClient.get: the retry decision and the governor's 429 report happen
      // while the attempt still holds its slot.
      const outcome = await governor.schedule(async (permit) => {
        inFlight += 1;
        traffic.peakInFlight = Math.max(traffic.peakInFlight, inFlight);
        traffic.starts.push(time.now());
        const { answer, done } = server.arrive(time.now());
        await time.sleep(latencyMs);
        done();
        inFlight -= 1;
        const headers = asReceived(answer.headers);
        governor.quota(permit, ...quotaHeaders(headers));
        if (answer.status !== 429) {
          governor.answered(permit);
          traffic.admitted.push(permit.startedAt);
          return { retryInMs: undefined };
        }
        traffic.rateLimited += 1;
        rateLimited += 1;
        const retryAfter = headers['retry-after'];
        const decision = decideRetry({ kind: 'status', status: 429, retryAfter }, { rateLimited, transient: 0, elapsedMs: time.now() - started }, time.now(), () => 0.5);
        if (!decision.retry) return { retryInMs: -1 };
        governor.rateLimited(permit, decision.delayMs, parseRetryAfter(retryAfter, time.now()) !== undefined);
        return { retryInMs: decision.delayMs };
      });
      if (outcome.retryInMs === undefined) {
        traffic.completed += 1;
        return;
      }
      if (outcome.retryInMs < 0) {
        traffic.gaveUp += 1;
        return;
      }
      await time.sleep(outcome.retryInMs);
    }
  };
  const worker = async (): Promise<void> => {
    while (next < options.requests) {
      next += 1;
      await request();
    }
  };
  let finished = 0;
  const all = Array.from({ length: options.workers }, () => worker().then(() => (finished += 1)));
  await time.run(() => finished === options.workers);
  await Promise.all(all);
  return traffic;
}

/** Header names lowercased, as node:http hands them to the client. */
function asReceived(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

/** The most starts inside any window of `windowMs` (half-open: [t, t + windowMs)). */
export function mostInAnyWindow(starts: readonly number[], windowMs: number): number {
  let most = 0;
  let from = 0;
  for (let to = 0; to < starts.length; to++) {
    while (starts[to]! - starts[from]! >= windowMs) from += 1;
    most = Math.max(most, to - from + 1);
  }
  return most;
}

/** Starts per minute between `fromMs` and `toMs`. */
export function ratePerMinute(starts: readonly number[], fromMs: number, toMs: number): number {
  const count = starts.filter((t) => t >= fromMs && t < toMs).length;
  return (count * 60_000) / (toMs - fromMs);
}
