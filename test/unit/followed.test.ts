/**
 * A partition's followed records (read/followed.ts): what is kept of them in the state,
 * and for how long.
 */
import { describe, expect, it } from '@jest/globals';

import { fingerprint, Followed, UNFINISHED_MAX_AGE_MS } from '../../src/read/followed.js';

const HOUR = 3600_000;
const NOW = Date.parse('2026-11-01T00:00:00Z');

describe('followed records of a partition', () => {
  it('fingerprints are short, stable, and differ between ids', () => {
    const a = fingerprint('3ec7e4f0-b0ac-485e-9a22-b1d6a31b8dee');
    expect(a).toHaveLength(11);
    expect(fingerprint('3ec7e4f0-b0ac-485e-9a22-b1d6a31b8dee')).toBe(a);
    expect(fingerprint('3ec7e4f0-b0ac-485e-9a22-b1d6a31b8def')).not.toBe(a);
  });

  it('a record read final leaves the followed ones and is known as read lately; the state keeps ids, fingerprints and groups', () => {
    const followed = new Followed({ unfinished: ['w-1', 'w-2'] });
    followed.final('w-1', NOW - HOUR, 'build');
    followed.follow('w-3', NOW);
    expect(followed.readLately('w-1')).toBe(true);
    expect(followed.readLately('w-2')).toBe(false);
    expect(followed.saveTo({ cursor: 'c' })).toEqual({ cursor: 'c', unfinished: ['w-2', 'w-3'], recent: [fingerprint('w-1')], names: { build: Math.floor((NOW - HOUR) / 1000) } });
  });

  it('records read lately are kept from the lookback on: this sync\'s by their cursor, earlier ones where the discovery listed them', () => {
    const followed = new Followed({ recent: [fingerprint('listed'), fingerprint('listed-old'), fingerprint('not-listed')] });
    followed.final('read-now', NOW - 2 * HOUR, 'build');
    followed.final('read-now-old', NOW - 30 * HOUR, 'build');
    followed.pruneRecent(NOW - 24 * HOUR, new Map([[fingerprint('listed'), NOW - 3 * HOUR], [fingerprint('listed-old'), NOW - 25 * HOUR]]));
    expect(followed.saveTo({}).recent).toEqual([fingerprint('listed'), fingerprint('read-now')].sort());
  });

  it('groups are kept only where the group listing did not list them, and not at all when it was not asked', () => {
    const followed = new Followed({});
    followed.final('a', NOW - HOUR, 'build');
    followed.final('b', NOW - HOUR, 'brand-new');
    followed.final('c', NOW - 30 * HOUR, 'old-and-unlisted');
    followed.pruneNames(NOW - 24 * HOUR, new Set(['build']));
    expect(Object.keys(followed.saveTo({}).names ?? {})).toEqual(['brand-new']);
    followed.pruneNames(NOW - 24 * HOUR, undefined);
    expect(followed.saveTo({}).names).toBeUndefined();
  });

  it('mid-walk, records of this sync before the span are dropped; those of earlier syncs wait for the walk\'s end', () => {
    const followed = new Followed({ recent: [fingerprint('earlier')] });
    followed.final('new', NOW - HOUR, 'build');
    followed.final('old', NOW - 48 * HOUR, 'old-group');
    followed.trim(NOW - 24 * HOUR, NOW - 24 * HOUR);
    expect(followed.saveTo({})).toEqual({ recent: [fingerprint('earlier'), fingerprint('new')].sort(), names: { build: Math.floor((NOW - HOUR) / 1000) } });
  });

  it('unfinished records older than the age limit are dropped; those never read again are kept', () => {
    const followed = new Followed({ unfinished: ['unread'] });
    followed.follow('young', NOW - HOUR);
    followed.follow('old', NOW - UNFINISHED_MAX_AGE_MS - HOUR);
    expect(followed.pruneUnfinished(NOW)).toEqual(['old']);
    expect(followed.saveTo({}).unfinished).toEqual(['unread', 'young']);
  });
});
