import { createHash } from 'node:crypto';
import type { PartitionEntry } from './state-input.js';

/** Unfinished records are followed for at most this long and this many per stream and partition. */
export const UNFINISHED_MAX_AGE_MS = 14 * 24 * 3600_000;
export const UNFINISHED_MAX = 1000;

/**
 * A final followed record read lately is remembered by a fingerprint of its id, not the
 * id: the discovery only asks whether a listed record was read already, and never requests
 * one by this value. 66 bits of SHA-256: for a false "already read" (a record then missed)
 * one new record would have to match one of the partition's few hundred fingerprints, a
 * chance of about 1 in 10^17 per record.
 */
export function fingerprint(id: string): string {
  return createHash('sha256').update(id).digest('base64url').slice(0, 11);
}

/** What the walk of one partition knows of one stream's followed records (unit records, e.g. workflows). */
export class Followed {
  /** Records still unfinished, by id, with their cursor (ms) once read in this sync. */
  readonly unfinished = new Map<string, number | undefined>();
  /** Final records read lately, by fingerprint, with their cursor (ms) once known in this sync. */
  private readonly recent = new Map<string, number | undefined>();
  /** Discovery groups of final records read lately that the group listing did not list, with the newest such record's cursor (ms). */
  private readonly names = new Map<string, number>();

  constructor(entry?: PartitionEntry) {
    for (const id of entry?.unfinished ?? []) this.unfinished.set(id, undefined);
    for (const print of entry?.recent ?? []) this.recent.set(print, undefined);
    for (const [group, seconds] of Object.entries(entry?.names ?? {})) this.names.set(group, seconds * 1000);
  }

  /** Whether the final record with this id was read lately (the discovery then skips it). */
  readLately(id: string): boolean {
    return this.recent.has(fingerprint(id));
  }

  /** The discovery groups of records read lately that the group listing may not have yet. */
  groups(): string[] {
    return [...this.names.keys()];
  }

  /** A record read while unfinished: followed until final. */
  follow(id: string, ms: number | undefined): void {
    this.unfinished.set(id, ms);
    this.recent.delete(fingerprint(id));
  }

  /** A record read final: no longer followed; remembered as read lately when it has a discovery group. */
  final(id: string, ms: number | undefined, group: string | undefined): void {
    this.unfinished.delete(id);
    if (group === undefined || ms === undefined) return;
    this.recent.set(fingerprint(id), ms);
    this.names.set(group, Math.max(ms, this.names.get(group) ?? ms));
  }

  /**
   * At the end of a complete walk: keeps the records read lately that the next discovery
   * may list again, created from `keepFrom` on. A record read in this sync has its cursor;
   * one remembered from an earlier sync gets it from this sync's discovery listing
   * (`listed`, by fingerprint). One the listing did not show (older than the discovery
   * looks, or listed late) is forgotten: if it is listed again later, it is read again,
   * which costs requests and repeats records a destination deduplicates, and loses nothing.
   */
  pruneRecent(keepFrom: number, listed: ReadonlyMap<string, number>): void {
    for (const [print, known] of this.recent) {
      const ms = known ?? listed.get(print);
      if (ms === undefined || ms < keepFrom) this.recent.delete(print);
    }
  }

  /**
   * Mid-walk, drops what the end of the walk would drop anyway: records read in this sync
   * before `recentFrom`, groups last read before `namesFrom` (history-walk.ts passes its
   * newest cursor so far, or the floor if older, less the spans; the bookmark it ends with
   * is no older). A first sync of a long history so saves the lookback's records, not the
   * history's.
   */
  trim(recentFrom: number, namesFrom: number): void {
    for (const [print, ms] of this.recent) if (ms !== undefined && ms < recentFrom) this.recent.delete(print);
    for (const [group, ms] of this.names) if (ms < namesFrom) this.names.delete(group);
  }

  /**
   * Keeps the discovery groups the next discovery may need from here: those of records read
   * from `keepFrom` on (the group listing's delay) that the listing of this sync did not
   * show. Where the listing was not asked (a first sync) or refused, none: the next
   * discovery asks the listing, and the walk adds the groups it meets.
   */
  pruneNames(keepFrom: number, listedGroups: ReadonlySet<string> | undefined): void {
    for (const [group, ms] of this.names) if (!listedGroups || listedGroups.has(group) || ms < keepFrom) this.names.delete(group);
  }

  /**
   * Keeps the followed set bounded: drops the records older than the age limit before
   * `newestMs`, then the oldest beyond the cap. Returns the ids dropped. A record whose
   * cursor is unknown (not readable when read again) is kept, as the newest.
   */
  pruneUnfinished(newestMs: number): string[] {
    const dropped: string[] = [];
    const age = (ms: number | undefined) => (ms === undefined ? 0 : newestMs - ms);
    const ordered = [...this.unfinished].sort(([, a], [, b]) => age(a) - age(b));
    ordered.forEach(([id, ms], index) => {
      if (age(ms) > UNFINISHED_MAX_AGE_MS || index >= UNFINISHED_MAX) {
        this.unfinished.delete(id);
        dropped.push(id);
      }
    });
    return dropped;
  }

  /** Writes the lists into the partition's entry, in the state's shape (sorted, so equal lists write equal states). */
  saveTo(entry: PartitionEntry): PartitionEntry {
    const out: PartitionEntry = { ...entry };
    delete out.unfinished;
    delete out.recent;
    delete out.names;
    if (this.unfinished.size > 0) out.unfinished = [...this.unfinished.keys()].sort();
    if (this.recent.size > 0) out.recent = [...this.recent.keys()].sort();
    if (this.names.size > 0) out.names = Object.fromEntries([...this.names].sort(([a], [b]) => (a < b ? -1 : 1)).map(([group, ms]) => [group, Math.floor(ms / 1000)]));
    return out;
  }
}
