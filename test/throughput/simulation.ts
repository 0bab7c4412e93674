/**
 * Traffic through a RateGovernor (and its bottleneck limiter) in virtual time: workers issue requests the way
 * CircleCiClient does (schedule an attempt, report its outcome, quota headers and the
 * retry policy's wait for a 429), against a server model. The server side is the fake CircleCI
 * API's own rate limiter (FaultController.admit), so the simulated limit behaves like
 * the one the benchmark and the end-to-end tests meet.
 */
import { quotaHeaders } from '../../src/http/client.js';
import { RateGovernor } from '../../src/http/rate-governor.js';
import { decideRetry } from '../../src/http/retry-policy.js';
import { seeded } from '../support/spec-answers.js';
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

/** The fake API's limiter: a sliding window of `requestsPerMinute` per `windowMs`, with or without headers, stray 429s, a storm. */
export function fakeServer(options: RateLimitOptions): ServerModel {
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
  /** Each answer takes up to this much longer (seeded), so answers can overtake each other. */
  jitterMs?: number;
}

export interface Traffic {
  /** Start time of every attempt, in order. */
  starts: number[];
  /** Start times of attempts answered without 429. */
  admitted: number[];
  /** Start times of attempts answered 429. */
  refused: number[];
  /** The governor's limit at each start (Infinity: none shown). */
  limits: number[];
  rateLimited: number;
  completed: number;
  gaveUp: number;
  peakInFlight: number;
}

/** Runs `requests` requests through `workers` concurrent callers and returns what happened. */
export async function simulate(options: TrafficOptions): Promise<Traffic> {
  const { governor, time, server, latencyMs } = options;
  const random = seeded(1);
  const traffic: Traffic = { starts: [], admitted: [], refused: [], limits: [], rateLimited: 0, completed: 0, gaveUp: 0, peakInFlight: 0 };
  let inFlight = 0;
  let next = 0;
  const request = async (): Promise<void> => {
    let spentMs = 0;
    let rateLimited = 0;
    for (;;) {
      // As CircleCiClient.get: the outcome reaches the governor while the attempt still
      // holds its slot; a 429's wait is the governor's pause when it pauses everyone, the
      // request's own sleep otherwise.
      const outcome = await governor.schedule(async (permit) => {
        const startedAt = time.now();
        inFlight += 1;
        traffic.peakInFlight = Math.max(traffic.peakInFlight, inFlight);
        traffic.starts.push(startedAt);
        traffic.limits.push(governor.limitPerMinute);
        const { answer, done } = server.arrive(startedAt);
        await time.sleep(latencyMs + random() * (options.jitterMs ?? 0));
        done();
        inFlight -= 1;
        spentMs += time.now() - startedAt;
        const headers = asReceived(answer.headers);
        if (answer.status !== 429) {
          governor.settle(permit, { refused: false, quota: quotaHeaders(headers) });
          traffic.admitted.push(startedAt);
          return undefined;
        }
        traffic.rateLimited += 1;
        traffic.refused.push(startedAt);
        rateLimited += 1;
        const decision = decideRetry({ kind: 'status', status: 429, retryAfter: headers['retry-after'] }, { rateLimited, transient: 0, elapsedMs: spentMs }, time.now(), () => 0.5);
        const everyone = governor.settle(permit, { refused: true, waitMs: decision.retry ? decision.delayMs : 0, quota: quotaHeaders(headers) });
        return { decision, everyone };
      }, rateLimited > 0);
      if (outcome === undefined) {
        traffic.completed += 1;
        return;
      }
      const { decision, everyone } = outcome;
      if (!decision.retry) {
        traffic.gaveUp += 1;
        return;
      }
      spentMs += decision.delayMs;
      if (!everyone) await time.sleep(decision.delayMs);
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
