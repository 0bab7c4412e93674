import type Bottleneck from 'bottleneck';

import { createLimiter } from './limiter.js';

/**
 * One governor per run decides when each request may start. Every attempt of every
 * request of the run waits here for the strictest of:
 *
 * - the concurrency cap (`max_concurrency` attempts in flight);
 * - the request rate: starts spaced evenly at 60 s / rate, so that no 60 s window ever
 *   holds more than `requests_per_minute` starts. The rate starts at the configured
 *   ceiling and adapts (additive increase, multiplicative decrease): after a storm of
 *   429s it drops to 90% of the rate the server was found to sustain, then 429-free time
 *   climbs it back linearly, never above the ceiling;
 * - a shared pause: a 429 holds every request until its `Retry-After` (or, for a bare
 *   429, a backoff that grows while 429s keep coming), and after a 429 only one attempt
 *   (a probe) goes at a time until one is answered without 429, so a storm of 429s costs
 *   one request per pause instead of one per waiting request;
 * - the quota the server announces (`RateLimit-Remaining`/`-Reset` or `X-RateLimit-*`):
 *   the remaining requests are spread evenly over the time to the reset instead of
 *   being spent at once and then waiting at 0.
 *
 * Who does what. The first two are counts over time that one `Bottleneck` limiter keeps
 * for the whole run: `maxConcurrent` is the cap and `minTime` the spacing; the adaptive
 * policy moves the spacing with `updateSettings`. (Not its reservoir: `updateSettings`
 * stops the reservoir's refill heartbeat for good, bottleneck issue #185, and the rate
 * changes with every storm.) The last two are decisions about *when*, driven by the
 * answers the server gives, and stay a gate of our own in front of the limiter: a FIFO
 * queue that hands a request to the limiter once the pause, the probe rule and the quota
 * allow it. (Bottleneck cannot hold a queue until an instant, nor tell a probe from the
 * rest, and holding requests inside its jobs would spend their slots and tokens while
 * they wait.) An attempt starts inside its limiter job, at the moment the limiter grants
 * it a slot and a token, and keeps the slot until it settles; so the limiter's counts are
 * exactly the attempts'. A request the limiter starts after a 429 closed the gate (it was
 * already waiting in the limiter) does not go: it returns to the front of the gate.
 *
 * On the real clock (`now` is `Date.now`) the gate sets its own timers, which `stop()`
 * clears; an injected clock and `sleep` (tests) drive the gate, while bottleneck always
 * keeps real time.
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

/** Timer lag a minute of starts may gather between the limiter's grant and the attempt (see `spacing`). */
const START_LAG_MARGIN_MS = 10;
/** An increase of the rate is passed on to the limiter once it is this much above the rate the limiter has. */
const RATE_PUSH_STEP = 1.01;

/** A request waiting at the gate, or handed to the limiter and not yet started. */
interface Waiter {
  /** Arrival order: a request sent back to the gate keeps its place. */
  readonly order: number;
  readonly attempt: (permit: Permit) => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  /** Handed to the limiter as the probe after a 429. */
  probe: boolean;
}

/** Requests the server still accepts before its quota window resets. */
interface Quota {
  budget: number;
  resetAt: number;
  /** The attempt whose answer announced it; older answers do not overwrite it. */
  seq: number;
}

function stoppedError(): Error {
  return new Error('the rate governor is stopped');
}

export class RateGovernor {
  private readonly ceiling: number;
  private readonly floor: number;
  private readonly now: () => number;
  /** Waits of the gate on an injected clock; undefined on the real clock (own timers). */
  private readonly sleep: ((ms: number) => Promise<void>) | undefined;
  private readonly limiter: Bottleneck;
  /** The gate: requests not yet handed to the limiter, in arrival order. */
  private readonly queue: Waiter[] = [];
  private arrivals = 0;
  /** Handed to the limiter and not yet started (or sent back). */
  private handedOver = 0;
  private lastHandover = -Infinity;
  /** A probe is with the limiter and has not started yet. */
  private probeHandedOver = false;
  private inFlight = 0;
  private started = 0;
  private lastStart = -Infinity;
  private pausedUntil = -Infinity;
  private rate: number;
  /** The rate the limiter's spacing is set to (increases are passed on in steps). */
  private limiterRate: number;
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
  /** When the pending gate timer fires (Infinity: none pending). */
  private wakeAt = Infinity;
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(options: GovernorOptions) {
    this.ceiling = Math.max(1, options.requestsPerMinute);
    this.floor = Math.min(MIN_RATE_PER_MINUTE, this.ceiling);
    this.rate = this.limiterRate = this.rateAtDecrease = this.ceiling;
    this.now = options.now ?? Date.now;
    this.sleep = this.now === Date.now ? undefined : (options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))));
    this.limiter = createLimiter({ maxConcurrent: Math.max(1, Math.floor(options.maxConcurrency)), minTime: spacing(this.rate) });
    // Internal errors of the limiter would otherwise go unheard; our jobs never throw.
    this.limiter.on('error', () => undefined);
  }

  /** Runs one attempt when every limit allows it; the slot is held until the attempt settles. */
  schedule<T>(attempt: (permit: Permit) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.stopped) {
        reject(stoppedError());
        return;
      }
      this.queue.push({ order: this.arrivals++, attempt, resolve: resolve as (value: unknown) => void, reject, probe: false });
      this.pump();
    });
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
        this.setRate(Math.max(this.floor, this.rate / 2));
      } else {
        this.rateAtDecrease = Math.min(this.rate, (accepted * 60_000) / span);
        this.setRate(Math.max(this.floor, this.rateAtDecrease * DECREASE_FACTOR));
      }
      this.lastDecreaseAt = now;
      this.lastIncreaseAt = now;
    } else if (this.rate < this.ceiling && now > this.lastIncreaseAt) {
      const climb = ((now - this.lastIncreaseAt) / 1000) * INCREASE_PER_SECOND * this.rateAtDecrease;
      this.setRate(Math.min(this.ceiling, this.rate + climb));
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

  /**
   * Drops the waiting requests (they reject); attempts in flight finish. Leaves no timer
   * behind: the gate's timers are cleared, the limiter drops its queue and its (reservoir)
   * heartbeat is stopped (`disconnect`), so the process can exit at once.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const waiter of this.queue.splice(0)) waiter.reject(stoppedError());
    // Resolves only when the attempts in flight have settled: not awaited, like before.
    this.limiter.stop({ dropWaitingJobs: true, dropErrorMessage: 'the rate governor is stopped' }).catch(() => undefined);
    await this.limiter.disconnect();
  }

  /** Hands the waiting requests the gate lets through to the limiter, or sets a timer for the next. */
  private pump(): void {
    if (this.stopped) return;
    while (this.queue.length > 0) {
      // After a 429 one probe goes, once the attempts sent before it have been answered.
      if (this.probing && (this.inFlight > 0 || this.probeHandedOver)) return;
      const now = this.now();
      const at = this.gateOpensAt(now);
      if (at > now) {
        // A timer already set for an earlier moment will look again then; news that
        // allows an earlier start (an answer, fresh quota headers) sets an earlier one.
        if (at < this.wakeAt) this.wakeAfter(at, now);
        return;
      }
      this.handOver(this.queue.shift()!, now);
    }
  }

  private wakeAfter(at: number, now: number): void {
    this.wakeAt = at;
    const wake = (): void => {
      if (this.wakeAt === at) this.wakeAt = Infinity;
      this.pump();
    };
    const ms = Math.ceil(at - now);
    if (this.sleep) {
      void this.sleep(ms).then(wake);
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      wake();
    }, ms);
    this.timers.add(timer);
  }

  /** When the pause and the quota let the next request go (the rate is the limiter's). */
  private gateOpensAt(now: number): number {
    let at = this.pausedUntil;
    let quota = this.announced;
    if (quota !== undefined && now >= quota.resetAt) {
      // What the new window allows is unknown until an answer says so: one request asks,
      // the others wait for its answer (a bounded while, in case no answer carries headers).
      quota = this.announced = quota.seq === LAPSED ? undefined : { budget: 1, resetAt: now + LAPSED_HOLD_MS, seq: LAPSED };
    }
    if (quota !== undefined) {
      // Requests already with the limiter will use some of the budget.
      const budget = quota.budget - this.handedOver;
      if (budget <= 0) at = Math.max(at, quota.resetAt);
      else if (quota.resetAt - now > SPREAD_MIN_MS) {
        // A long way to the reset: spread the budget, so that it does not go in a burst
        // followed by a long wall. (Close to a reset, spreading would only slow down a
        // sliding window, whose slots free up continuously.)
        const from = Math.max(this.lastStart, this.lastHandover, now - (quota.resetAt - now));
        at = Math.max(at, from + (quota.resetAt - from) / (budget + 1));
      }
    }
    return at;
  }

  private handOver(waiter: Waiter, now: number): void {
    waiter.probe = this.probing;
    if (waiter.probe) this.probeHandedOver = true;
    this.handedOver += 1;
    this.lastHandover = now;
    // The probe goes ahead of requests the limiter already holds: they would only come back.
    this.limiter.schedule({ priority: waiter.probe ? 0 : 5 }, () => this.run(waiter)).catch(() => waiter.reject(stoppedError()));
  }

  /** The limiter's job: it has a slot and a token for this request; the attempt starts now, unless the gate closed meanwhile. */
  private async run(waiter: Waiter): Promise<void> {
    this.handedOver -= 1;
    if (waiter.probe) this.probeHandedOver = false;
    if (this.stopped) {
      waiter.reject(stoppedError());
      return;
    }
    const now = this.now();
    if (this.closedTo(waiter, now)) {
      // It waited in the limiter while a 429 (or a spent quota) closed the gate: back to
      // its place at the gate, and the slot goes back to the limiter at once.
      const at = this.queue.findIndex((other) => other.order > waiter.order);
      this.queue.splice(at < 0 ? this.queue.length : at, 0, waiter);
      this.pump();
      return;
    }
    const permit = this.start(waiter.probe, now);
    try {
      waiter.resolve(await waiter.attempt(permit));
    } catch (error) {
      waiter.reject(error as Error);
    } finally {
      this.inFlight -= 1;
      this.pump();
    }
  }

  private closedTo(waiter: Waiter, now: number): boolean {
    if (now < this.pausedUntil) return true;
    if (this.probing && (!waiter.probe || this.inFlight > 0)) return true;
    const quota = this.announced;
    return quota !== undefined && quota.budget <= 0 && now < quota.resetAt;
  }

  private setRate(perMinute: number): void {
    const decrease = perMinute < this.rate;
    this.rate = perMinute;
    // Increases come with every answer; the limiter hears of them in 1% steps (the rate it
    // enforces is never above ours). Decreases it hears of at once.
    if (decrease || perMinute >= this.limiterRate * RATE_PUSH_STEP || (perMinute === this.ceiling && this.limiterRate < perMinute)) {
      this.limiterRate = perMinute;
      this.limiter.updateSettings({ minTime: spacing(perMinute) });
    }
  }

  private start(probe: boolean, now: number): Permit {
    const permit: Permit = { seq: this.started, startedAt: now, probe };
    this.started += 1;
    this.inFlight += 1;
    if (this.started === 1) this.firstStartAt = now;
    this.lastStart = now;
    if (this.announced) this.announced.budget -= 1;
    return permit;
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

/**
 * Bottleneck's spacing between starts for `perMinute`: starts at least this far apart put
 * at most `perMinute` in any 60 s window. The 10 ms spread over the minute absorbs the
 * timer lag between the limiter granting a start and the job running.
 */
function spacing(perMinute: number): number {
  return (60_000 + START_LAG_MARGIN_MS) / perMinute;
}
