/**
 * The governor's bottleneck limiter (src/http/limiter.ts): its datastore no longer waits a
 * timer turn in each step, and it still keeps its concurrency cap, its spacing and the
 * order of jobs.
 */
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import Bottleneck from 'bottleneck';

import { createLimiter } from '../../src/http/limiter.js';
import { VirtualTime } from '../throughput/virtual-time.js';

/** Runs `count` jobs that each take one turn of the event loop; returns start times and the peak in flight. */
async function runJobs(limiter: Bottleneck, count: number, clock: () => number = () => performance.now()): Promise<{ order: number[]; starts: number[]; peak: number }> {
  let inFlight = 0;
  let peak = 0;
  const order: number[] = [];
  const starts: number[] = [];
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      limiter.schedule(async () => {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        order.push(i);
        starts.push(clock());
        await new Promise((resolve) => setImmediate(resolve));
        inFlight -= 1;
      }),
    ),
  );
  return { order, starts, peak };
}

/** setTimeout calls made while `count` jobs run. */
async function timersPerJob(limiter: Bottleneck, count: number): Promise<number> {
  const spy = jest.spyOn(globalThis, 'setTimeout');
  try {
    await runJobs(limiter, count);
    return spy.mock.calls.length / count;
  } finally {
    spy.mockRestore();
  }
}

describe('createLimiter', () => {
  const limiters: Bottleneck[] = [];
  const make = (options: Bottleneck.ConstructorOptions, patched = true): Bottleneck => {
    const limiter = patched ? createLimiter(options) : new Bottleneck(options);
    limiters.push(limiter);
    return limiter;
  };
  afterEach(async () => {
    await Promise.all(limiters.splice(0).map((l) => l.disconnect()));
  });

  it('sets one timer per job (its start), where plain bottleneck sets several', async () => {
    // Each timer is at least 1 ms in Node and the datastore's steps run one job at a
    // time: the timers of the plain limiter are what capped it near 400 starts a second.
    expect(await timersPerJob(make({ maxConcurrent: 4, minTime: 0 }, false), 40)).toBeGreaterThanOrEqual(3);
    expect(await timersPerJob(make({ maxConcurrent: 4, minTime: 0 }), 40)).toBeLessThanOrEqual(1);
  });

  it('keeps the concurrency cap and the order of jobs', async () => {
    const { order, peak } = await runJobs(make({ maxConcurrent: 3, minTime: 0 }), 60);
    expect(peak).toBe(3);
    expect(order).toEqual(Array.from({ length: 60 }, (_, i) => i));
  });

  it('keeps the spacing between starts (minTime)', async () => {
    // In virtual time: bottleneck spaces starts with timers, and on a loaded machine a
    // stalled event loop fires several due timers in one turn, which would say nothing
    // about the schedule the limiter keeps.
    const time = new VirtualTime(1_000_000);
    try {
      const { starts } = await time.until(runJobs(make({ maxConcurrent: 10, minTime: 25 }), 8, time.now));
      expect(starts).toHaveLength(8);
      starts.forEach((start, k) => expect({ k, gap: start - starts[0]! }).toEqual({ k, gap: k * 25 }));
    } finally {
      time.dispose();
    }
  });
});
