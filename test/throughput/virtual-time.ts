/**
 * Virtual time for the rate governor, on jest's fake timers: the governor's gate and
 * bottleneck (inside it) both read `Date.now` and set real-looking timers, and `run`
 * fires those timers in time order, letting promise chains settle in between. Minutes of
 * traffic take a fraction of a second, and nothing sleeps for real.
 *
 * Promise callbacks and `setImmediate` stay real: `settle` uses a real macrotask turn to
 * drain them between timers.
 */
import { jest } from '@jest/globals';

export class VirtualTime {
  constructor(start = 0) {
    jest.useFakeTimers({ now: start, doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] });
  }

  now = (): number => Date.now();

  sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

  /** Fires timers until `done()` holds or no timer is left. */
  async run(done: () => boolean = () => false): Promise<void> {
    await settle();
    while (!done() && jest.getTimerCount() > 0) {
      jest.advanceTimersToNextTimer();
      await settle();
    }
  }

  /** Resolves `promise` while firing timers (bottleneck's own steps are timers too). */
  async until<T>(promise: Promise<T>): Promise<T> {
    let settled = false;
    const observed = promise.finally(() => (settled = true));
    observed.catch(() => undefined);
    await this.run(() => settled);
    return observed;
  }

  /** Back to real timers (after each test). */
  dispose(): void {
    jest.useRealTimers();
  }
}

/** Lets every pending promise reaction run (a real macrotask turn drains the microtask queue). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
