/**
 * The rate governor in virtual time, against the fake API's own limiter: the rate climbs
 * while nothing is refused, falls to a real limit and holds it, stays up under stray
 * 429s, comes back after a storm, follows quota headers, and never passes a configured
 * ceiling. The governor's bottleneck limiter really runs, on jest's fake timers: nothing
 * sleeps for real, the clock only moves when every pending request waits on it.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { RateGovernor, START_RATE } from '../../src/http/rate-governor.js';
import type { RateLimitOptions } from '../../tools/fake-circleci/faults.js';
import { fakeServer, mostInAnyWindow, ratePerMinute, simulate, type Answer, type ServerModel, type Traffic } from './simulation.js';
import { VirtualTime } from './virtual-time.js';

let running: { time: VirtualTime; governors: RateGovernor[] } | undefined;

afterEach(async () => {
  if (running === undefined) return;
  const { time, governors } = running;
  running = undefined;
  await time.until(Promise.all(governors.map((governor) => governor.stop())));
  time.dispose();
});

interface Run {
  traffic: Traffic;
  governor: RateGovernor;
  logs: string[];
  endedAt: number;
}

/** `requests` requests through a governor with the default config (or a ceiling) against `server`. */
async function run(server: ServerModel, options: { requests: number; maxConcurrency?: number; latencyMs?: number; ceiling?: number }): Promise<Run> {
  const time = new VirtualTime();
  const logs: string[] = [];
  const governor = new RateGovernor({ maxConcurrency: options.maxConcurrency ?? 8, ceilingPerMinute: options.ceiling, log: (message) => logs.push(message) });
  running = { time, governors: [governor] };
  const maxConcurrency = options.maxConcurrency ?? 8;
  const traffic = await simulate({ governor, time, server, requests: options.requests, workers: 2 * maxConcurrency, latencyMs: options.latencyMs ?? 50 });
  return { traffic, governor, logs, endedAt: time.now() };
}

const fake = (options: RateLimitOptions): ServerModel => fakeServer(options);
const share429 = (traffic: Traffic): number => traffic.rateLimited / traffic.starts.length;

describe('without a limit', () => {
  it('climbs from the safe start while nothing is refused, to where concurrency is the bound', async () => {
    // 32 at a time, 20 ms each: up to 96,000 a minute would be possible.
    const { traffic, governor, logs } = await run(fake({}), { requests: 4_000, maxConcurrency: 32, latencyMs: 20 });
    expect(traffic.completed).toBe(4_000);
    expect(traffic.rates[0]).toBe(START_RATE);
    expect(governor.peakRatePerMinute).toBeGreaterThanOrEqual(16 * START_RATE);
    expect(traffic.rateLimited).toBe(0);
    expect(logs[0]).toMatch(/^rate 1,000\/min → 2,000\/min: no sign of a limit in the last 10 requests$/);
  });

  it('climbs until concurrency is the bound: 8 at a time, 50 ms each', async () => {
    const { traffic, endedAt } = await run(fake({}), { requests: 3_000, latencyMs: 50 });
    expect(traffic.completed).toBe(3_000);
    // 8 / 50 ms is 9,600 a minute; after the first seconds of climbing, ≥ 90% of it.
    expect(ratePerMinute(traffic.starts, 5_000, endedAt)).toBeGreaterThanOrEqual(0.9 * 9_600);
  });

  it('does not raise a rate that is not the bound', async () => {
    // 4 at a time, 400 ms each: 600 a minute at most, below the starting rate.
    const { traffic, governor } = await run(fake({}), { requests: 600, maxConcurrency: 4, latencyMs: 400 });
    expect(traffic.completed).toBe(600);
    expect(governor.peakRatePerMinute).toBe(START_RATE);
  });
});

describe('a real limit, unknown to the connector', () => {
  it.each([
    ['bare 429s', false],
    ['429s with Retry-After', 'retry-after'],
  ] as const)('%s: it falls to the limit and holds it: ≥ 90%% of it used, ≤ 2%% of requests refused', async (_, headers) => {
    const { traffic, governor, logs, endedAt } = await run(fake({ requestsPerMinute: 300, headers }), { requests: 1_500 });
    expect(traffic.completed).toBe(1_500);
    expect(share429(traffic)).toBeLessThanOrEqual(0.02);
    expect(ratePerMinute(traffic.admitted, 0, endedAt)).toBeGreaterThanOrEqual(0.9 * 300);
    expect(governor.currentRatePerMinute).toBeLessThanOrEqual(300 * 1.1);
    expect(logs.some((line) => /→ .*: 429 on \d+ of the last \d+$/.test(line))).toBe(true);
  });

  it('announced in quota headers: followed, ≥ 90% of it used, ≤ 2% refused', async () => {
    const { traffic, endedAt } = await run(fake({ requestsPerMinute: 300 }), { requests: 1_500 });
    expect(traffic.completed).toBe(1_500);
    expect(share429(traffic)).toBeLessThanOrEqual(0.02);
    expect(ratePerMinute(traffic.admitted, 0, endedAt)).toBeGreaterThanOrEqual(0.9 * 300);
  });
});

describe('429s that are not about the rate', () => {
  it('a lone 429 pauses everyone for its Retry-After, and costs nothing more', async () => {
    let refusedAt: number | undefined;
    let index = 0;
    const server: ServerModel = {
      arrive(now) {
        const answer: Answer = index++ === 100 ? { status: 429, headers: { 'Retry-After': '3' } } : { status: 200, headers: {} };
        if (answer.status === 429) refusedAt = now;
        return { answer, done: () => undefined };
      },
    };
    const { traffic, governor } = await run(server, { requests: 300, latencyMs: 100 });
    expect(traffic.completed).toBe(300);
    const answeredAt = refusedAt! + 100;
    // Attempts bottleneck had already released (spaced by the rate) still go; nothing else.
    expect(traffic.starts.filter((t) => t > answeredAt && t < answeredAt + 3_000).length).toBeLessThan(8);
    const after = traffic.starts.filter((t) => t >= answeredAt + 3_000);
    // Everyone goes again (no probe first), at the rate of before.
    expect(Math.min(...traffic.rates.slice(traffic.starts.indexOf(after[0]!)))).toBeGreaterThanOrEqual(traffic.rates[traffic.starts.indexOf(after[0]!) - 1]!);
    expect(governor.currentRatePerMinute).toBeGreaterThanOrEqual(START_RATE);
  });

  it('5% stray 429s (Retry-After: 1): the rate stays up; the run costs little more than the waits asked', async () => {
    const clean = await run(fake({}), { requests: 1_500 });
    const cleanMs = clean.endedAt;
    await running!.time.until(clean.governor.stop());
    running!.time.dispose();
    running = undefined;
    const { traffic, governor, endedAt } = await run(fake({ strayShare: 0.05, retryAfterSeconds: 1 }), { requests: 1_500 });
    expect(traffic.completed).toBe(1_500);
    expect(traffic.rateLimited).toBeGreaterThan(30);
    expect(endedAt).toBeLessThanOrEqual(1.5 * cleanMs + traffic.rateLimited * 1_000);
    // Never cut below half of the rate it had reached.
    const lowestAfterPeak = Math.min(...traffic.rates.slice(traffic.rates.indexOf(Math.max(...traffic.rates))));
    expect(lowestAfterPeak).toBeGreaterThanOrEqual(0.5 * Math.max(...traffic.rates));
    expect(governor.currentRatePerMinute).toBeGreaterThanOrEqual(START_RATE);
  });

  it('after a 60 s storm (everything 429), back to ≥ 90% of the rate before it within 60 s', async () => {
    const storm = { fromMs: 90_000, durationMs: 60_000 };
    // 8 at a time, 50 ms each: 9,600 a minute, concurrency-bound.
    const { traffic } = await run(fake({ storm, retryAfterSeconds: 1 }), { requests: 30_000 });
    expect(traffic.completed).toBe(30_000);
    const before = ratePerMinute(traffic.admitted, 30_000, storm.fromMs);
    const stormEnd = storm.fromMs + storm.durationMs;
    expect(ratePerMinute(traffic.admitted, stormEnd + 30_000, stormEnd + 60_000)).toBeGreaterThanOrEqual(0.9 * before);
  });
});

describe('a configured ceiling', () => {
  it('is never passed in any 60 s window, and ≥ 95% of it is used', async () => {
    const { traffic, endedAt } = await run(fake({}), { requests: 1_500, ceiling: 600, maxConcurrency: 16, latencyMs: 20 });
    expect(traffic.completed).toBe(1_500);
    expect(traffic.rates[0]).toBe(600);
    expect(mostInAnyWindow(traffic.starts, 60_000)).toBeLessThanOrEqual(600);
    expect(ratePerMinute(traffic.starts, 0, endedAt)).toBeGreaterThanOrEqual(0.95 * 600);
  });
});
