/**
 * A virtual clock for the rate governor: `sleep` registers a timer, `run` fires timers
 * in time order and lets promise chains settle in between. Minutes of traffic take
 * milliseconds, and nothing sleeps for real.
 */
export class VirtualTime {
  private clock = 0;
  private readonly timers: Array<{ at: number; seq: number; resolve: () => void }> = [];
  private seq = 0;

  now = (): number => this.clock;

  sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      this.timers.push({ at: this.clock + Math.max(0, ms), seq: this.seq++, resolve });
    });

  /** Fires timers until `done()` holds or no timer is left; the clock ends at the last timer fired. */
  async run(done: () => boolean = () => false, limitMs = Infinity): Promise<void> {
    await settle();
    while (!done() && this.timers.length > 0) {
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const timer = this.timers[0]!;
      if (timer.at > limitMs) break;
      this.timers.shift();
      this.clock = Math.max(this.clock, timer.at);
      timer.resolve();
      await settle();
    }
  }
}

/** Lets every pending promise reaction run (a macrotask turn drains the microtask queue). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
