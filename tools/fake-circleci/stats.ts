// Request statistics of a fake CircleCI adapter (shared by the server and msw adapters).

export interface StatsSnapshot {
  /** Every request received, matched or not. */
  total: number;
  /** Requests per route name (unmatched paths count as `unmatched`). */
  byRoute: Record<string, number>;
  /** Responses per HTTP status; transport faults count as `reset` / `hang`. */
  byStatus: Record<string, number>;
  /** Requests being processed right now. */
  inFlight: number;
  /** Highest inFlight seen since the last reset. */
  peakInFlight: number;
  /** 429 responses sent. */
  rateLimited: number;
}

export class FakeStats {
  total = 0;
  byRoute: Record<string, number> = {};
  byStatus: Record<string, number> = {};
  inFlight = 0;
  peakInFlight = 0;
  rateLimited = 0;

  /** A request arrived for `route`. */
  begin(route: string): void {
    this.total++;
    this.byRoute[route] = (this.byRoute[route] ?? 0) + 1;
    this.inFlight++;
    if (this.inFlight > this.peakInFlight) this.peakInFlight = this.inFlight;
  }

  /** The request got its outcome (an HTTP status, or `reset` / `hang`). */
  end(outcome: number | 'reset' | 'hang'): void {
    if (this.inFlight > 0) this.inFlight--;
    const key = String(outcome);
    this.byStatus[key] = (this.byStatus[key] ?? 0) + 1;
    if (outcome === 429) this.rateLimited++;
  }

  /** Requests counted for one route (0 if none). */
  count(route: string): number {
    return this.byRoute[route] ?? 0;
  }

  /** Zero every counter (requests still in flight keep being tracked). */
  reset(): void {
    this.total = 0;
    this.byRoute = {};
    this.byStatus = {};
    this.peakInFlight = this.inFlight;
    this.rateLimited = 0;
  }

  snapshot(): StatsSnapshot {
    return {
      total: this.total,
      byRoute: { ...this.byRoute },
      byStatus: { ...this.byStatus },
      inFlight: this.inFlight,
      peakInFlight: this.peakInFlight,
      rateLimited: this.rateLimited,
    };
  }
}
