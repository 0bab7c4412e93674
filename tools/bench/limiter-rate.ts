// How many jobs a second one bottleneck limiter can start, with jobs that take no time:
// the ceiling of the connector's request rate when the server answers at once.
//
//   npm run build && node dist/tools/bench/limiter-rate.js
//
// Bottleneck's local datastore waits a timer turn (setTimeout 0) in each of its steps and
// runs them one job at a time, so this is a property of the limiter, not of the work.
// Measured for plain bottleneck and for the connector's limiter (src/http/limiter.ts),
// whose datastore yields to the microtask queue instead.

import Bottleneck from 'bottleneck';

import { createLimiter } from '../../src/http/limiter.js';

const JOBS = 3_000;
const CALLERS = 16;

async function measure(make: (options: Bottleneck.ConstructorOptions) => Bottleneck, maxConcurrent: number, minTime: number): Promise<number> {
  const limiter = make({ maxConcurrent, minTime });
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (next++ < JOBS) await limiter.schedule(() => new Promise<void>((resolve) => setImmediate(resolve)));
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await limiter.disconnect();
  return JOBS / seconds;
}

const limiters = [
  ['plain bottleneck', (options: Bottleneck.ConstructorOptions) => new Bottleneck(options)],
  ["the connector's limiter", createLimiter],
] as const;
for (const [name, make] of limiters) {
  for (const [maxConcurrent, minTime, label] of [
    [8, 0, 'no spacing'],
    [8, 60_010 / 100_000, 'spacing for 100,000/min (the configurable maximum)'],
    [32, 0, 'no spacing, 32 in flight'],
  ] as const) {
    const rate = await measure(make, maxConcurrent, minTime);
    process.stdout.write(`${name}, maxConcurrent ${maxConcurrent}, ${label}: ${Math.round(rate).toLocaleString('en-US')} jobs/s\n`);
  }
}
