/**
 * CAT's TestBasicRead at strictness high: a read of the DISCOVERED catalog (each stream in
 * its first sync mode), checked the way test_read checks it, against the expected records
 * of integration_tests/expected_records.jsonl; and test_airbyte_trace_message_on_failure.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';

import { STREAM_NAMES } from '../../src/streams/schemas/index.js';
import {
  basicReadCatalog,
  canonical,
  invalidCatalog,
  objectPaths,
  parseMarkingFloats,
  primaryKeyOf,
  recordValidators,
  recordsOf,
  schemaPaths,
  statesOf,
  valueAt,
} from './support/cat.js';
import { clockDependent } from '../../tools/acceptance/integration-files.js';
import { readRepoYaml, useFakeAccount } from './support/fixture.js';
import { describeOnTargets, type ConnectorRun } from './support/targets.js';

const acceptanceConfig = readRepoYaml('acceptance-test-config.yml');
const basicReadConfig = acceptanceConfig.acceptance_tests.basic_read.tests[0];
const emptyStreams: string[] = (basicReadConfig.empty_streams ?? []).map((s: { name: string }) => s.name);

describeOnTargets('TestBasicRead', (target) => {
  const account = useFakeAccount();
  let catalog: { streams: Array<Record<string, any>> };
  let run: ConnectorRun;

  beforeAll(async () => {
    const discover = await target.run('discover', { config: account().config });
    catalog = basicReadCatalog(discover.messages.find((m) => m.type === 'CATALOG')!.catalog, emptyStreams);
    run = await target.run('read', { config: account().config, catalog });
  }, 120_000);

  const streamNames = (): string[] => catalog.streams.map((s) => s.stream.name as string);

  it('test_read: the read succeeds with at least one record, and records in every stream', () => {
    expect(run.exitCode).toBe(0);
    expect(run.messages.filter((m) => m.type === 'TRACE' && m.trace.type === 'ERROR')).toEqual([]);
    expect(streamNames()).toHaveLength(STREAM_NAMES.length - emptyStreams.length);
    const empty = streamNames().filter((name) => recordsOf(run.messages, name).length === 0);
    expect(empty).toEqual([]);
  });

  it('test_read › _validate_schema: every record validates against its stream schema (draft-07, strict integers, date-time parses)', () => {
    const validators = recordValidators(catalog.streams.map((s) => s.stream));
    const problems: string[] = [];
    let checked = 0;
    // From the raw lines, so that 1.0 in an integer field is caught.
    for (const line of run.stdout.split('\n')) {
      if (!line.startsWith('{"type":"RECORD"')) continue;
      const { record } = parseMarkingFloats(line);
      const validate = validators.get(record.stream)!;
      checked++;
      if (!validate(record.data)) problems.push(`${record.stream}: ${JSON.stringify(validate.errors?.slice(0, 3))}`);
    }
    expect(problems.slice(0, 10)).toEqual([]);
    expect(checked).toBe(recordsOf(run.messages).length);
  });

  it('test_read › _validate_records_structure: every record shares at least one field with its schema', () => {
    const paths = new Map(catalog.streams.map((s) => [s.stream.name, schemaPaths(s.stream.json_schema)]));
    const strangers = recordsOf(run.messages).filter((r) => ![...objectPaths(r.data)].some((path) => paths.get(r.stream)!.has(path)));
    expect(strangers.map((r) => r.stream)).toEqual([]);
  });

  it('test_read › _validate_primary_keys_data_type: primary-key values are non-null and never a list or an object', () => {
    const problems: string[] = [];
    for (const { stream } of catalog.streams) {
      for (const record of recordsOf(run.messages, stream.name)) {
        for (const path of stream.source_defined_primary_key) {
          const value = valueAt(record.data, path);
          if (value === null || value === undefined || typeof value === 'object') problems.push(`${stream.name}.${path.join('.')} = ${JSON.stringify(value)}`);
        }
      }
    }
    expect(problems.slice(0, 10)).toEqual([]);
  });

  it('test_read › _validate_expected_records: every record of expected_records.jsonl is read (by primary key), with the same data', () => {
    const { expectedRecords } = account();
    expect(expectedRecords.length).toBeGreaterThan(0);
    const keys = new Map(catalog.streams.map((s) => [s.stream.name, s.stream.source_defined_primary_key as string[][]]));
    const actual = new Map<string, string>();
    for (const r of recordsOf(run.messages)) actual.set(`${r.stream} ${primaryKeyOf(r.data, keys.get(r.stream)!)}`, canonical(r.data));
    const missing: string[] = [];
    const different: string[] = [];
    for (const expected of expectedRecords) {
      const id = `${expected.stream} ${primaryKeyOf(expected.data, keys.get(expected.stream)!)}`;
      if (!actual.has(id)) missing.push(id);
      else if (actual.get(id) !== canonical(expected.data)) different.push(id);
    }
    expect({ missing, different }).toEqual({ missing: [], different: [] });
    // Every stream but those that depend on the run's clock has expected records, so none is checked by count alone.
    expect(new Set(expectedRecords.map((r) => r.stream))).toEqual(new Set(streamNames().filter((name) => !clockDependent(name))));
  });

  it('test_read › _validate_stream_statuses: per stream STARTED, then RUNNING, then COMPLETE (at least three)', () => {
    const byStream = new Map<string, string[]>();
    for (const m of run.messages.filter((m) => m.type === 'TRACE' && m.trace.type === 'STREAM_STATUS')) {
      const name = m.trace.stream_status.stream_descriptor.name;
      byStream.set(name, [...(byStream.get(name) ?? []), m.trace.stream_status.status]);
    }
    expect([...byStream.keys()].sort()).toEqual(streamNames().sort());
    for (const [name, statuses] of byStream) {
      expect({ name, count: statuses.length >= 3 }).toEqual({ name, count: true });
      expect(statuses[0]).toBe('STARTED');
      expect(statuses.at(-1)).toBe('COMPLETE');
      expect(statuses.slice(1, -1).every((s) => s === 'RUNNING')).toBe(true);
    }
  });

  it('test_read › _validate_state_messages: at least as many STATE messages as streams, none LEGACY, each with sourceStats', () => {
    const states = statesOf(run.messages);
    expect(states.length).toBeGreaterThanOrEqual(catalog.streams.length);
    for (const m of states) {
      expect(m.state.type).not.toBe('LEGACY');
      expect(m.state.type).toBe('STREAM');
      expect(typeof m.state.sourceStats?.recordCount).toBe('number');
    }
    // Every stream, full refresh ones included, ends with a state.
    for (const name of streamNames()) expect({ name, has: statesOf(run.messages, name).length > 0 }).toEqual({ name, has: true });
  });

  it('test_airbyte_trace_message_on_failure: a catalog naming a stream that does not exist, sync_mode INVALID, ends in a TRACE ERROR', async () => {
    const failed = await target.run('read', { config: account().config, catalog: invalidCatalog() });
    const errors = failed.messages.filter((m) => m.type === 'TRACE' && m.trace.type === 'ERROR');
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(failed.exitCode).not.toBe(0);
    expect(errors[0]!.trace.error.message).toContain('__AIRBYTE__stream_that_does_not_exist');
    expect(errors[0]!.trace.error.failure_type).toBe('config_error');
  });

  describe('output', () => {
    it('test_secret_never_in_the_output: every run printed only valid protocol messages and never a secret', () => {
      expect(target.runs.length).toBe(3);
    });
  });
});
