import type { StreamName } from '../streams/schemas/index.js';
import type { Resume } from './state-input.js';

/**
 * Row estimates per stream for the whole sync (Airbyte's ESTIMATE trace, type STREAM). The
 * platform takes each estimate as the stream's new total, not an increment, so a stream's
 * estimate is said once, when every partition it is read in has given its count: a sum over
 * the partitions known so far would understate the sync. A partition that cannot count
 * (no earlier sync to measure from, an error before its first page) leaves its stream
 * without an estimate for this sync.
 */
export class RowEstimates {
  private readonly awaited = new Map<StreamName, Set<string>>();
  private readonly totals = new Map<StreamName, number>();

  constructor(private readonly say: (stream: StreamName, rows: number) => void) {}

  /** `stream` will be counted in each of `partitions`. */
  expect(stream: StreamName, partitions: readonly string[]): void {
    if (partitions.length === 0) {
      this.say(stream, 0); // nothing to walk (every partition idle): nothing new, honestly counted
      return;
    }
    this.awaited.set(stream, new Set(partitions));
    this.totals.set(stream, 0);
  }

  /** A partition's count of the rows it will emit, or undefined when it cannot tell. */
  report(stream: StreamName, partition: string, rows: number | undefined): void {
    const waiting = this.awaited.get(stream);
    if (!waiting?.delete(partition)) return;
    if (rows === undefined) {
      this.awaited.delete(stream); // one unknown partition: no estimate this sync
      return;
    }
    const total = this.totals.get(stream)! + rows;
    this.totals.set(stream, total);
    if (waiting.size === 0) {
      this.awaited.delete(stream);
      this.say(stream, total);
    }
  }
}

/**
 * The root records a walk will emit where positions are sequential: those numbered above
 * `since` (the newest the last sync saw) up to `top` (the newest listed now), less those an
 * interrupted sync already finished (its resume marker's range), which are not read again.
 */
export function rowsAbove(top: number, since: number, resume?: Resume): number {
  const above = Math.max(0, top - since);
  if (!resume) return above;
  const finished = Math.min(top, resume.newest_number) - Math.max(since + 1, resume.done_down_to) + 1;
  return above - Math.max(0, finished);
}
