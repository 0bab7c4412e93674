import Bottleneck from 'bottleneck';

/**
 * A bottleneck limiter whose local datastore does not wait a timer turn per step.
 *
 * Bottleneck's in-process datastore (`LocalDatastore`, 2.19.5, the last release) awaits
 * `yieldLoop()` = `setTimeout(resolve, 0)` in each of its steps, to behave like its
 * Redis datastore, and it runs those steps one job at a time. In Node a zero timeout is
 * at least 1 ms, so a limiter starts at most ~400 jobs a second whatever its settings
 * (`node dist/tools/bench/limiter-rate.js`). Against a slow or rate-limited API that is
 * irrelevant; against a CircleCI Server on the local network it was the ceiling of the
 * whole connector. Yielding to the microtask queue instead keeps every step
 * asynchronous and in the same order, only without the timer: the limiter then starts
 * several thousand jobs a second. Its counts, `minTime` spacing and `maxConcurrent`
 * cap are unchanged (test/throughput checks both against the limiter as patched).
 *
 * The patch touches one method of this limiter's own store, and only when that store
 * has the shape described above; any other bottleneck keeps its behaviour.
 */
export function createLimiter(options: Bottleneck.ConstructorOptions): Bottleneck {
  const limiter = new Bottleneck(options);
  const store = (limiter as unknown as { _store?: { yieldLoop?: unknown; constructor?: { name?: string } } })._store;
  if (store && typeof store.yieldLoop === 'function' && store.constructor?.name === 'LocalDatastore') {
    store.yieldLoop = (): Promise<void> => Promise.resolve();
  }
  return limiter;
}
