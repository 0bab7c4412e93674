/**
 * The rate governor in virtual time: concurrency cap, the configured rate as a hard
 * ceiling, quota headers spread over their window, the shared pause and probe after a
 * 429, and AIMD turning a storm of bare 429s into a steady rate. The governor's
 * bottleneck limiter really runs, on jest's fake timers: no real sleeping, the clock
 * only moves when every pending request waits on it. Bottleneck takes a few timer steps
 * of 0–1 ms to start a job, so instants are asserted to within a few milliseconds.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { INCREASE_PER_SECOND, RateGovernor, type Permit } from '../../src/http/rate-governor.js';
import { mostInAnyWindow, ratePerMinute, simulate, slidingWindowServer, type Answer, type ServerModel } from './simulation.js';
import { VirtualTime } from './virtual-time.js';

/** Bottleneck's few timer steps per start. */
const STEP_MS = 5;

let running: { time: VirtualTime; governors: RateGovernor[] } | undefined;

/** Virtual time for one test; its governors are stopped and real timers are back after it. */
function virtualTime(): VirtualTime {
  const time = new VirtualTime();
  running = { time, governors: [] };
  return time;
}

afterEach(async () => {
  if (running === undefined) return;
  const { time, governors } = running;
  running = undefined;
  await time.until(Promise.all(governors.map((governor) => governor.stop())));
  time.dispose();
});

/** A governor on the (fake) real clock: the gate's own timers and bottleneck's both run on it. */
function governorOn(maxConcurrency: number, requestsPerMinute: number): RateGovernor {
  const governor = new RateGovernor({ maxConcurrency, requestsPerMinute });
  running!.governors.push(governor);
  return governor;
}

/** A server that answers 200 without headers, or whatever `answer` says for an attempt. */
function scriptedServer(answer: (now: number, index: number) => Answer | undefined): ServerModel {
  let index = 0;
  return {
    arrive: (now) => ({ answer: answer(now, index++) ?? { status: 200, headers: {} }, done: () => undefined }),
  };
}

describe('concurrency and rate', () => {
  it('keeps at most max_concurrency attempts in flight, and uses all of them', async () => {
    const time = virtualTime();
    const traffic = await simulate({ governor: governorOn(4, 100_000), time, server: scriptedServer(() => undefined), requests: 200, workers: 20, latencyMs: 100 });
    expect(traffic.completed).toBe(200);
    expect(traffic.peakInFlight).toBe(4);
    // Latency-bound: 200 requests, 4 at a time, 100 ms each (plus bottleneck's steps).
    expect(time.now()).toBeGreaterThanOrEqual(5_000);
    expect(time.now()).toBeLessThanOrEqual(5_000 + 50 * STEP_MS);
  });

  it('never starts more than requests_per_minute in any 60 s window, and uses ≥ 95% of it', async () => {
    const time = virtualTime();
    const traffic = await simulate({ governor: governorOn(8, 120), time, server: scriptedServer(() => undefined), requests: 600, workers: 16, latencyMs: 50 });
    expect(traffic.completed).toBe(600);
    expect(mostInAnyWindow(traffic.starts, 60_000)).toBeLessThanOrEqual(120);
    const used = ratePerMinute(traffic.starts, 0, time.now());
    expect(used).toBeGreaterThanOrEqual(0.95 * 120);
  });
});

describe('quota headers', () => {
  /** A fixed window: `limit` requests per `windowMs`, announced on every answer. */
  function fixedWindowServer(limit: number, windowMs: number): ServerModel & { refused: number } {
    const refuse = (resetSeconds: string): { answer: Answer; done: () => void } => ({
      answer: { status: 429, headers: { 'Retry-After': resetSeconds, 'RateLimit-Remaining': '0', 'RateLimit-Reset': resetSeconds } },
      done: () => undefined,
    });
    const server = {
      refused: 0,
      arrive(now: number): { answer: Answer; done: () => void } {
        const window = Math.floor(now / windowMs);
        if (window !== current) {
          current = window;
          used = 0;
        }
        const resetSeconds = String(Math.ceil(((window + 1) * windowMs - now) / 1000));
        if (used >= limit) {
          server.refused += 1;
          return refuse(resetSeconds);
        }
        used += 1;
        return { answer: { status: 200, headers: { 'RateLimit-Remaining': String(limit - used), 'RateLimit-Reset': resetSeconds } }, done: () => undefined };
      },
    };
    let current = -1;
    let used = 0;
    return server;
  }

  it('spreads the remaining quota over the time to the reset instead of spending it at once', async () => {
    const time = virtualTime();
    const server = fixedWindowServer(600, 60_000);
    const traffic = await simulate({ governor: governorOn(8, 100_000), time, server, requests: 1_500, workers: 16, latencyMs: 20 });
    expect(traffic.completed).toBe(1_500);
    expect(server.refused).toBeLessThanOrEqual(3);
    // Unspread, a window's 600 would go in about 1.5 s (8 at a time, 20 ms each) and
    // the rest of the minute would be a wall. Spread, no second holds more than a few
    // percent of it (the last 2 s before each reset are spent as they come).
    expect(mostInAnyWindow(traffic.starts, 1_000)).toBeLessThanOrEqual(40);
    expect(ratePerMinute(traffic.admitted, 0, time.now())).toBeGreaterThanOrEqual(0.9 * 600);
  });

  it('Remaining 0 holds every request until the reset; then one asks, and its answer opens the new window', async () => {
    const time = virtualTime();
    const governor = governorOn(4, 100_000);
    const first = await time.until(governor.schedule(async (permit) => permit));
    const t0 = time.now();
    governor.quota(first, 0, 5_000);
    const starts: number[] = [];
    const done = Promise.all(
      [1, 2, 3].map(() =>
        governor.schedule(async (permit) => {
          starts.push(time.now());
          await time.sleep(100);
          governor.quota(permit, 1_000, 60_000);
        }),
      ),
    );
    await time.until(done);
    expect(starts[0]! - t0).toBeGreaterThanOrEqual(5_000);
    expect(starts[0]! - t0).toBeLessThanOrEqual(5_000 + STEP_MS);
    // The others wait for the first answer's headers, then go at the announced pace (60 s / 1,000).
    const answered = starts[0]! + 100;
    expect(starts[1]! - answered).toBeGreaterThanOrEqual(0);
    expect(starts[1]! - answered).toBeLessThanOrEqual(STEP_MS);
    expect(starts[2]! - answered).toBeGreaterThanOrEqual(60);
    expect(starts[2]! - answered).toBeLessThanOrEqual(60 + STEP_MS);
  });

  it('a sliding window announced in headers: ≥ 90% of the limit used, ≤ 1% of requests refused', async () => {
    const time = virtualTime();
    const traffic = await simulate({
      governor: governorOn(8, 500),
      time,
      server: slidingWindowServer({ requestsPerMinute: 100, windowMs: 60_000 }),
      requests: 1_000,
      workers: 16,
      latencyMs: 50,
    });
    expect(traffic.completed).toBe(1_000);
    expect(traffic.rateLimited / traffic.starts.length).toBeLessThanOrEqual(0.01);
    expect(ratePerMinute(traffic.admitted, 0, time.now())).toBeGreaterThanOrEqual(90);
  });
});

describe('429', () => {
  it('pauses everyone until Retry-After, then sends one probe before opening up again', async () => {
    const time = virtualTime();
    const governor = governorOn(4, 100_000);
    let refusedAt: number | undefined;
    const server = scriptedServer((now, index) => {
      if (index !== 10) return undefined;
      refusedAt = now;
      return { status: 429, headers: { 'Retry-After': '3' } };
    });
    const traffic = await simulate({ governor, time, server, requests: 60, workers: 8, latencyMs: 100 });
    expect(traffic.completed).toBe(60);
    const answeredAt = refusedAt! + 100;
    const after = traffic.starts.filter((t) => t > answeredAt);
    // Nothing starts during the pause; the probe goes alone, the rest after its answer.
    const probe = after[0]!;
    expect(probe).toBeGreaterThanOrEqual(answeredAt + 3_000);
    expect(probe).toBeLessThanOrEqual(answeredAt + 3_000 + STEP_MS);
    expect(after[1]).toBeGreaterThanOrEqual(probe + 100);
    expect(after.filter((t) => t >= probe + 100 && t <= probe + 100 + STEP_MS)).toHaveLength(4);
  });

  it('after a storm the rate is 90% of what the server sustained; it climbs back linearly, never above the ceiling', async () => {
    // The policy alone, on an injected clock (the gate waits with the injected sleep).
    const time = { now: 0 };
    const governor = new RateGovernor({ maxConcurrency: 8, requestsPerMinute: 600, now: () => time.now, sleep: async () => undefined });
    let seq = 0;
    const permit = (probe: boolean): Permit => ({ seq: seq++, startedAt: time.now, probe });
    // The first start, then 150 answers in 30 s; then four attempts in flight answer 429.
    time.now = 0;
    const first = governor.schedule(async () => undefined).catch((error: Error) => error.message);
    for (let i = 0; i < 150; i++) {
      time.now = i * 200;
      governor.answered(permit(false));
    }
    time.now = 30_000;
    for (const refused of [0, 1, 2, 3].map(() => permit(false))) governor.rateLimited(refused, 1_000, true);
    expect(governor.currentRatePerMinute).toBe(600); // lowered once the storm is over
    time.now = 40_000;
    governor.rateLimited(permit(true), 1_000, true); // a probe refused: the storm goes on
    time.now = 50_000;
    governor.answered(permit(true));
    // 150 accepted between the first start and the storm, over the 50 s up to its end.
    expect(governor.currentRatePerMinute).toBeCloseTo(0.9 * 180, 6);
    time.now = 60_000;
    governor.answered(permit(false));
    expect(governor.currentRatePerMinute).toBeCloseTo(0.9 * 180 + 10 * INCREASE_PER_SECOND * 180, 6);
    time.now = 3_600_000;
    governor.answered(permit(false));
    expect(governor.currentRatePerMinute).toBe(600);
    await governor.stop();
    // Still waiting with the limiter when stopped: dropped, not left hanging.
    await expect(first).resolves.toMatch(/stopped|undefined/);
  });

  it('a storm of bare 429s (3× too fast, no headers) becomes a steady rate: every request completes', async () => {
    const time = virtualTime();
    const traffic = await simulate({
      governor: governorOn(8, 300),
      time,
      server: slidingWindowServer({ requestsPerMinute: 100, windowMs: 60_000, headers: false }),
      requests: 1_500,
      workers: 16,
      latencyMs: 50,
    });
    expect(traffic.gaveUp).toBe(0);
    expect(traffic.completed).toBe(1_500);
    expect(traffic.rateLimited / traffic.starts.length).toBeLessThanOrEqual(0.03);
    // After the first minutes the admitted rate settles near the limit.
    const end = time.now();
    expect(ratePerMinute(traffic.admitted, 5 * 60_000, end)).toBeGreaterThanOrEqual(85);
    expect(ratePerMinute(traffic.admitted, 0, end)).toBeLessThanOrEqual(100);
  });
});
