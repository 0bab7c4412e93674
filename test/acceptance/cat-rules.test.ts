/**
 * The ported CAT rules (support/cat.ts) catch what CAT catches: each is shown a schema or
 * a run that breaks it. Without this, a rule that never fires would pass every connector.
 */
import { describe, expect, it } from '@jest/globals';

import {
  additionalPropertiesTrue,
  arrayItems,
  duplicateEnums,
  duplicateOrders,
  forbiddenKeywords,
  keyOccurrences,
  nestedGroups,
  objectsNotEmpty,
  oneOfUsage,
  parseMarkingFloats,
  propertyTypes,
  recordValidators,
  secretMarking,
  selectIntermediateStates,
} from './support/cat.js';

const spec = (properties: Record<string, unknown>): Record<string, unknown> => ({ type: 'object', properties });

describe('spec rules', () => {
  it('secretMarking: an unmarked token, a marked non-secret and a marked boolean secret', () => {
    const result = secretMarking(
      spec({
        api_key: { type: 'string' },
        start_date: { type: 'string', airbyte_secret: true },
        token: { type: 'boolean', airbyte_secret: true },
        password: { type: ['string', 'null'], airbyte_secret: true },
        credentials: { type: 'object', properties: { client_secret: { type: 'string' } } },
      }),
    );
    expect(result.errors).toEqual([
      expect.stringContaining('/properties/start_date is marked'),
      expect.stringContaining('/properties/token is marked airbyte_secret but cannot hold'),
      expect.stringContaining('/properties/credentials/properties/client_secret is named like a secret'),
    ]);
    expect(secretMarking(spec({ key: { type: 'string' } })).errors).toEqual([expect.stringContaining('/properties/key')]);
  });

  it('duplicateEnums, propertyTypes, objectsNotEmpty, arrayItems', () => {
    expect(duplicateEnums(spec({ a: { type: 'string', enum: ['x', 'y', 'x'] } })).errors).toHaveLength(1);
    expect(propertyTypes(spec({ a: { type: ['string', 'integer'] }, b: { type: ['string', 'integer', 'null'] }, c: { type: ['string', 'null'] } })).errors).toHaveLength(2);
    expect(objectsNotEmpty(spec({ a: { type: 'object' }, b: { type: 'object', properties: {} }, c: { type: 'object', oneOf: [] } })).errors).toHaveLength(2);
    expect(arrayItems(spec({ a: { type: 'array', items: [{ type: 'string' }] }, b: { type: 'array', items: { type: 'boolean' } }, c: { type: 'array', items: { enum: [1] } } })).errors).toHaveLength(2);
  });

  it('forbiddenKeywords flags keywords, not properties that happen to share their name', () => {
    const result = forbiddenKeywords(spec({ not: { type: 'string' }, a: { anyOf: [{ type: 'string' }] }, b: { type: 'object', properties: { c: { if: {}, then: {} } } } }));
    expect(result.errors.sort()).toEqual(['/properties/a/anyOf', '/properties/b/properties/c/if', '/properties/b/properties/c/then']);
  });

  it('duplicateOrders per group, nestedGroups, additionalPropertiesTrue, keyOccurrences of $ref', () => {
    expect(duplicateOrders(spec({ a: { order: 0 }, b: { order: 0 }, c: { order: 1, group: 'x' }, d: { order: 1 } })).errors).toEqual([expect.stringContaining('/properties/b repeats order 0')]);
    expect(nestedGroups(spec({ a: { group: 'x' }, b: { type: 'object', properties: { c: { group: 'y' } } } })).errors).toEqual([expect.stringContaining('/properties/b/properties/c/group')]);
    expect(additionalPropertiesTrue(spec({ a: { type: 'object', properties: { b: {} }, additionalProperties: false } })).errors).toHaveLength(1);
    expect(keyOccurrences({ a: { examples: [{ $ref: '#/x' }] } }, '$ref')).toEqual(['/a/examples/0/$ref']);
  });

  it('oneOfUsage: variants without a common const property', () => {
    const bad = spec({ auth: { type: 'object', oneOf: [{ properties: { kind: { const: 'a' }, x: {} } }, { properties: { kind: { type: 'string' } } }] } });
    expect(oneOfUsage(bad).errors).toEqual([expect.stringContaining('exactly one common property must carry const (found 0)')]);
    const good = spec({ auth: { type: 'object', oneOf: [{ properties: { kind: { const: 'a' } } }, { properties: { kind: { const: 'b' } } }] } });
    expect(oneOfUsage(good).errors).toEqual([]);
  });
});

describe('record rules', () => {
  it('an integral value written as 1.0 fails an integer field; 1 passes; a bad date-time fails', () => {
    const validate = recordValidators([{ name: 's', json_schema: { type: 'object', properties: { n: { type: 'integer' }, t: { type: 'string', format: 'date-time' } } } }]).get('s')!;
    expect(validate(parseMarkingFloats('{"n":1,"t":"2026-01-01T00:00:00Z"}'))).toBe(true);
    expect(validate(parseMarkingFloats('{"n":1.0}'))).toBe(false);
    expect(validate(parseMarkingFloats('{"n":2e0}'))).toBe(false);
    expect(validate(parseMarkingFloats('{"t":"yesterday"}'))).toBe(false);
  });
});

describe('selectIntermediateStates (CAT\'s state sampling)', () => {
  const state = (value: number, recordCount: number): Record<string, any> => ({
    type: 'STATE',
    state: { type: 'STREAM', stream: { stream_descriptor: { name: 's' }, stream_state: { v: value } }, sourceStats: { recordCount } },
  });

  it('merges consecutive equal states, drops empty ones, skips the first and the last', () => {
    // counts after merging: v1:2, v2:3 (2+1), v3:0 (dropped), v4:4, v5:1
    const states = [state(1, 2), state(2, 2), state(2, 1), state(3, 0), state(4, 4), state(5, 1)];
    const picked = selectIntermediateStates(states);
    expect(picked.map((p) => [p.index, p.expectedRecordCount])).toEqual([
      [1, 5],
      [4, 1],
    ]);
  });

  it('with fewer than three candidates, only the last, expecting nothing after it', () => {
    expect(selectIntermediateStates([state(1, 3), state(2, 3)]).map((p) => [p.index, p.expectedRecordCount])).toEqual([[1, 0]]);
    expect(selectIntermediateStates([state(1, 0)])).toEqual([]);
  });
});
