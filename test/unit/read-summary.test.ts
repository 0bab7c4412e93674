import { describe, expect, it } from '@jest/globals';

import { ReadSummary } from '../../src/read/read-summary.js';
import { STREAMS } from '../../src/streams/streams.js';

describe('ReadSummary', () => {
  it('keeps keyed items and non-objects, skips the keyless with one WARN per stream naming fields, never values', () => {
    const logs: string[] = [];
    const summary = new ReadSummary((_level, message) => logs.push(message));
    const org = { id: 'org-1' };
    const page = [{ id: 'a' }, { name: 'top-secret-value' }, { id: null }, { id: { nested: 1 } }, 'not an object', { id: 'b' }];
    expect(summary.keyed(STREAMS.context, org, page)).toEqual([{ id: 'a' }, 'not an object', { id: 'b' }]);
    expect(summary.keyed(STREAMS.context, org, [{ id: 3, x: 1 }, {}])).toEqual([{ id: 3, x: 1 }]);
    expect(summary.skippedWithoutKey.get('context')).toBe(4);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toContain('context');
    expect(logs[0]).toContain('"id"');
    expect(logs[0]).toContain('fields: name');
    expect(logs[0]).not.toContain('top-secret-value');
  });

  it('checks keys the stream takes from its parent', () => {
    const summary = new ReadSummary(() => undefined);
    expect(summary.keyed(STREAMS.context, {}, [{ id: 'a' }])).toEqual([]);
    expect(summary.keyed(STREAMS.context, { id: 'org' }, [{ id: 'a' }])).toEqual([{ id: 'a' }]);
  });

  it('names missing projects in config order, and fails only when none was found', () => {
    const summary = new ReadSummary(() => undefined);
    summary.projectNotFound('gh/a/z');
    expect(summary.projectsNotFound(['gh/a/y', 'gh/a/z'])).toEqual(['gh/a/z']);
    expect(summary.noProjectFound(['gh/a/y', 'gh/a/z'])).toBeUndefined();
    expect(summary.line(['gh/a/y', 'gh/a/z'])).toBe('; projects not found (404): gh/a/z');
    summary.projectNotFound('gh/a/y');
    const error = summary.noProjectFound(['gh/a/y', 'gh/a/z']);
    expect(error?.failureType).toBe('config_error');
    expect(error?.message).toContain('gh/a/y, gh/a/z');
    expect(new ReadSummary(() => undefined).line(['gh/a/y'])).toBe('');
  });
});
