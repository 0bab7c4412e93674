/**
 * Internal knobs users have no reason to turn: the defaults are what every production run
 * uses. In-process tests pass other values to `dispatch` (a long walk checkpointing every
 * few records, a short request timeout for hung responses); nothing reads them from the
 * environment.
 */
export interface RunOptions {
  /** A walk of a newest-first history checkpoints once this many more settled records are saved. */
  checkpointRecords?: number;
  /** How long one request may take before it is abandoned and retried. */
  requestTimeoutMs?: number;
  /** The run's clock (ms since the epoch): read once, when the sync starts; default the system clock. */
  clock?: () => number;
}

export const DEFAULT_CHECKPOINT_RECORDS = 1000;
