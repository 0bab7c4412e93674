/**
 * Internal knobs users have no reason to turn: the defaults are what every production run
 * uses. In-process tests pass other values to `dispatch` (a long walk checkpointing every
 * few records, a short request timeout for hung responses); nothing reads them from the
 * environment.
 */
export interface RunOptions {
  /** A walk of a newest-first history checkpoints once this many more settled records are saved. */
  checkpointRecords?: number;
  /**
   * A checkpoint's STATE is written once the stream's records since its last STATE are this
   * many times its size (default RECORD_CHARS_PER_STATE_CHAR, read/checkpoints.ts; 0: at
   * every checkpoint).
   */
  stateWeight?: number;
  /** How long one request may take before it is abandoned and retried. */
  requestTimeoutMs?: number;
  /** How often an export job is polled while a sync waits for it (default 10 s: CircleCI asks for at most about 10 polls a minute). */
  exportPollIntervalMs?: number;
  /**
   * How the wait between polls is made (default a timer; tests pass a virtual one). It
   * must end early once `signal` aborts (a cancel), so the read stops without waiting it out.
   */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** A progress LOG line at least this often during a read; default 30 s. */
  progressEveryMs?: number;
  /** Aborted when the sync is cancelled (SIGTERM, SIGINT): no new requests, save what was read, end. */
  cancel?: AbortSignal;
  /**
   * The run's clock (ms since the epoch), read once when the sync starts: the snapshots'
   * `_synced_at`. Default the system clock. What CircleCI keeps (Insights' 90 days, the usage
   * export's days) is counted from CircleCI's clock instead (CircleCiClient.serverNow).
   */
  clock?: () => number;
}

export const DEFAULT_EXPORT_POLL_INTERVAL_MS = 10_000;

export const DEFAULT_CHECKPOINT_RECORDS = 1000;
