import Bottleneck from 'bottleneck';

/**
 * The rate policy: AIMD (additive increase, multiplicative decrease), TCP's congestion
 * control (RFC 5681 §3.1), applied to a limit in requests per minute.
 * - No limit until the server shows one: `max_concurrency` alone bounds the requests.
 * - A lone 429 is noise: only its own request waits (`Retry-After`, or its backoff). When
 *   at least EVIDENCE of the last WINDOW answers were 429, or a quota header says none is
 *   left, the limit is shown: every request pauses for that wait (or to the quota's reset),
 *   then one goes first; a 429 to it doubles the pause, up to LONGEST_PAUSE_MS or what
 *   `Retry-After` asks (RFC 6298 §5.5). Once it is answered, all go at the new limit:
 *   DECREASE × the rate sent in the minute before the limit showed (the run's age if
 *   younger; at least WINDOW requests), over that minute and the pause, so a per-minute
 *   limit spent in a burst is measured right. Each answer without 429 adds STEP × it.
 * - Quota headers (`RateLimit-*`, `X-RateLimit-*`): what is left is spread to the reset.
 * - `requests_per_minute` caps it all.
 */
export const DECREASE = 0.8;
export const STEP = 0.001;
export const WINDOW = 20;
export const EVIDENCE = 4;
export const LONGEST_PAUSE_MS = 10_000;
/** The span over which the rate sent is measured. */
const MINUTE = 60_000;

/** `ceilingPerMinute`: `requests_per_minute`, none when undefined. */
export type GovernorOptions = { maxConcurrency: number; ceilingPerMinute?: number | undefined; log?: (message: string) => void; now?: () => number; sleep?: (ms: number) => Promise<void> };

/** Handed to each attempt (its start order in the run, from 0); `settle` takes it back. */
export type Permit = { readonly seq: number };

/** What an answer told: a 429 and the wait before its retry (0: none), the quota it announced. */
export type Outcome = { refused: boolean; waitMs?: number; quota?: [remaining: number | undefined, resetMs: number | undefined] };

export class RateGovernor {
  private readonly limiter = new Bottleneck({ maxConcurrent: 1 }); // one start at a time: a pause holds the rest
  private readonly maxConcurrency: number;
  private readonly ceiling: number;
  private readonly log: (message: string) => void;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly firstAt: number;
  private readonly waiting: [Array<() => void>, Array<() => void>] = [[], []]; // for a slot: retries first
  private inFlight = 0;
  private limit = Infinity;
  private base = 0; // the limit set at the last decrease
  private phase: 'open' | 'paused' | 'first' = 'open';
  private pausing = { until: 0, ms: 0 }; // the latest pause (an earlier one's end is ignored)
  private shown: { sent: number; from: number; why: string } | undefined; // what was sent before the limit showed
  private readonly answers: boolean[] = []; // the last WINDOW answers, true for a 429
  private readonly starts: number[] = []; // when each request of the last minute started
  private started = 0;
  private quota = { left: 0, at: 0, until: 0, gapMs: 0 }; // requests left after the first `at` starts, until `until`
  private applied = ''; // the settings bottleneck has
  private gated = false; // whether starts go through bottleneck: only when something binds
  private stopped = false;

  constructor(options: GovernorOptions) {
    this.maxConcurrency = Math.max(1, Math.floor(options.maxConcurrency));
    this.ceiling = options.ceilingPerMinute ?? Infinity;
    this.log = options.log ?? (() => undefined);
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.firstAt = this.now();
    this.limiter.on('error', () => undefined); // our jobs never throw; an internal error would go unheard
    this.apply();
  }

  /** Runs one attempt when the limit allows and a slot is free; it holds its slot until it ends. Retries go first. */
  async schedule<T>(attempt: (permit: Permit) => Promise<T>, retry = false): Promise<T> {
    const ticket = () => this.limiter.schedule({ priority: Number(!retry) }, () => Promise.resolve(true)); // retries (0) first
    let ticketed = this.gated && (await ticket());
    await this.slot(retry);
    // The limit came while it waited for its slot: no slot is held while waiting for a ticket.
    while (!ticketed && this.gated) {
      this.release();
      ticketed = await ticket();
      await this.slot(retry);
    }
    try {
      if (this.stopped) throw new Error('the rate governor is stopped');
      this.starts.push(this.now());
      return await attempt({ seq: this.started++ });
    } finally {
      this.release();
      if (this.phase === 'first') this.apply(); // it ended unanswered (it threw): another goes first
    }
  }

  /** Takes a free slot, or waits for one to be passed on. */
  private async slot(retry: boolean): Promise<void> {
    if (this.inFlight < this.maxConcurrency) this.inFlight += 1;
    else await new Promise<void>((resolve) => this.waiting[retry ? 0 : 1].push(resolve));
  }

  /** The slot passes to the next waiting attempt, if any. */
  private release(): void {
    const next = this.waiting[0].shift() ?? this.waiting[1].shift();
    if (next) next();
    else this.inFlight -= 1;
  }

  /** How an attempt ended. True when every request waits with this 429 (the governor pauses). */
  settle(permit: Permit, { refused, waitMs = 0, quota }: Outcome): boolean {
    if (this.stopped) return false;
    const now = this.now();
    const [remaining, resetMs] = quota ?? [];
    // The server counted the attempts up to this one; an answer to an older attempt says less than the last.
    if (remaining !== undefined && resetMs !== undefined && (permit.seq >= this.quota.at || now >= this.quota.until)) {
      this.quota = { left: remaining, at: permit.seq + 1, until: now + resetMs, gapMs: remaining > 0 ? resetMs / remaining : 0 };
    }
    if (this.answers.push(refused) > WINDOW) this.answers.shift();
    const inWindow = this.answers.filter(Boolean).length;
    const spent = this.quotaLeft(now) === 0;
    const limited = refused && (inWindow >= EVIDENCE || this.phase !== 'open');
    // A 429 to the first request after a pause doubles the pause, as TCP backs off its timer (RFC 6298).
    const again = refused && this.phase === 'first' ? Math.min(LONGEST_PAUSE_MS, 2 * this.pausing.ms) : 0;
    const ms = Math.max(limited && waitMs > 0 ? Math.max(waitMs, again) : 0, spent ? this.quota.until - now : 0);
    if (ms > 0) {
      const why = limited ? `${inWindow} of the last ${this.answers.length} answers were 429` : 'the quota was spent';
      if (this.phase === 'open') this.shown = { ...this.sentLastMinute(now), why };
      this.pause(ms, now);
    } else if (!refused) {
      if (this.limit < Infinity) this.limit += STEP * this.base;
      if (this.phase === 'first') this.open(now);
    }
    this.apply();
    return limited && ms > 0;
  }

  /** The limit in requests per minute: Infinity until the server shows one (or a ceiling is set). */
  get limitPerMinute(): number {
    return Math.min(this.limit, this.ceiling);
  }

  /** Requests started per minute over the last minute (the run's age when younger). */
  get ratePerMinute(): number {
    const { sent, from } = this.sentLastMinute(this.now());
    return (sent * MINUTE) / Math.max(1, this.now() - from);
  }

  /** Drops waiting attempts (they reject) and the pause; attempts in flight finish. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const queue of this.waiting) for (const wake of queue.splice(0)) wake();
    await this.limiter.stop({ dropWaitingJobs: true, dropErrorMessage: 'the rate governor is stopped' }).catch(() => undefined);
  }

  /** Every request waits until `now + ms`; then one goes first. */
  private pause(ms: number, now: number): void {
    if (this.phase === 'paused' && now + ms <= this.pausing.until) return;
    const pause = (this.pausing = { until: Math.max(this.pausing.until, now + ms), ms });
    this.phase = 'paused';
    void this.sleep(pause.until - now).then(() => {
      if (this.stopped || pause !== this.pausing) return;
      this.phase = 'first';
      this.apply();
    });
    this.apply();
  }

  /** The first request after a pause was answered: all go, at the decreased limit when a 429 showed it. */
  private open(now: number): void {
    this.phase = 'open';
    if (this.shown === undefined) return;
    const { sent, from, why } = this.shown;
    this.shown = undefined;
    if (sent < WINDOW) return; // fewer requests measure nothing: the pause was all
    const rate = (sent * MINUTE) / Math.min(MINUTE, Math.max(1, now - from));
    const shown = (limit: number) => (limit === Infinity ? 'none' : `${Math.round(limit).toLocaleString('en-US')}/min`);
    const before = shown(this.limitPerMinute);
    this.limit = this.base = DECREASE * rate;
    this.log(`rate limit ${before} → ${shown(this.limitPerMinute)}: ${why}`);
  }

  private sentLastMinute(now: number): { sent: number; from: number } {
    while (this.starts.length > 0 && this.starts[0]! <= now - MINUTE) this.starts.shift();
    return { sent: this.starts.length, from: Math.max(this.firstAt, now - MINUTE) };
  }

  /** Requests left of the quota announced (less those started since), null without one. */
  private quotaLeft(now: number): number | null {
    return now < this.quota.until ? Math.max(0, this.quota.left - (this.started - this.quota.at)) : null;
  }

  /** Passes the limit, the quota's spacing and the pause on to bottleneck: only what binds goes through it. */
  private apply(): void {
    if (this.stopped) return;
    const left = this.quotaLeft(this.now());
    const minTime = Math.floor(Math.max(MINUTE / this.limitPerMinute, left !== null ? this.quota.gapMs : 0));
    const reservoir = this.phase === 'paused' ? 0 : this.phase === 'first' ? 1 : left;
    this.gated = minTime > 0 || reservoir !== null;
    // Bottleneck counts its reservoir down as requests start: a number is set again each time.
    const key = reservoir === null ? `${minTime}` : `${minTime} ${reservoir} ${this.started}`;
    if (key === this.applied) return;
    this.applied = key;
    this.limiter.updateSettings({ minTime, reservoir });
  }
}
