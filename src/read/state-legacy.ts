import { z } from 'zod';
import { fingerprint } from './followed.js';
import type { IncrementalState, PartitionEntry } from './state-input.js';

/**
 * States written before the compact shape (release 0.x up to issue #23) still read: a
 * stream followed lists for all its projects at the top (`unfinished`, `recent`, each
 * entry with its project's slug and a date-time), and each history partition its
 * `last_activity` and `walked_at` as date-times. They are converted here, on read; the
 * next STATE is written in the compact shape. test/unit/state-legacy.test.ts reads a state
 * saved by that release.
 */
const Timestamp = z.string().refine((value) => !Number.isNaN(Date.parse(value)), { message: 'is not a date-time' });

const LegacyUnfinished = z.strictObject({ id: z.string(), project_slug: z.string(), created_at: Timestamp });
const LegacyRecent = z.strictObject({ id: z.string(), project_slug: z.string(), created_at: Timestamp, name: z.string() });

/** Fields of a history partition's entry only the earlier shape has. */
export const LEGACY_ENTRY_FIELDS = {
  // The activity the walk saw: derived now (idle-skip.ts compares the activity with the walk's start).
  last_activity: Timestamp.optional(),
};

/** Top-level fields of a followed stream's state only the earlier shape has. */
export const LEGACY_STATE_FIELDS = {
  unfinished: z.array(LegacyUnfinished).optional(),
  recent: z.array(LegacyRecent).optional(),
};

/** Moves what the earlier shape kept into `state` (already holding the compact fields read). */
export function convertLegacy(data: Record<string, unknown>, rawPartitions: Record<string, Record<string, unknown>>, state: IncrementalState): void {
  for (const [key, value] of Object.entries(rawPartitions)) {
    if (typeof value.walked_at === 'string') entry(state, key).walkedAt = Math.floor(Date.parse(value.walked_at) / 1000);
  }
  for (const record of (data.unfinished ?? []) as Array<z.infer<typeof LegacyUnfinished>>) {
    const item = entry(state, record.project_slug);
    item.unfinished = [...new Set([...(item.unfinished ?? []), record.id])];
  }
  for (const record of (data.recent ?? []) as Array<z.infer<typeof LegacyRecent>>) {
    const item = entry(state, record.project_slug);
    const print = fingerprint(record.id);
    if (!(item.recent ??= []).includes(print)) item.recent.push(print);
    // Whether the group listing has this group is not known yet: the next walk's discovery tells.
    const names = (item.names ??= {});
    names[record.name] = Math.max(names[record.name] ?? 0, Math.floor(Date.parse(record.created_at) / 1000));
  }
}

function entry(state: IncrementalState, key: string): PartitionEntry {
  let item = state.partitions.get(key);
  if (!item) {
    item = {};
    state.partitions.set(key, item);
  }
  return item;
}
