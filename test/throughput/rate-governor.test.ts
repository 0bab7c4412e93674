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
async function run(server: ServerModel, options: { requests: number; maxConcurrency?: number; latencyMs?: number; jitterMs?: number; ceiling?: number }): Promise<Run> {
  const time = new VirtualTime();
  const logs: string[] = [];
  const governor = new RateGovernor({ maxConcurrency: options.maxConcurrency ?? 8, ceilingPerMinute: options.ceiling, log: (message) => logs.push(message) });
  running = { time, governors: [governor] };
  const maxConcurrency = options.maxConcurrency ?? 8;
  const traffic = await simulate({ governor, time, server, requests: options.requests, workers: 2 * maxConcurrency, latencyMs: options.latencyMs ?? 50, jitterMs: options.jitterMs });
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

  it('held for 10 minutes: the climb slows near it, a rate a little over it is caught: ≤ 0.5% refused, ≥ 90% used', async () => {
    // Answers overtake each other (up to 60 ms apart), as on a real network.
    const { traffic, endedAt } = await run(fake({ requestsPerMinute: 1_200, headers: false }), { requests: 12_000, jitterMs: 60 });
    expect(traffic.completed).toBe(12_000);
    expect(endedAt).toBeGreaterThan(600_000);
    expect(share429(traffic)).toBeLessThanOrEqual(0.005);
    expect(ratePerMinute(traffic.admitted, 0, endedAt)).toBeGreaterThanOrEqual(0.9 * 1_200);
  });

  it('announced in quota headers: followed, ≥ 90% of it used, ≤ 2% refused', async () => {
    const { traffic, endedAt } = await run(fake({ requestsPerMinute: 300 }), { requests: 1_500 });
    expect(traffic.completed).toBe(1_500);
    expect(share429(traffic)).toBeLessThanOrEqual(0.02);
    expect(ratePerMinute(traffic.admitted, 0, endedAt)).toBeGreaterThanOrEqual(0.9 * 300);
  });
});

describe('429s that are not about the rate', () => {
  /** A server that answers the arrivals numbered in `refused` with 429 (`Retry-After: 3`); records when it answered them. */
  function refusing(refused: number[]): { server: ServerModel; answeredAt: number[] } {
    const answeredAt: number[] = [];
    let index = 0;
    const server: ServerModel = {
      arrive(now) {
        const refuse = refused.includes(index++);
        if (refuse) answeredAt.push(now + 100);
        const answer: Answer = refuse ? { status: 429, headers: { 'Retry-After': '3' } } : { status: 200, headers: {} };
        return { answer, done: () => undefined };
      },
    };
    return { server, answeredAt };
  }

  it('a lone 429 costs only its own wait: the others go on at the same rate', async () => {
    const { server, answeredAt } = refusing([100]);
    const { traffic, governor } = await run(server, { requests: 300, latencyMs: 100 });
    expect(traffic.completed).toBe(300);
    const at = answeredAt[0]!;
    const before = traffic.starts.filter((t) => t >= at - 3_000 && t < at).length;
    // 8 at a time, 100 ms each: about 80 starts a second, before the 429 and during its wait.
    expect(before).toBeGreaterThan(100);
    expect(traffic.starts.filter((t) => t >= at && t < at + 3_000).length).toBeGreaterThanOrEqual(0.9 * before);
    expect(Math.min(...traffic.rates.slice(traffic.starts.findIndex((t) => t >= at)))).toBeGreaterThanOrEqual(traffic.rates[traffic.starts.findIndex((t) => t >= at) - 1]!);
    expect(governor.currentRatePerMinute).toBeGreaterThanOrEqual(START_RATE);
  });

  it('429s in a row pause everyone for the Retry-After', async () => {
    const { server, answeredAt } = refusing([100, 101]);
    const { traffic } = await run(server, { requests: 300, latencyMs: 100 });
    expect(traffic.completed).toBe(300);
    const second = answeredAt[1]!;
    // Attempts bottleneck had already released (spaced by the rate) still go; nothing else.
    expect(traffic.starts.filter((t) => t > second && t < second + 3_000).length).toBeLessThan(8);
    // Then everyone goes again: answers accepted since, so no probe first.
    expect(traffic.starts.filter((t) => t >= second + 3_000 && t < second + 4_000).length).toBeGreaterThan(50);
  });

  it('429s that go on as often after a decrease were not about the rate: the decrease is undone', async () => {
    let index = 0;
    const server: ServerModel = {
      arrive() {
        const i = index++;
        // Every other answer refused for a while (evidence), then one in 20 whatever the rate.
        const refuse = (i >= 40 && i < 60 && i % 2 === 0) || (i > 80 && i % 20 === 0);
        const answer: Answer = refuse ? { status: 429, headers: { 'Retry-After': '1' } } : { status: 200, headers: {} };
        return { answer, done: () => undefined };
      },
    };
    const { traffic, logs } = await run(server, { requests: 1_000 });
    expect(traffic.completed).toBe(1_000);
    const lowered = logs.findIndex((line) => /: 429 on \d+ of the last \d+$/.test(line));
    expect(lowered).toBeGreaterThanOrEqual(0);
    const rateBefore = /^rate ([\d,]+)\/min/.exec(logs[lowered]!)![1];
    expect(logs.slice(lowered + 1)).toContainEqual(expect.stringMatching(new RegExp(`→ ${rateBefore}/min: 429 on \\d+ of the last \\d+, as many as before it was lowered: not a rate limit$`)));
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

  it('a storm after a whole minute accepted: straight back to about the rate before it, not climbing from a floor', async () => {
    const storm = { fromMs: 90_000, durationMs: 60_000 };
    const { traffic, logs } = await run(fake({ storm, retryAfterSeconds: 1 }), { requests: 20_000 });
    expect(traffic.completed).toBe(20_000);
    const before = ratePerMinute(traffic.admitted, 30_000, storm.fromMs);
    const stormEnd = storm.fromMs + storm.durationMs;
    // The probes' pause grows to at most 10 s; the 10 s after that are at ≥ 85% already.
    expect(ratePerMinute(traffic.admitted, stormEnd + 10_000, stormEnd + 20_000)).toBeGreaterThanOrEqual(0.85 * before);
    expect(logs.some((line) => /→ .*: 429 on \d+ of the last \d+$/.test(line))).toBe(true);
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

describe('the decisions at a wall, driven answer by answer', () => {
  /** A governor whose clock and pauses the test drives; `wake` ends the last pause. */
  function driven() {
    let t = 0;
    let seq = 0;
    const logs: string[] = [];
    const pauses: Array<{ at: number; ms: number; resolve: () => void }> = [];
    const governor = new RateGovernor({
      maxConcurrency: 8,
      now: () => t,
      sleep: (ms) => new Promise<void>((resolve) => pauses.push({ at: t, ms, resolve })),
      log: (message) => logs.push(message),
    });
    const answer = (refused: boolean, options: { probe?: boolean; waitMs?: number; asked?: boolean; startedAt?: number; seq?: number } = {}) =>
      governor.settle({ seq: options.seq ?? seq++, startedAt: options.startedAt ?? t, probe: options.probe ?? false }, refused, refused ? (options.waitMs ?? 1_000) : 0, undefined, options.asked ?? false);
    return {
      governor,
      logs,
      pauses,
      at: (ms: number) => void (t = ms),
      /** One answer at the current time, to an attempt started `startedAt` (now by default). */
      answer,
      /** A wall after 10 answers: 3 429s in a row (everyone pauses). */
      wall: () => {
        for (let i = 0; i < 10; i++) answer(false);
        for (let i = 0; i < 3; i++) answer(true);
      },
      /** The last pause ends (the clock moves to its end) and the governor lets a probe go. */
      wake: async () => {
        const last = pauses.at(-1)!;
        t = last.at + last.ms;
        for (const pause of pauses) pause.resolve();
        await new Promise((resolve) => setImmediate(resolve));
      },
    };
  }

  it('a wall whose 429s the window did not count (started before it): the refused probe earns the decrease', async () => {
    const d = driven();
    d.at(1_000);
    for (let i = 0; i < 10; i++) d.answer(false);
    const before = d.governor.currentRatePerMinute;
    // Sent before the window that the answers above closed: they do not count in it.
    for (let i = 0; i < 3; i++) d.answer(true, { startedAt: 900 });
    expect(d.governor.currentRatePerMinute).toBe(before);
    await d.wake();
    d.answer(true, { probe: true });
    await d.wake();
    d.answer(false, { probe: true });
    expect(d.governor.currentRatePerMinute).toBeLessThan(0.85 * before);
    expect(d.logs.at(-1)).toMatch(/: 429 on 4 in a row, the last after a pause$/);
    await d.governor.stop();
  });

  it('an answer to an attempt started before the 429s does not end the wall: a probe goes first', async () => {
    for (const late of [false, true]) {
      const d = driven();
      d.wall();
      // Accepted, but sent before the 429s (seq 9, the last of the answers above): old news.
      if (late) d.answer(false, { seq: 9 });
      await d.wake();
      const probe = await d.governor.schedule(async (permit) => permit.probe);
      expect(probe).toBe(true);
      await d.governor.stop();
    }
  });

  it('a decrease earned by a wall (429s in a row) is never undone by 429s after it', async () => {
    const d = driven();
    for (let i = 0; i < 40; i++) {
      d.at(i * 100);
      d.answer(false);
    }
    d.at(4_100);
    for (let i = 0; i < 3; i++) d.answer(true);
    await d.wake();
    d.answer(false, { probe: true });
    const afterWall = d.governor.currentRatePerMinute;
    expect(afterWall).toBeLessThan(START_RATE);
    // The next window: 3 lone 429s in 30, as many as the wall's window had. Strays would be undone.
    for (let i = 1; i <= 30; i++) {
      d.at(5_200 + i * 100);
      d.answer(i % 10 === 0);
      expect(d.governor.currentRatePerMinute).toBeLessThanOrEqual(afterWall);
    }
    expect(d.logs.some((line) => line.includes('not a rate limit'))).toBe(false);
    await d.governor.stop();
  });

  it('without Retry-After the probes are paced by the governor, not by their own backoff; with it, as asked', async () => {
    for (const asked of [false, true]) {
      const d = driven();
      d.wall();
      const probePauses: number[] = [];
      for (let i = 0; i < 8; i++) {
        await d.wake();
        d.answer(true, { probe: true, waitMs: 20_000, asked });
        probePauses.push(d.pauses.at(-1)!.ms);
      }
      if (asked) expect(probePauses.every((ms) => ms === 20_000)).toBe(true);
      else {
        expect(probePauses[0]).toBe(1_000);
        expect(Math.max(...probePauses)).toBeLessThan(20_000);
        // Growing, then held at its cap.
        expect(probePauses).toEqual([...probePauses].sort((a, b) => a - b));
        expect(probePauses.at(-1)).toBe(probePauses.at(-2));
      }
      await d.governor.stop();
    }
  });

  it('a young run meeting a per-minute limit in a burst: the wall is dated midway between its last 429 and the first answer', async () => {
    const d = driven();
    for (let i = 0; i < 300; i++) {
      d.at(i * 10);
      d.answer(false);
    }
    d.at(3_000);
    for (let i = 0; i < 3; i++) d.answer(true);
    let lastRefused = 3_000;
    for (;;) {
      await d.wake();
      // The server lets requests through again 60 s after the burst began.
      if (d.pauses.at(-1)!.at + d.pauses.at(-1)!.ms >= 60_000) break;
      lastRefused = d.pauses.at(-1)!.at + d.pauses.at(-1)!.ms;
      d.answer(true, { probe: true });
    }
    const resumed = d.pauses.at(-1)!.at + d.pauses.at(-1)!.ms;
    d.answer(false, { probe: true });
    expect(resumed - lastRefused).toBeGreaterThan(1_000);
    const rate = d.governor.currentRatePerMinute;
    // 300 accepted over the run's age and the wall: more than over the time to the answer, less than to the last 429.
    expect(rate).toBeGreaterThan((0.9 * 300 * 60_000) / resumed);
    expect(rate).toBeLessThan((0.9 * 300 * 60_000) / lastRefused);
    await d.governor.stop();
  });
});
