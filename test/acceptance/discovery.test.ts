/**
 * CAT's TestDiscovery: one CATALOG, and stream schemas a destination can use.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { Ajv } from 'ajv';

import { additionalPropertiesTrue, forbiddenKeywords, keyOccurrences } from './support/cat.js';
import { useFakeAccount } from './support/fixture.js';
import { describeOnTargets, type ConnectorRun } from './support/targets.js';

/** The schema node at a field path (["a", "b"] → properties.a.properties.b), or undefined. */
function fieldSchema(schema: Record<string, any>, path: readonly string[]): Record<string, any> | undefined {
  let node: Record<string, any> | undefined = schema;
  for (const key of path) node = node?.properties?.[key];
  return node;
}

describeOnTargets('TestDiscovery', (target) => {
  const account = useFakeAccount();
  let run: ConnectorRun;
  let streams: Array<Record<string, any>>;

  beforeAll(async () => {
    run = await target.run('discover', { config: account().config });
    expect(run.exitCode).toBe(0);
    streams = run.messages.find((m) => m.type === 'CATALOG')?.catalog.streams ?? [];
  });

  it('test_discover: exactly one CATALOG, with streams, uniquely named', () => {
    const catalogs = run.messages.filter((m) => m.type === 'CATALOG');
    expect(catalogs).toHaveLength(1);
    expect(streams.length).toBeGreaterThan(0);
    const names = streams.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('test_streams_have_valid_json_schemas: every json_schema is a valid draft-07 schema', () => {
    const ajv = new Ajv({ strict: false });
    for (const stream of streams) {
      const valid = ajv.validateSchema(stream.json_schema);
      expect({ stream: stream.name, errors: ajv.errors ?? [] }).toEqual({ stream: stream.name, errors: [] });
      expect(valid).toBe(true);
      expect(stream.json_schema.type).toBe('object');
    }
  });

  it('test_defined_cursors_exist_in_schema: every default_cursor_field is a property of its schema', () => {
    const withCursor = streams.filter((s) => s.default_cursor_field);
    expect(withCursor.length).toBeGreaterThan(0);
    for (const stream of withCursor) expect({ stream: stream.name, found: fieldSchema(stream.json_schema, stream.default_cursor_field) !== undefined }).toEqual({ stream: stream.name, found: true });
  });

  it('test_defined_refs_exist_in_schema: no $ref in any schema', () => {
    for (const stream of streams) expect({ stream: stream.name, refs: keyOccurrences(stream.json_schema, '$ref') }).toEqual({ stream: stream.name, refs: [] });
  });

  it.each([['allOf'], ['not']])('test_defined_keyword_exist_in_schema[%s]: the keyword appears in no schema', (keyword) => {
    for (const stream of streams) {
      const result = forbiddenKeywords(stream.json_schema, [keyword]);
      expect({ stream: stream.name, found: result.errors }).toEqual({ stream: stream.name, found: [] });
      expect(result.visited).toBeGreaterThan(1);
    }
  });

  it('test_primary_keys_exist_in_schema: every primary-key path is a property of its schema', () => {
    for (const stream of streams) {
      expect(stream.source_defined_primary_key?.length ?? 0).toBeGreaterThan(0);
      for (const path of stream.source_defined_primary_key) expect({ stream: stream.name, path, found: fieldSchema(stream.json_schema, path) !== undefined }).toEqual({ stream: stream.name, path, found: true });
    }
  });

  it('test_primary_keys_data_type: no primary-key field is an object or an array', () => {
    for (const stream of streams) {
      for (const path of stream.source_defined_primary_key) {
        const types = [fieldSchema(stream.json_schema, path)?.type].flat();
        expect({ stream: stream.name, path, types: types.filter((t) => t === 'object' || t === 'array') }).toEqual({ stream: stream.name, path, types: [] });
      }
    }
  });

  it('test_streams_has_sync_modes: supported_sync_modes is non-empty', () => {
    for (const stream of streams) expect(stream.supported_sync_modes?.length ?? 0).toBeGreaterThan(0);
  });

  it('test_additional_properties_is_true: additionalProperties is true wherever present', () => {
    for (const stream of streams) expect({ stream: stream.name, errors: additionalPropertiesTrue(stream.json_schema).errors }).toEqual({ stream: stream.name, errors: [] });
  });

  it('the discovered streams are the ones integration_tests/configured_catalog.json configures, schema for schema', () => {
    const configured = account().configuredCatalog.streams.map((s) => s.stream);
    expect(configured).toEqual(streams);
  });

  describe('output', () => {
    it('test_secret_never_in_the_output: every run printed only valid protocol messages and never a secret', () => {
      expect(target.runs.length).toBe(1);
    });
  });
});
