import Bottleneck from 'bottleneck';

/**
 * One governor per run decides when each attempt may start. It finds the rate the server
 * allows instead of being told: CircleCI publishes no limit, and reports of it range from
 * ~1,000 requests a minute per token to ~50 a second per endpoint.
 *
 * Bottleneck is the only scheduler, driven through `updateSettings`: `maxConcurrent` is
 * `max_concurrency`, `minTime` spaces starts at 60 s / rate, `reservoir` holds everyone
 * (0), lets one probe go (1) or counts down a quota. The policy:
 *
 * - Start at START_RATE, or at the ceiling when one is configured. Until a first limit,
 *   double the rate after every SLOW_START_WINDOW attempts without 429 that kept it busy
 *   (a rate that is not the bound, because concurrency or the reader is, is not raised);
 *   after it, add STEP of the rate per clean WINDOW (additive increase), a tenth of it
 *   within 5% of the rate the server accepted at the last limit (found again slowly, not
 *   overshot at full step) unless 429s come whatever the rate (a stray share of QUIET or
 *   more). Near that limit only clean windows climb (no more 429s than the stray share
 *   explains), and one with more goes on (to LONGEST_WINDOW times) until they are evidence.
 * - A lone 429 (a busy server, not the rate) costs only its own request's wait: the caller
 *   sleeps it. 429s in a row, or more than the stray share explains, are the token's limit:
 *   everyone waits (`Retry-After`, or the request's backoff), then one probe goes first
 *   after 429s in a row (an answer to an attempt started before the last 429 does not end
 *   the wall: it was sent before it); a refused probe grows the pause (up to
 *   PROBE_PAUSE_MAX_MS, or what `Retry-After` asks; without it the governor paces the
 *   probes, not their own backoff).
 * - The rate falls only on evidence: more 429s in a window than the stray share seen so
 *   far explains (at least MIN_EVIDENCE), or a refused probe (a wall outlasting the pause,
 *   however few of its 429s the window counted), at most once per window. When everyone
 *   goes again it falls to 90% of what the server accepted in the minute before the 429s
 *   (and at least by 15%; halved when fewer than MIN_MEASURED were accepted). A run younger
 *   than a minute spreads that over its age and the pause (ended midway between the last
 *   429 and the first answer), which tells a per-minute limit met in a burst from a
 *   per-second one; a whole minute accepted is a rate the server allows, so a storm
 *   or an outage after it costs its pause, not the climb back from a low rate. If the next
 *   window has as many 429s at the lower rate, they were not about the rate: the decrease
 *   is undone and their share becomes the stray share. Never after a wall (a majority
 *   refused, MIN_EVIDENCE in a row, a refused probe): that is the limit.
 * - Quota headers (`RateLimit-*`, `X-RateLimit-*`) set the reservoir to the requests left
 *   (less those started since the answer's attempt) and spread them over the time to the
 *   reset; a spent quota pauses everyone until then and counts like a 429 as evidence.
 * - The optional ceiling (`requests_per_minute`) caps it all.
 *
 * Probes, and attempts started before the current window, are not counted. The pauses
 * wait with the injected `sleep` (tests drive it); bottleneck keeps real time.
 */
export interface GovernorOptions {
  maxConcurrency: number;
  /** Starts per minute never exceed this; no ceiling when undefined. */
  ceilingPerMinute?: number | undefined;
  log?: (message: string) => void;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** Handed to each attempt; `settle` takes it back. */
export interface Permit {
  /** Start order in the run, from 0. */
  readonly seq: number;
  readonly startedAt: number;
  /** The one attempt let through after a pause. */
  readonly probe: boolean;
}

export const START_RATE = 1_000;
export const MIN_RATE = 6;
export const SLOW_START_WINDOW = 10;
export const WINDOW = 50;
export const STEP = 0.015;
/** Fewer answers than this in the minute before a limit say nothing reliable about it. */
const MIN_MEASURED = 20;
/** Fewer 429s than this in a window are never evidence of a limit. */
const MIN_EVIDENCE = 3;
/** Below this stray share, a limit measured is the server's: the climb near it is careful. */
const QUIET = 0.01;
/** A window with more 429s than strays explain goes on to at most this many times its size. */
const LONGEST_WINDOW = 4;
/** A rate is busy when the window started at least this share of what it allowed. */
const BUSY = 0.8;
/** The longest pause a run of refused probes grows to (unless a Retry-After asks for more). */
const PROBE_PAUSE_MAX_MS = 10_000;
/** Between this share of the rate the server last accepted at a limit and its inverse, the climb is careful. */
const NEAR = 0.95;
/** A careful climb takes this share of the step. */
const CAREFUL = 0.1;
/** Quota windows resetting sooner than this are spent as they come. */
const SPREAD_MIN_MS = 2_000;

interface Window {
  attempts: number;
  rateLimited: number;
  since: number;
  /** First and last start among the attempts counted. */
  firstStart: number;
  lastStart: number;
}

export class RateGovernor {
  private readonly limiter: Bottleneck;
  private readonly ceiling: number;
  private readonly log: (message: string) => void;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly timers = new Set<NodeJS.Timeout>();
  private rate: number;
  private peak: number;
  private applied = '';
  private loggedRate: number;
  private climbing = true;
  private slowStart = true;
  /** Share of attempts answered 429 whatever the rate. */
  private stray = 0;
  private window: Window;
  /** The window after a decrease checks that the 429s fell with the rate. */
  private check: { share: number; rateBefore: number; wall: boolean; limitBefore: number | undefined } | undefined;
  /** What the server accepted per minute when it last refused: the limit as last measured. */
  private limitAt: number | undefined;
  private step = 0;
  /** A decrease earned while everyone waits, made when they go again; what was accepted before. */
  private decreaseDue: { why: string; at: number; accepted: number; before: number | undefined } | undefined;
  /** Answers without 429 per second of the last minute (a ring indexed by second). */
  private readonly accepted = new Array<number>(60).fill(0);
  private acceptedSecond = 0;
  private readonly firstAt: number;
  private started = 0;
  private quotaGap = 0;
  /** The last quota announced: requests left after attempt `quotaSeq` started. */
  private quotaRemaining = 0;
  private quotaSeq = 0;
  private quotaUntil = 0;
  private pausedUntil = 0;
  private pauses = 0;
  private phase: 'open' | 'paused' | 'probe' | 'probing' = 'open';
  /** 429s since the last answer without one. */
  private inARow = 0;
  /** 429s since the last answer without one to an attempt started after them: the wall's. */
  private behindWall = 0;
  private probesRefused = 0;
  private lastRefusedAt = -Infinity;
  /** The start order of the latest attempt refused. */
  private lastRefusedSeq = -1;
  private stopped = false;

  constructor(options: GovernorOptions) {
    this.ceiling = options.ceilingPerMinute ?? Infinity;
    this.log = options.log ?? (() => undefined);
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => this.timer(ms));
    this.rate = this.peak = this.loggedRate = options.ceilingPerMinute ?? START_RATE;
    this.firstAt = this.now();
    this.window = { attempts: 0, rateLimited: 0, since: this.firstAt, firstStart: Infinity, lastStart: -Infinity };
    this.limiter = new Bottleneck({ maxConcurrent: Math.max(1, Math.floor(options.maxConcurrency)) });
    // Our jobs never throw; an internal error of the limiter would otherwise go unheard.
    this.limiter.on('error', () => undefined);
    this.apply();
  }

  /** Runs one attempt when the limits allow it; it holds its slot until it settles. Retries go first. */
  schedule<T>(attempt: (permit: Permit) => Promise<T>, retry = false): Promise<T> {
    return this.limiter.schedule({ priority: retry ? 4 : 5 }, () => {
      const probe = this.phase === 'probe';
      if (probe) this.phase = 'probing';
      return attempt({ seq: this.started++, startedAt: this.now(), probe });
    });
  }

  /**
   * How an attempt ended: refused with 429 or not; for a 429 that will be retried, the
   * wait before the retry and whether the server asked for it (`Retry-After`) or it is the
   * request's own backoff; the quota the answer announced. True when everyone waits that
   * long with it (the governor pauses); false when the caller waits alone.
   */
  settle(permit: Permit, refused: boolean, waitMs = 0, quota: [number | undefined, number | undefined] = [undefined, undefined], asked = false): boolean {
    if (this.stopped) return false;
    const now = this.now();
    const spent = this.followQuota(permit, quota, now);
    // An attempt started before the window began was sent at an older rate.
    const limit = !permit.probe && permit.startedAt >= this.window.since && this.count(permit, refused || spent, now);
    let everyone = false;
    if (refused) {
      this.lastRefusedAt = now;
      this.lastRefusedSeq = Math.max(this.lastRefusedSeq, permit.seq);
      this.inARow += 1;
      this.behindWall += 1;
      if (permit.probe) this.probesRefused += 1;
      // The server still refuses after everyone waited: the token's limit, whatever the window counted.
      if (permit.probe && this.decreaseDue === undefined) this.limitMet(`429 on ${this.behindWall} in a row, the last after a pause`, 1, now);
      // A refused probe: the pause grows (a 429 with a short Retry-After in a storm need not
      // be asked again every second). Without Retry-After the governor paces the probes: the
      // probe's own backoff would leave a wall's end unheard for up to its 30 s.
      const growth = Math.min(PROBE_PAUSE_MAX_MS, 1_000 * 1.5 ** (this.probesRefused - 1));
      const pauseMs = !permit.probe ? waitMs : asked ? Math.max(waitMs, growth) : growth;
      // A lone 429 is no sign of the token's limit: only its own request waits.
      everyone = waitMs > 0 && (limit || permit.probe || this.inARow >= 2);
      if (everyone) this.pause(pauseMs, now);
    } else {
      this.acceptedLastMinute(now);
      this.accepted[this.acceptedSecond % 60]! += 1;
      this.inARow = 0;
      // Only an attempt started after the last refused one tells the limit has passed:
      // answers to older ones (slower, or sent just before it) still come in behind a wall.
      if (permit.seq > this.lastRefusedSeq) {
        this.behindWall = 0;
        this.probesRefused = 0;
        if (permit.probe || this.phase === 'probing') this.open();
      }
    }
    // Lowered when everyone goes again: the server's refusal is then part of the measure.
    if (this.decreaseDue !== undefined && this.phase === 'open') this.decrease(now);
    this.apply();
    return everyone;
  }

  get currentRatePerMinute(): number {
    return Math.min(this.rate, this.ceiling);
  }

  get peakRatePerMinute(): number {
    return Math.min(this.peak, this.ceiling);
  }

  /** Drops waiting attempts (they reject) and the pause timers; attempts in flight finish. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.limiter.stop({ dropWaitingJobs: true, dropErrorMessage: 'the rate governor is stopped' }).catch(() => undefined);
    await this.limiter.disconnect();
  }

  /** Counts an attempt in the window; true when the window shows a limit. */
  private count(permit: Permit, rateLimited: boolean, now: number): boolean {
    const w = this.window;
    w.attempts += 1;
    w.firstStart = Math.min(w.firstStart, permit.startedAt);
    w.lastStart = Math.max(w.lastStart, permit.startedAt);
    if (rateLimited) w.rateLimited += 1;
    const expected = this.stray * w.attempts;
    const judged = this.check === undefined || w.attempts >= SLOW_START_WINDOW;
    if (judged && w.rateLimited >= MIN_EVIDENCE && w.rateLimited > expected + 2 * Math.sqrt(Math.max(1, expected))) {
      const why = `429 on ${w.rateLimited} of the last ${w.attempts}`;
      const share = w.rateLimited / w.attempts;
      this.newWindow(now);
      return this.limitMet(why, share, now, w.attempts);
    }
    const size = this.slowStart ? SLOW_START_WINDOW : WINDOW;
    if (w.attempts < size) return false;
    const clean = w.rateLimited <= expected + Math.sqrt(expected);
    // Where 429s come whatever the rate, a limit measured may be theirs: nothing is careful there.
    const nearLimit = this.limitAt !== undefined && this.rate >= NEAR * this.limitAt && this.stray < QUIET;
    // Near a limit met before, more 429s than strays explain but too few to tell: the window
    // goes on until they tell (a rate a few percent over a limit gets a lone 429 or two in
    // every window, each waited out alone, and the stray share would learn them).
    if (!clean && nearLimit && this.check === undefined && w.attempts < LONGEST_WINDOW * size) return false;
    const share = w.rateLimited / w.attempts;
    // 429s that go on at half their share after a decrease were not about the rate.
    if (this.check && !this.check.wall && w.rateLimited >= 2 && share >= 0.5 * this.check.share) this.undo(share, `429 on ${w.rateLimited} of the last ${w.attempts}`);
    this.stray = 0.8 * this.stray + 0.2 * share;
    this.check = undefined;
    // Busy: the starts came about as fast as the rate allows (their answers' latency aside).
    const busy = w.attempts >= BUSY * (1 + ((w.lastStart - w.firstStart) / 60_000) * this.currentRatePerMinute);
    // Near a limit, a window with more 429s than strays explain is no sign the rate may climb.
    if (busy && (clean || !nearLimit) && this.rate < this.ceiling) {
      const careful = nearLimit && this.rate < this.limitAt! / NEAR;
      this.setRate(this.slowStart ? this.rate * 2 : this.rate + (careful ? CAREFUL : 1) * this.step, `no sign of a limit in the last ${w.attempts} requests`);
    }
    this.newWindow(now);
    return false;
  }

  /**
   * More 429s than strays explain: a decrease is due (true), or undone when they were strays
   * after all. A wall (a majority refused, 429s in a row, a refused probe) is a limit, never strays.
   */
  private limitMet(why: string, share: number, now: number, attempts = WINDOW): boolean {
    if (this.decreaseDue !== undefined) return true; // already earned; made when everyone goes again
    const wall = share > 0.5 || this.inARow >= MIN_EVIDENCE;
    if (this.check && !this.check.wall && !wall && share >= 0.75 * this.check.share) {
      this.undo(share, why);
      return false;
    }
    // A window cut short by its third 429 overstates a share: it counts as a whole window.
    this.check = { share: (share * attempts) / Math.max(attempts, WINDOW), rateBefore: this.rate, wall, limitBefore: this.limitAt };
    this.slowStart = false;
    const age = now - this.firstAt;
    this.decreaseDue = { why, at: now, accepted: this.acceptedLastMinute(now), before: age >= 60_000 ? undefined : Math.max(1_000, age) };
    return true;
  }

  private undo(share: number, why: string): void {
    this.stray = Math.max(this.stray, share);
    this.limitAt = this.check!.limitBefore;
    this.setRate(this.check!.rateBefore, `${why}, as many as before it was lowered: not a rate limit`, true);
    this.check = undefined;
  }

  /**
   * To 90% of the rate the server accepted in the minute before it refused, at least by
   * 15%. A run younger than a minute spreads what it accepted over its age and the pause
   * (the limit's period is unknown: 300 accepted in a 2 s burst, then a 58 s wall, is 300
   * a minute). The climb back is paced by the rate before.
   */
  private decrease(now: number): void {
    const due = this.decreaseDue!;
    this.decreaseDue = undefined;
    // The wall ended between the last 429 and the first answer after it.
    const end = this.lastRefusedAt > due.at ? (this.lastRefusedAt + now) / 2 : now;
    const accepted = (due.accepted * 60_000) / (due.before === undefined ? 60_000 : due.before + end - due.at);
    const rateBefore = Math.min(this.rate, this.ceiling);
    // Too few answers measure nothing: halve instead.
    const target = due.accepted >= MIN_MEASURED ? 0.9 * accepted : 0.5 * rateBefore;
    if (due.accepted >= MIN_MEASURED) this.limitAt = accepted;
    this.setRate(Math.max(MIN_RATE, Math.min(0.85 * rateBefore, target)), due.why);
    this.step = STEP * Math.min(rateBefore, 1.25 * this.rate);
    this.newWindow(now);
  }

  /** `news`: logged whatever the change (a decrease undone). */
  private setRate(rate: number, why: string, news = false): void {
    this.rate = rate;
    this.peak = Math.max(this.peak, this.currentRatePerMinute);
    const shown = this.currentRatePerMinute;
    // The first fall after a climb is where the rate settles; a sawtooth around it is not news.
    const settles = shown < this.loggedRate && this.climbing;
    if (Math.abs(shown - this.loggedRate) > 0.25 * this.loggedRate || settles || news) {
      this.log(`rate ${perMinute(this.loggedRate)} → ${perMinute(shown)}: ${why}`);
      this.climbing = shown > this.loggedRate;
      this.loggedRate = shown;
    }
  }

  private newWindow(now: number): void {
    this.window = { attempts: 0, rateLimited: 0, since: now, firstStart: Infinity, lastStart: -Infinity };
  }

  private acceptedLastMinute(now: number): number {
    const second = Math.floor(now / 1000);
    for (let s = Math.max(this.acceptedSecond + 1, second - 59); s <= second; s++) this.accepted[s % 60] = 0;
    this.acceptedSecond = Math.max(this.acceptedSecond, second);
    return this.accepted.reduce((a, b) => a + b, 0);
  }

  /** Everyone waits until `now + ms`; then all go, or one probe first after 429s in a row. */
  private pause(ms: number, now: number): void {
    const until = now + ms;
    if (until <= this.pausedUntil && this.phase === 'paused') return;
    this.pausedUntil = Math.max(this.pausedUntil, until);
    this.phase = 'paused';
    const pause = ++this.pauses;
    void this.sleep(this.pausedUntil - now).then(() => {
      if (this.stopped || pause !== this.pauses) return;
      if (this.behindWall >= 2) this.phase = 'probe';
      else this.open();
      this.apply();
    });
    this.apply();
  }

  private open(): void {
    this.phase = 'open';
    if (this.decreaseDue !== undefined) this.decrease(this.now());
  }

  /** Follows the quota an answer announced; true when it is spent (as telling as a 429). */
  private followQuota(permit: Permit, [remaining, resetMs]: [number | undefined, number | undefined], now: number): boolean {
    if (remaining === undefined || resetMs === undefined) return false;
    // An answer to an older attempt says less than the one already heard.
    if (permit.seq < this.quotaSeq && now < this.quotaUntil) return remaining <= 0;
    this.quotaUntil = now + resetMs;
    this.quotaRemaining = remaining;
    this.quotaSeq = permit.seq;
    const left = this.quotaLeft();
    this.quotaGap = left <= 0 || resetMs < SPREAD_MIN_MS ? 0 : resetMs / left;
    return remaining <= 0;
  }

  /** Attempts started after the one whose answer announced the quota have used some of it. */
  private quotaLeft(): number {
    return this.quotaRemaining - (this.started - this.quotaSeq - 1);
  }

  /** Passes the rate, the quota's spacing and the pause on to bottleneck. */
  private apply(): void {
    if (this.stopped) return;
    const now = this.now();
    const quota = now < this.quotaUntil;
    // A spent quota holds everyone until its reset (and keeps the reservoir from waiting forever).
    if (quota && this.quotaLeft() <= 0 && this.phase === 'open') return this.pause(this.quotaUntil - now, now);
    const minTime = Math.floor(Math.max(60_000 / this.currentRatePerMinute, quota ? this.quotaGap : 0));
    const open = quota ? this.quotaLeft() : null;
    const reservoir = this.phase === 'paused' || this.phase === 'probing' ? 0 : this.phase === 'probe' ? 1 : open;
    // Bottleneck counts its reservoir down as attempts start: a number is set again each time.
    const key = reservoir === null ? `${minTime}` : `${minTime} ${reservoir} ${this.started}`;
    if (key === this.applied) return;
    this.applied = key;
    this.limiter.updateSettings({ minTime, reservoir });
  }

  private timer(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }
}

export function perMinute(rate: number): string {
  return `${Math.round(rate).toLocaleString('en-US')}/min`;
}
