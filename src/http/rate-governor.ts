/**
 * One governor per run decides when each request may start. Every attempt of every
 * request of the run waits here for the strictest of:
 *
 * - the concurrency cap (`max_concurrency` attempts in flight);
 * - the request rate, as a token bucket: at most a second's worth of requests at once
 *   (rate / 60), refilled at the rest of the rate, so that no 60 s window ever holds
 *   more than `requests_per_minute` starts, while high rates
 *   need no timer per request. The rate starts at the configured ceiling and adapts
 *   (additive increase, multiplicative decrease): after a storm of 429s it drops to 90%
 *   of the rate the server was found to sustain, then 429-free time climbs it back
 *   linearly, never above the ceiling;
 * - a shared pause: a 429 holds every request until its `Retry-After` (or, for a bare
 *   429, a backoff that grows while 429s keep coming), and after a 429 only one attempt
 *   (a probe) goes at a time until one is answered without 429, so a storm of 429s costs
 *   one request per pause instead of one per waiting request;
 * - the quota the server announces (`RateLimit-Remaining`/`-Reset` or `X-RateLimit-*`):
 *   the remaining requests are spread evenly over the time to the reset instead of
 *   being spent at once and then waiting at 0.
 *
 * The clock and the timer are injected, so the policy is tested in virtual time.
 */
export interface GovernorOptions {
  maxConcurrency: number;
  requestsPerMinute: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** Handed to each attempt; the outcome callbacks take it back to tell which attempt answered. */
export interface Permit {
  /** Start order of the attempt in the run, from 0. */
  readonly seq: number;
  readonly startedAt: number;
  /** Started while probing after a 429 (its own 429 does not lower the rate again). */
  readonly probe: boolean;
}

/** The rate never drops below this many requests per minute. */
export const MIN_RATE_PER_MINUTE = 6;
/** After a storm of 429s the rate is this fraction of the rate the server sustained (see `answered`). */
export const DECREASE_FACTOR = 0.9;
/** Each 429-free second adds this fraction of the rate in use before the last decrease. */
export const INCREASE_PER_SECOND = 0.005;
/** Fewer accepted requests than this in the last minute say nothing reliable about the limit. */
const MIN_MEASURED_ANSWERS = 20;
/** After a quota window resets, hold further requests this long for the first answer's headers. */
const LAPSED_HOLD_MS = 1_000;
/** Quota windows resetting sooner than this are spent as they come, not spread. */
const SPREAD_MIN_MS = 2_000;
/** `seq` of the placeholder quota that holds requests after a reset. */
const LAPSED = -1;
/**
 * Pause after the n-th bare 429 in a row: at least BASE·GROWTH^(n-1), at most MAX. The
 * growth is gentle: a short wall is not overslept by much, and a minute-long one still
 * costs only about ten probes.
 */
const BARE_429_PAUSE_BASE_MS = 500;
const BARE_429_PAUSE_GROWTH = 1.5;
const BARE_429_PAUSE_MAX_MS = 10_000;

interface Waiter {
  resolve: (permit: Permit) => void;
  reject: (error: Error) => void;
}

/** Requests the server still accepts before its quota window resets. */
interface Quota {
  budget: number;
  resetAt: number;
  /** The attempt whose answer announced it; older answers do not overwrite it. */
  seq: number;
}

export class RateGovernor {
  private readonly maxConcurrency: number;
  private readonly ceiling: number;
  private readonly floor: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly queue: Waiter[] = [];
  private inFlight = 0;
  private started = 0;
  private lastStart = -Infinity;
  /** Token bucket of the rate: starts available now, and when it was last topped up. */
  private tokens: number;
  private tokensAt = -Infinity;
  private pausedUntil = -Infinity;
  private rate: number;
  private probing = false;
  private consecutive429 = 0;
  private lastDecreaseAt = -Infinity;
  /** The rate in use when it was last decreased: the scale of the additive increase. */
  private rateAtDecrease: number;
  private lastIncreaseAt = -Infinity;
  private announced: Quota | undefined;
  /** Requests answered without 429, per second of the last minute (a ring indexed by second). */
  private readonly acceptedPerSecond = new Array<number>(60).fill(0);
  private acceptedSecond = 0;
  private acceptedTotal = 0;
  private firstStartAt = 0;
  /** A 429 said the rate is too high; it is lowered when the storm ends. */
  private tooFast = false;
  private stormStartedAt = 0;
  private acceptedBeforeStorm = 0;
  /** When the pending timer fires (Infinity: none pending). */
  private wakeAt = Infinity;
  private stopped = false;

  constructor(options: GovernorOptions) {
    this.maxConcurrency = Math.max(1, Math.floor(options.maxConcurrency));
    this.ceiling = Math.max(1, options.requestsPerMinute);
    this.floor = Math.min(MIN_RATE_PER_MINUTE, this.ceiling);
    this.rate = this.ceiling;
    this.rateAtDecrease = this.ceiling;
    this.tokens = this.burst();
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** Runs one attempt when every limit allows it; the slot is held until the attempt settles. */
  async schedule<T>(attempt: (permit: Permit) => Promise<T>): Promise<T> {
    const permit = await new Promise<Permit>((resolve, reject) => {
      if (this.stopped) {
        reject(new Error('the rate governor is stopped'));
        return;
      }
      this.queue.push({ resolve, reject });
      this.pump();
    });
    try {
      return await attempt(permit);
    } finally {
      this.inFlight -= 1;
      this.pump();
    }
  }

  /**
   * The server answered 429 and the request will be retried after `waitMs`. Everyone
   * waits at least that long (when the server did not say how long, `serverSaidWhen`
   * false, the pause grows with every further 429 of a probe), then probes go one at a
   * time. A 429 to an attempt sent after the last rate decrease marks the rate as too
   * high; it is lowered when the storm ends (see `answered`).
   */
  rateLimited(permit: Permit, waitMs: number, serverSaidWhen: boolean): void {
    const now = this.now();
    if (permit.probe) this.consecutive429 += 1;
    else if (!this.probing) this.consecutive429 = 1;
    this.probing = true;
    const floor = Math.min(BARE_429_PAUSE_MAX_MS, BARE_429_PAUSE_BASE_MS * BARE_429_PAUSE_GROWTH ** Math.max(0, this.consecutive429 - 1));
    this.pausedUntil = Math.max(this.pausedUntil, now + (serverSaidWhen ? waitMs : Math.max(waitMs, floor)));
    if (!permit.probe && permit.startedAt >= this.lastDecreaseAt && !this.tooFast) {
      this.tooFast = true;
      this.stormStartedAt = now;
      this.acceptedBeforeStorm = this.acceptedLastMinute(now);
    }
  }

  /**
   * The server answered with something other than 429: the rate climbs, and the answer
   * to a probe ends the storm (an attempt sent before the 429 says nothing about now).
   * If the rate was too high, it becomes DECREASE_FACTOR of what the server accepted in
   * the minute before the storm, per minute of that minute plus the storm: the rate the
   * server sustains when it counts per minute (a shorter window is underestimated, and
   * the additive increase recovers it).
   */
  answered(permit: Permit): void {
    const now = this.now();
    this.acceptedLastMinute(now);
    this.acceptedPerSecond[this.acceptedSecond % 60]! += 1;
    this.acceptedTotal += 1;
    if (this.probing && !permit.probe) return;
    this.probing = false;
    this.consecutive429 = 0;
    if (this.tooFast) {
      this.tooFast = false;
      // What the server accepted in the minute before it started refusing, spread over
      // that minute and the time it then refused everything.
      const accepted = this.acceptedBeforeStorm;
      const span = Math.max(1_000, now - Math.max(this.stormStartedAt - 60_000, this.firstStartAt));
      if (accepted < MIN_MEASURED_ANSWERS) {
        this.rateAtDecrease = this.rate; // too few answers to measure: halve
        this.setRate(Math.max(this.floor, this.rate / 2), now);
      } else {
        this.rateAtDecrease = Math.min(this.rate, (accepted * 60_000) / span);
        this.setRate(Math.max(this.floor, this.rateAtDecrease * DECREASE_FACTOR), now);
      }
      this.lastDecreaseAt = now;
      this.lastIncreaseAt = now;
    } else if (this.rate < this.ceiling && now > this.lastIncreaseAt) {
      const climb = ((now - this.lastIncreaseAt) / 1000) * INCREASE_PER_SECOND * this.rateAtDecrease;
      this.setRate(Math.min(this.ceiling, this.rate + climb), now);
      this.lastIncreaseAt = now;
    }
    this.pump();
  }

  /**
   * Quota headers of an answer: `remaining` requests until `resetMs` from now. Requests
   * started after this attempt have already used some of it.
   */
  quota(permit: Permit, remaining: number | undefined, resetMs: number | undefined): void {
    if (remaining === undefined || resetMs === undefined) return;
    if (this.announced && this.announced.seq > permit.seq && this.now() < this.announced.resetAt) return;
    const startedSince = this.started - permit.seq - 1;
    this.announced = { budget: remaining - startedSince, resetAt: this.now() + resetMs, seq: permit.seq };
    this.pump();
  }

  get currentRatePerMinute(): number {
    return this.rate;
  }

  /** Drops the waiting requests (they reject); attempts in flight finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const waiter of this.queue.splice(0)) waiter.reject(new Error('the rate governor is stopped'));
  }

  /** Starts as many waiting attempts as the limits allow now, or sets a timer for the next. */
  private pump(): void {
    if (this.stopped) return;
    while (this.queue.length > 0 && this.inFlight < (this.probing ? 1 : this.maxConcurrency)) {
      const now = this.now();
      const at = this.earliestStart(now);
      if (at > now) {
        // A timer already set for an earlier moment will look again then; news that
        // allows an earlier start (an answer, fresh quota headers) sets an earlier one.
        if (at < this.wakeAt) {
          this.wakeAt = at;
          void this.sleep(at - now).then(() => {
            if (this.wakeAt === at) this.wakeAt = Infinity;
            this.pump();
          });
        }
        return;
      }
      this.start(this.queue.shift()!, now);
    }
  }

  private earliestStart(now: number): number {
    this.refill(now);
    let at = this.pausedUntil;
    if (this.tokens < 1) at = Math.max(at, now + ((1 - this.tokens) * 60_000) / this.refillPerMinute());
    let quota = this.announced;
    if (quota !== undefined && now >= quota.resetAt) {
      // What the new window allows is unknown until an answer says so: one request asks,
      // the others wait for its answer (a bounded while, in case no answer carries headers).
      quota = this.announced = quota.seq === LAPSED ? undefined : { budget: 1, resetAt: now + LAPSED_HOLD_MS, seq: LAPSED };
    }
    if (quota !== undefined) {
      if (quota.budget <= 0) at = Math.max(at, quota.resetAt);
      else if (quota.resetAt - now > SPREAD_MIN_MS) {
        // A long way to the reset: spread the budget, so that it does not go in a burst
        // followed by a long wall. (Close to a reset, spreading would only slow down a
        // sliding window, whose slots free up continuously.)
        const from = Math.max(this.lastStart, now - (quota.resetAt - now));
        at = Math.max(at, from + (quota.resetAt - from) / (quota.budget + 1));
      }
    }
    return at;
  }

  /** Starts the bucket holds at most: a second's worth at the current rate. */
  private burst(): number {
    return Math.max(1, this.rate / 60);
  }

  /**
   * Refill per minute: the rate less the burst, plus one. Starts in any 60 s window are
   * then fewer than burst + refill = rate + 1, so at most the rate.
   */
  private refillPerMinute(): number {
    return this.rate - this.burst() + 1;
  }

  private refill(now: number): void {
    if (now > this.tokensAt) {
      if (this.tokensAt !== -Infinity) this.tokens = Math.min(this.burst(), this.tokens + ((now - this.tokensAt) * this.refillPerMinute()) / 60_000);
      this.tokensAt = now;
    }
  }

  private setRate(perMinute: number, now: number): void {
    this.refill(now);
    this.rate = perMinute;
    this.tokens = Math.min(this.tokens, this.burst());
  }

  private start(waiter: Waiter, now: number): void {
    const permit: Permit = { seq: this.started, startedAt: now, probe: this.probing };
    this.started += 1;
    this.inFlight += 1;
    if (this.started === 1) this.firstStartAt = now;
    this.lastStart = now;
    this.tokens -= 1;
    if (this.announced) this.announced.budget -= 1;
    waiter.resolve(permit);
  }

  /** Requests answered without 429 in the last minute (the ring is first moved up to `now`). */
  private acceptedLastMinute(now: number): number {
    const second = Math.floor(now / 1000);
    if (second > this.acceptedSecond) {
      for (let s = Math.max(this.acceptedSecond + 1, second - 59); s <= second; s++) {
        this.acceptedTotal -= this.acceptedPerSecond[s % 60]!;
        this.acceptedPerSecond[s % 60] = 0;
      }
      this.acceptedSecond = second;
    }
    return this.acceptedTotal;
  }
}
