import { describe, expect, it } from '@jest/globals';

import { ReadSummary } from '../../src/read/read-summary.js';
import type { ApiRecord } from '../../src/streams/declaration.js';
import { STREAMS } from '../../src/streams/streams.js';

describe('ReadSummary', () => {
  it('keeps keyed records, skips the keyless with one WARN per stream naming the API fields, never values', () => {
    const logs: string[] = [];
    const summary = new ReadSummary((_level, message) => logs.push(message));
    const keep = (items: ApiRecord[]) => items.filter((item) => summary.hasKey(STREAMS.context, { ...item, organization_id: 'org-1' }, item));
    const page = [{ id: 'a' }, { name: 'top-secret-value' }, { id: null }, { id: { nested: 1 } }, { id: 'b' }];
    expect(keep(page)).toEqual([{ id: 'a' }, { id: 'b' }]);
    expect(keep([{ id: 3, x: 1 }, {}])).toEqual([{ id: 3, x: 1 }]);
    expect(summary.skippedWithoutKey.get('context')).toBe(4);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toContain('context');
    expect(logs[0]).toContain('"id"');
    expect(logs[0]).toContain('fields: name');
    expect(logs[0]).not.toContain('top-secret-value');
  });

  it('checks keys the stream takes from its parent (in the record, not the API item)', () => {
    const summary = new ReadSummary(() => undefined);
    expect(summary.hasKey(STREAMS.context, { id: 'a' }, { id: 'a' })).toBe(false);
    expect(summary.hasKey(STREAMS.context, { id: 'a', organization_id: 'org' }, { id: 'a' })).toBe(true);
  });

  it('counts values nulled to fit the schema per stream, with one WARN per stream naming the fields, and says them in the final line', () => {
    const logs: string[] = [];
    const summary = new ReadSummary((_level, message) => logs.push(message));
    const change = (field: string) => ({ field, change: 'NULLED', reason: 'SOURCE_SERIALIZATION_ERROR' }) as const;
    summary.nulled('tests', [change('run_time')]);
    summary.nulled('tests', [change('run_time'), change('name')]);
    summary.nulled('jobs', [change('job_number')]);
    expect([...summary.nulledToFitSchema]).toEqual([['tests', 3], ['jobs', 1]]);
    expect(logs).toHaveLength(2);
    expect(logs[0]).toMatch(/^tests: .*\(run_time\).*meta\.changes/);
    expect(summary.line([])).toBe('; values nulled to fit the schema: tests 3, jobs 1');
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
