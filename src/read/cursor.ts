import { parseApiTime } from '../config/dates.js';
import type { IncrementalState } from './state-input.js';

/** The oldest cursor value a partition still needs: after the bookmark, or from the start date. */
export interface Floor {
  ms: number;
  /** A bookmark was already emitted up to and including `ms`; the start date itself is wanted. */
  strict: boolean;
}

export function floorFor(state: IncrementalState | undefined, partition: string, startDate: string): Floor {
  const bookmark = parseApiTime(state?.partitions.get(partition)?.cursor);
  return bookmark === undefined ? { ms: Date.parse(startDate), strict: false } : { ms: bookmark, strict: true };
}

/**
 * Whether a record with this cursor value is new. A record whose cursor is missing or
 * unreadable is always emitted: skipping it could lose it for good.
 */
export function isNew(floor: Floor, value: unknown): boolean {
  const ms = parseApiTime(value);
  if (ms === undefined) return true;
  return floor.strict ? ms > floor.ms : ms >= floor.ms;
}

/** The later of two API timestamps (as the API wrote them); ignores unreadable values. */
export function latest(a: string | undefined, b: unknown): string | undefined {
  const bms = parseApiTime(b);
  if (bms === undefined) return a;
  const ams = parseApiTime(a);
  return ams === undefined || bms > ams ? (b as string) : a;
}
