/**
 * Records fitted to their stream's discovered schema (src/streams/schema-coercion.ts):
 * values of another type are converted where nothing is lost, otherwise nulled and named
 * in meta.changes; a record that fits is returned as it is, and the API item is never
 * changed in place.
 */
import { describe, expect, it } from '@jest/globals';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';

import { compileRecordCoercer } from '../../src/streams/schema-coercion.js';
import { streamSchemas, type StreamName } from '../../src/streams/schemas/index.js';

const addFormats = addFormatsModule.default;
const ajv = new Ajv({ strict: true, allErrors: true });
addFormats(ajv);

const nulled = (field: string) => ({ field, change: 'NULLED', reason: 'SOURCE_SERIALIZATION_ERROR' });

/** Fits `record` to `stream`'s schema and checks the result validates against it. */
function fit(stream: StreamName, record: Record<string, unknown>) {
  const result = compileRecordCoercer(streamSchemas[stream])(record);
  const validate = ajv.compile(streamSchemas[stream] as object);
  expect({ valid: validate(result.record), errors: validate.errors ?? null }).toEqual({ valid: true, errors: null });
  return result;
}

describe('fitting records to their schema', () => {
  it('a record that fits is returned as it is, with no changes', () => {
    const record = { _job_id: 'j', _test_key: 'k', _workflow_created_at: '2026-01-01T00:00:00Z', run_time: 1.5, name: 'n' };
    const result = fit('tests', record);
    expect(result.record).toBe(record);
    expect(result.changes).toBeUndefined();
  });

  it('converts what loses nothing: "" to null for a number, "25" to 25, 914.0 stays a number, 25 to "25" for a string', () => {
    const item = { _job_id: 'j', _test_key: 'k', _workflow_created_at: '2026-01-01T00:00:00Z', run_time: '', name: 25 };
    const result = fit('tests', item);
    expect(result.record).toEqual({ ...item, run_time: null, name: '25' });
    expect(result.changes).toBeUndefined();
    expect(item.run_time).toBe(''); // the item itself is left alone
    const pipeline = fit('pipelines', { id: 'p', updated_at: '2026-01-01T00:00:00.123Z', number: '25', created_at: '2026-01-01T00:00:00Z' });
    expect(pipeline.record.number).toBe(25);
    expect(pipeline.changes).toBeUndefined();
    const runTime = fit('tests', { ...item, run_time: JSON.parse('914.0') as number });
    expect(runTime.record.run_time).toBe(914);
    expect(fit('jobs', { id: 'j', _workflow_id: 'w', _workflow_created_at: '2026-01-01T00:00:00Z', job_number: '914.0' }).record.job_number).toBe(914);
    expect(fit('insights_workflow_runs', { id: 'r', created_at: '2026-01-01T00:00:00Z', is_approval: 'false' }).record.is_approval).toBe(false);
  });

  it('timestamps with and without milliseconds, and with an offset, are kept as they are', () => {
    for (const at of ['2026-01-01T00:00:00Z', '2026-01-01T00:00:00.123Z', '2026-01-01T00:00:00.123456+02:00', '1970-01-01T00:00:00.000Z']) {
      const record = { id: 'p', updated_at: at, created_at: at, trigger: { received_at: at } };
      expect(fit('pipelines', record)).toEqual({ record, changes: undefined });
    }
  });

  it('nulls what cannot be converted without loss and names it in changes, nested fields and array elements by path', () => {
    const result = fit('pipelines', {
      id: 'p',
      updated_at: '2026-01-01T00:00:00Z',
      number: '25 pipelines',
      created_at: 'yesterday',
      trigger: { received_at: 1_700_000_000, actor: 'someone' },
      errors: [{ type: 'config', message: 'ok' }, { type: { nested: true }, message: 'x' }],
      vcs: [],
    });
    expect(result.record).toMatchObject({
      number: null,
      created_at: null,
      trigger: { received_at: null, actor: null },
      errors: [{ type: 'config', message: 'ok' }, { type: null, message: 'x' }],
      vcs: null,
    });
    expect(result.changes).toEqual(['created_at', 'errors[1].type', 'number', 'trigger.actor', 'trigger.received_at', 'vcs'].map(nulled));
    // An element that cannot be null where the schema's items are not nullable: the array is nulled.
    const element = fit('pipelines', { id: 'p', updated_at: '2026-01-01T00:00:00Z', errors: [{ type: 'config' }, 'not an object'] });
    expect(element.record.errors).toBeNull();
    expect(element.changes).toEqual([nulled('errors')]);
    // A null where the schema allows it is no change.
    expect(fit('pipelines', { id: 'p', updated_at: '2026-01-01T00:00:00Z', number: null, vcs: null }).changes).toBeUndefined();
    expect(fit('jobs', { id: 'j', _workflow_id: 'w', _workflow_created_at: '2026-01-01T00:00:00Z', job_number: 2.5 }).changes).toEqual([nulled('job_number')]);
    expect(fit('insights_workflow_runs', { id: 'r', created_at: '2026-01-01T00:00:00Z', is_approval: 'maybe' }).changes).toEqual([nulled('is_approval')]);
  });

  it('a key that fits in no way is left for the reader to skip, the rest of the record fitted', () => {
    const result = compileRecordCoercer(streamSchemas.pipelines)({ id: { not: 'a key' }, updated_at: '2026-01-01T00:00:00Z', number: '7' });
    expect(result.record).toEqual({ id: { not: 'a key' }, updated_at: '2026-01-01T00:00:00Z', number: 7 });
  });

  it('fields the schema does not declare are passed through untouched', () => {
    const record = { id: 'p', updated_at: '2026-01-01T00:00:00Z', unknown_field: { any: ['thing', 1] } };
    expect(fit('pipelines', record).record).toBe(record);
  });
});
