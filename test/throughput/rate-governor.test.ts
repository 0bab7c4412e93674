/**
 * The rate governor's invariants in virtual time, against the fake API's own limiter: no
 * limit until the server shows one, never above a ceiling, below an unknown limit with a
 * bounded share of 429s, a lone 429 costs only its own wait, and Retry-After and quota
 * headers are obeyed. The governor's bottleneck limiter really runs, on jest's fake
 * timers. Exact percentages live in the benchmark (docs/PERFORMANCE.md), not here.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { EVIDENCE, RateGovernor } from '../../src/http/rate-governor.js';
import type { RateLimitOptions } from '../../tools/fake-circleci/faults.js';
import { fakeServer, mostInAnyWindow, ratePerMinute, simulate, type Answer, type ServerModel, type Traffic } from './simulation.js';
import { VirtualTime } from './virtual-time.js';

let running: { time: VirtualTime; governor: RateGovernor } | undefined;

afterEach(async () => {
  if (running === undefined) return;
  const { time, governor } = running;
  running = undefined;
  await time.until(governor.stop());
  time.dispose();
});

interface Run {
  traffic: Traffic;
  governor: RateGovernor;
  endedAt: number;
}

/** `requests` requests through a governor with the default config (or a ceiling) against `server`. */
async function run(server: ServerModel, options: { requests: number; maxConcurrency?: number; latencyMs?: number; ceiling?: number }): Promise<Run> {
  if (running !== undefined) {
    await running.time.until(running.governor.stop());
    running.time.dispose();
  }
  const time = new VirtualTime();
  const maxConcurrency = options.maxConcurrency ?? 8;
  const governor = new RateGovernor({ maxConcurrency, ceilingPerMinute: options.ceiling });
  running = { time, governor };
  // Answers overtake each other (up to 10 ms apart), as on a real network.
  const traffic = await simulate({ governor, time, server, requests: options.requests, workers: 2 * maxConcurrency, latencyMs: options.latencyMs ?? 50, jitterMs: 10 });
  return { traffic, governor, endedAt: time.now() };
}

const fake = (options: RateLimitOptions): ServerModel => fakeServer(options);
const share429 = (traffic: Traffic): number => traffic.rateLimited / traffic.starts.length;

/** A server that answers the arrivals numbered in `refused` with 429 (`Retry-After: 3`); records when it answered them. */
function refusing(refused: number[]): { server: ServerModel; answeredAt: number[] } {
  const answeredAt: number[] = [];
  let index = 0;
  const server: ServerModel = {
    arrive(now) {
      const refuse = refused.includes(index++);
      if (refuse) answeredAt.push(now + 50);
      const answer: Answer = refuse ? { status: 429, headers: { 'Retry-After': '3' } } : { status: 200, headers: {} };
      return { answer, done: () => undefined };
    },
  };
  return { server, answeredAt };
}

describe('until the server shows a limit, concurrency alone bounds the requests', () => {
  it('max_concurrency in flight within the first 10 requests, and no limit', async () => {
    const { traffic, governor } = await run(fake({}), { requests: 2_000, maxConcurrency: 32, latencyMs: 20 });
    expect(traffic.completed).toBe(2_000);
    expect(traffic.rateLimited).toBe(0);
    // The first 32 start at once: every one of the first 10 starts found nothing to wait for.
    expect(traffic.starts.slice(0, 10).every((t) => t === traffic.starts[0])).toBe(true);
    expect(traffic.peakInFlight).toBe(32);
    expect(governor.limitPerMinute).toBe(Infinity);
    expect(traffic.limits.every((limit) => limit === Infinity)).toBe(true);
  });

  it('8 at a time, 50 ms each: the rate is what concurrency allows from the start', async () => {
    const { traffic, endedAt } = await run(fake({}), { requests: 2_000 });
    expect(traffic.completed).toBe(2_000);
    // 8 / 50–60 ms: at least 8,000 a minute over the whole run.
    expect(ratePerMinute(traffic.starts, 0, endedAt)).toBeGreaterThanOrEqual(8_000);
  });
});

describe('a configured ceiling', () => {
  it('is never passed in any 60 s window', async () => {
    const { traffic } = await run(fake({}), { requests: 1_500, ceiling: 600, maxConcurrency: 16, latencyMs: 20 });
    expect(traffic.completed).toBe(1_500);
    expect(traffic.limits[0]).toBe(600);
    expect(mostInAnyWindow(traffic.starts, 60_000)).toBeLessThanOrEqual(600);
  });
});

describe('a limit unknown to the connector', () => {
  it.each([
    ['bare 429s', 300, false],
    ['bare 429s', 1_200, false],
    ['429s with Retry-After', 300, 'retry-after'],
    ['quota headers', 300, true],
  ] as const)('%s at %d/min: the limit converges below it, never collapses, and 429s stay a small share', async (_, limit, headers) => {
    const requests = 4 * limit;
    const { traffic, governor, endedAt } = await run(fake({ requestsPerMinute: limit, headers }), { requests });
    expect(traffic.completed).toBe(requests);
    expect(traffic.gaveUp).toBe(0);
    expect(share429(traffic)).toBeLessThan(0.05);
    // After the first minute's wall, never much above it in any minute (429s included).
    expect(mostInAnyWindow(traffic.starts.filter((t) => t >= 60_000), 60_000)).toBeLessThanOrEqual(1.15 * limit);
    expect(governor.limitPerMinute).toBeGreaterThanOrEqual(0.5 * limit);
    // What the server accepted after the first minute: most of the limit.
    expect(ratePerMinute(traffic.admitted, 60_000, endedAt)).toBeGreaterThanOrEqual(0.75 * limit);
  });
});

describe('429s that are not about the rate', () => {
  it('a lone 429 costs only its own wait: the others go on, and no limit is set', async () => {
    const { server, answeredAt } = refusing([100]);
    const { traffic, governor } = await run(server, { requests: 600, latencyMs: 100 });
    expect(traffic.completed).toBe(600);
    const at = answeredAt[0]!;
    const before = traffic.starts.filter((t) => t >= at - 3_000 && t < at).length;
    // 8 at a time, 100 ms each: about 80 starts a second, before the 429 and during its wait.
    expect(before).toBeGreaterThan(100);
    expect(traffic.starts.filter((t) => t >= at && t < at + 3_000).length).toBeGreaterThanOrEqual(0.9 * before);
    expect(governor.limitPerMinute).toBe(Infinity);
  });

  it('5% stray 429s (Retry-After: 1): every request done, in at most 1.5× the clean time plus the waits asked', async () => {
    const clean = await run(fake({}), { requests: 2_000 });
    const { traffic, endedAt } = await run(fake({ strayShare: 0.05, retryAfterSeconds: 1 }), { requests: 2_000 });
    expect(traffic.completed).toBe(2_000);
    expect(traffic.rateLimited).toBeGreaterThan(40);
    expect(endedAt).toBeLessThanOrEqual(1.5 * clean.endedAt + traffic.rateLimited * 1_000);
  });

  it('after a 60 s storm (everything 429), back to ≥ 90% of the rate before it within 60 s', async () => {
    const storm = { fromMs: 60_000, durationMs: 60_000 };
    const { traffic } = await run(fake({ storm, retryAfterSeconds: 1 }), { requests: 25_000 });
    expect(traffic.completed).toBe(25_000);
    const before = ratePerMinute(traffic.admitted, 30_000, storm.fromMs);
    const stormEnd = storm.fromMs + storm.durationMs;
    expect(ratePerMinute(traffic.admitted, stormEnd + 30_000, stormEnd + 60_000)).toBeGreaterThanOrEqual(0.9 * before);
  });
});

describe('headers are obeyed', () => {
  it('429s that show the limit pause every request for their Retry-After', async () => {
    const { server, answeredAt } = refusing(Array.from({ length: EVIDENCE }, (_, i) => 100 + i));
    const { traffic } = await run(server, { requests: 600, latencyMs: 100 });
    expect(traffic.completed).toBe(600);
    const last = answeredAt[EVIDENCE - 1]!;
    // Nothing starts during the 3 s asked but what was already let through (at most one slot's worth each).
    expect(traffic.starts.filter((t) => t > last && t < last + 3_000).length).toBeLessThanOrEqual(8);
    // Then they go again, at the limit the 429s showed.
    expect(traffic.starts.filter((t) => t >= last + 3_000 && t < last + 5_000).length).toBeGreaterThan(8);
  });

  it('a spent quota holds every request until its reset', async () => {
    let index = 0;
    const server: ServerModel = {
      arrive() {
        // The 50th answer says none is left for 20 s.
        const headers: Record<string, string> = index++ === 49 ? { 'RateLimit-Remaining': '0', 'RateLimit-Reset': '20' } : {};
        return { answer: { status: 200, headers }, done: () => undefined };
      },
    };
    const { traffic } = await run(server, { requests: 300 });
    expect(traffic.completed).toBe(300);
    expect(traffic.rateLimited).toBe(0);
    const answered = traffic.starts[49]! + 50;
    expect(traffic.starts.filter((t) => t > answered + 10 && t < answered + 20_000)).toEqual([]);
    expect(traffic.starts.filter((t) => t >= answered + 20_000).length).toBeGreaterThan(200);
  });
});

describe('a pause always ends', () => {
  it('when the first request after it ends unanswered (it threw), another goes first', async () => {
    const time = new VirtualTime();
    const governor = new RateGovernor({ maxConcurrency: 4 });
    running = { time, governor };
    // 20 answered, then enough 429s to show a limit, with a wait: every request pauses for 1 s.
    for (let i = 0; i < 20 + EVIDENCE; i++) await time.until(governor.schedule(async (permit) => governor.settle(permit, { refused: i >= 20, waitMs: 1_000 })));
    const first = time.until(governor.schedule(() => Promise.reject(new Error('a bug, not an answer')), true));
    await expect(first).rejects.toThrow('a bug');
    const next = await time.until(governor.schedule(async (permit) => governor.settle(permit, { refused: false })));
    expect(next).toBe(false);
    expect(time.now()).toBeGreaterThanOrEqual(1_000);
  });
});
