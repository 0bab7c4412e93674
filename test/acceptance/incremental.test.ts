/**
 * CAT's TestIncremental: two sequential reads, and a read from
 * integration_tests/abnormal_state.json (test_read_sequential_slices is in
 * incremental-slices.test.ts, so the two halves run in parallel); plus a read from
 * integration_tests/sample_state.json.
 */
import { describe, expect, it } from '@jest/globals';

import { incrementalOnly, latestStateInput, recordsOf, sameRecordData, statesOf } from './support/cat.js';
import { readRepoJson, useFakeAccount } from './support/fixture.js';
import { describeOnTargets } from './support/targets.js';

/** Through docker run each read takes a few seconds. */
const READS_TIMEOUT_MS = 180_000;
const INCREMENTAL_STREAMS = incrementalOnly(readRepoJson('integration_tests/configured_catalog.json')).streams.map((s) => s.stream.name as string);

describeOnTargets('TestIncremental', (target) => {
  const account = useFakeAccount();
  const catalog = (): { streams: Array<Record<string, any>> } => incrementalOnly(account().configuredCatalog);

  it('test_two_sequential_reads: a read from the first read\'s last states returns different records, fewer of them', async () => {
    const { config } = account();
    const first = await target.run('read', { config, catalog: catalog() });
    expect(first.exitCode).toBe(0);
    const states = statesOf(first.messages);
    const records1 = recordsOf(first.messages);
    expect(states.length).toBeGreaterThan(0);
    expect(records1.length).toBeGreaterThan(0);

    const second = await target.run('read', { config, catalog: catalog(), state: latestStateInput(states) });
    expect(second.exitCode).toBe(0);
    const records2 = recordsOf(second.messages);
    expect(sameRecordData(records1, records2)).toBe(false);
    expect(records2.length).toBeLessThan(records1.length);
    for (const name of INCREMENTAL_STREAMS) {
      expect({ name, fewer: recordsOf(second.messages, name).length <= recordsOf(first.messages, name).length }).toEqual({ name, fewer: true });
    }
  }, READS_TIMEOUT_MS);

  it('test_state_with_abnormally_large_values: a read from abnormal_state.json returns no records and at least one STATE', async () => {
    const { config, abnormalState } = account();
    const run = await target.run('read', { config, catalog: catalog(), state: abnormalState });
    expect(run.exitCode).toBe(0);
    expect(recordsOf(run.messages).map((r) => r.stream)).toEqual([]);
    expect(statesOf(run.messages).length).toBeGreaterThanOrEqual(1);
    // Every incremental stream's saved state was accepted and kept.
    for (const name of INCREMENTAL_STREAMS) expect({ name, has: statesOf(run.messages, name).length > 0 }).toEqual({ name, has: true });
  }, READS_TIMEOUT_MS);

  it('a read from sample_state.json returns only records at or after the bookmark of their partition', async () => {
    const { config, sampleState } = account();
    const run = await target.run('read', { config, catalog: catalog(), state: sampleState });
    expect(run.exitCode).toBe(0);
    const bookmarks = new Map(sampleState.map((s) => [s.stream.stream_descriptor.name, s.stream.stream_state]));
    // Which record field names the partition a record's bookmark belongs to.
    const partitionField: Record<string, string> = { deploy: 'organization_id', schedule: 'project-slug', pipelines: 'project_slug' };
    let checked = 0;
    for (const [name, field] of Object.entries(partitionField)) {
      const stream = catalog().streams.find((s) => s.stream.name === name)!.stream;
      const cursor = stream.default_cursor_field[0] as string;
      const state = bookmarks.get(name)!;
      const partitions = (state.organizations ?? state.projects) as Record<string, Record<string, string>>;
      for (const record of recordsOf(run.messages, name)) {
        const bookmark = partitions[String(record.data[field])]![cursor]!;
        expect({ name, cursor: record.data[cursor], atOrAfter: Date.parse(record.data[cursor]) >= Date.parse(bookmark) }).toEqual({ name, cursor: record.data[cursor], atOrAfter: true });
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(0);
  }, READS_TIMEOUT_MS);

  describe('output', () => {
    it('test_secret_never_in_the_output: every run printed only valid protocol messages and never a secret', () => {
      expect(target.runs.length).toBe(4);
    });
  });
});
