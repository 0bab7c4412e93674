/**
 * CAT's TestFullRefresh.test_sequential_reads: two reads of the configured catalog, every
 * stream in full refresh; the second's records all emitted after the first's, and the
 * same records.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';

import { STREAM_NAMES } from '../../src/streams/schemas/index.js';
import { canonical, fullRefreshOnly, primaryKeyOf, recordsOf } from './support/cat.js';
import { readRepoYaml, useFakeAccount } from './support/fixture.js';
import { describeOnTargets, type ConnectorRun } from './support/targets.js';

/** CAT's ignored_fields: per stream, the fields two reads may disagree on (a snapshot's sync time). */
const ignoredFields: Record<string, Array<{ name: string }>> = readRepoYaml('acceptance-test-config.yml').acceptance_tests.full_refresh.tests[0].ignored_fields ?? {};
const withoutIgnored = (stream: string, data: Record<string, unknown>): Record<string, unknown> => {
  const out = { ...data };
  for (const field of ignoredFields[stream] ?? []) delete out[field.name];
  return out;
};
const emptyStreams: string[] = (readRepoYaml('acceptance-test-config.yml').acceptance_tests.basic_read.tests[0].empty_streams ?? []).map((s: { name: string }) => s.name);

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describeOnTargets('TestFullRefresh', (target) => {
  const account = useFakeAccount();
  let catalog: { streams: Array<Record<string, any>> };
  let first: ConnectorRun;
  let second: ConnectorRun;

  beforeAll(async () => {
    catalog = fullRefreshOnly(account().configuredCatalog);
    first = await target.run('read', { config: account().config, catalog });
    await pause(5); // CAT sleeps between the reads so that emitted_at can differ
    second = await target.run('read', { config: account().config, catalog });
  }, 120_000);

  it('both reads succeed and cover every stream', () => {
    expect([first.exitCode, second.exitCode]).toEqual([0, 0]);
    expect(catalog.streams).toHaveLength(STREAM_NAMES.length);
    for (const s of catalog.streams.filter((s) => !emptyStreams.includes(s.stream.name))) expect(recordsOf(first.messages, s.stream.name).length).toBeGreaterThan(0);
  });

  it('test_sequential_reads: every emitted_at of the second read is later than every one of the first', () => {
    const firstTimes = recordsOf(first.messages).map((r) => r.emitted_at as number);
    const secondTimes = recordsOf(second.messages).map((r) => r.emitted_at as number);
    expect(firstTimes.length).toBeGreaterThan(0);
    expect(secondTimes.length).toBeGreaterThan(0);
    expect(Math.min(...secondTimes)).toBeGreaterThan(Math.max(...firstTimes));
  });

  it('test_sequential_reads: the second read returns the same records (by primary key and data)', () => {
    for (const { stream } of catalog.streams) {
      const table = (run: ConnectorRun): Map<string, string> =>
        new Map(
          recordsOf(run.messages, stream.name).map((r) => {
            const data = withoutIgnored(stream.name, r.data);
            return [primaryKeyOf(data, stream.source_defined_primary_key), canonical(data)];
          }),
        );
      const a = table(first);
      const b = table(second);
      expect({ stream: stream.name, size: a.size }).toEqual({ stream: stream.name, size: recordsOf(first.messages, stream.name).length });
      expect({ stream: stream.name, records: b }).toEqual({ stream: stream.name, records: a });
    }
  });

  describe('output', () => {
    it('test_secret_never_in_the_output: every run printed only valid protocol messages and never a secret', () => {
      expect(target.runs.length).toBe(2);
    });
  });
});
