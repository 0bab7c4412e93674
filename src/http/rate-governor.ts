import Bottleneck from 'bottleneck';

/**
 * One governor per run decides when each request may start: a cap on requests in flight,
 * a request rate, and a shared pause. The rate adapts (additive increase, multiplicative
 * decrease): a 429 pauses everyone until `Retry-After` and halves the rate, each success
 * climbs back toward the configured ceiling, so a 429 storm settles into a steady rate
 * instead of a retry storm. Quota headers (`RateLimit-*`, `X-RateLimit-*`) pause before
 * the server has to say 429.
 */
export interface GovernorOptions {
  maxConcurrency: number;
  requestsPerMinute: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const MIN_RATE_PER_MINUTE = 6;

export class RateGovernor {
  private readonly limiter: Bottleneck;
  private readonly ceiling: number;
  private rate: number;
  private pausedUntil = 0;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(options: GovernorOptions) {
    this.ceiling = options.requestsPerMinute;
    this.rate = options.requestsPerMinute;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.limiter = new Bottleneck({ maxConcurrent: options.maxConcurrency, minTime: this.minTime() });
  }

  /** Runs one attempt when the rate, the concurrency cap and any pause allow it. */
  schedule<T>(attempt: () => Promise<T>): Promise<T> {
    return this.limiter.schedule(async () => {
      await this.waitForPause();
      return attempt();
    });
  }

  /** The server said 429: everyone waits `waitMs`, and the rate halves. */
  rateLimited(waitMs: number): void {
    this.pauseFor(waitMs);
    this.setRate(Math.max(MIN_RATE_PER_MINUTE, this.rate / 2));
  }

  /** A request succeeded: climb back toward the ceiling by a small step. */
  succeeded(): void {
    if (this.rate < this.ceiling) this.setRate(Math.min(this.ceiling, this.rate + Math.max(1, this.ceiling / 100)));
  }

  /** Quota headers: when the window is spent, hold requests until it resets. */
  quota(remaining: number | undefined, resetMs: number | undefined): void {
    if (remaining !== undefined && resetMs !== undefined && remaining <= 0) this.pauseFor(resetMs);
  }

  get currentRatePerMinute(): number {
    return this.rate;
  }

  async stop(): Promise<void> {
    await this.limiter.stop({ dropWaitingJobs: true }).catch(() => undefined);
  }

  private pauseFor(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + ms);
  }

  private async waitForPause(): Promise<void> {
    for (let wait = this.pausedUntil - this.now(); wait > 0; wait = this.pausedUntil - this.now()) {
      await this.sleep(wait);
    }
  }

  private setRate(perMinute: number): void {
    this.rate = perMinute;
    this.limiter.updateSettings({ minTime: this.minTime() });
  }

  private minTime(): number {
    return Math.floor(60_000 / this.rate);
  }
}
