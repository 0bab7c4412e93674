/**
 * CAT's TestIncremental.test_read_sequential_slices: per incremental stream, a first read
 * (projects are walked side by side, so a project that ends while others are still being
 * walked saves a state in the middle of the history walk, `currently_syncing` naming one
 * of those), then a read from each state CAT would sample; each must return at least the
 * records that came after that state in the first read. The connector runs as shipped:
 * the image has no knob to checkpoint more often.
 */
import { describe, expect, it } from '@jest/globals';

import { incrementalOnly, latestStateInput, primaryKeyOf, recordsOf, sameRecordData, selectIntermediateStates, statesOf } from './support/cat.js';
import { readRepoJson, useFakeAccount } from './support/fixture.js';
import { describeOnTargets } from './support/targets.js';

/** A test here runs up to six reads; through docker run each takes a few seconds. */
const READS_TIMEOUT_MS = 180_000;
const INCREMENTAL_STREAMS = incrementalOnly(readRepoJson('integration_tests/configured_catalog.json')).streams.map((s) => s.stream.name as string);

describeOnTargets('TestIncremental', (target) => {
  const account = useFakeAccount();
  const catalog = (): { streams: Array<Record<string, any>> } => incrementalOnly(account().configuredCatalog);

  it.each(INCREMENTAL_STREAMS.map((name) => [name]))(
    'test_read_sequential_slices[%s]: a read from each sampled intermediate state returns at least the records that came after it',
    async (name) => {
      const { config } = account();
      const single = { streams: catalog().streams.filter((s) => s.stream.name === name) };
      const first = await target.run('read', { config, catalog: single });
      expect(first.exitCode).toBe(0);
      const records1 = recordsOf(first.messages);
      expect(records1.length).toBeGreaterThan(0); // the fake account has records in every stream
      const states = statesOf(first.messages);
      const selected = selectIntermediateStates(states);
      expect(selected.length).toBeGreaterThan(0); // CAT fails when no state is suitable
      const primaryKey = single.streams[0]!.stream.source_defined_primary_key as string[][];
      const positions = first.messages.filter((m) => m.type === 'STATE' || m.type === 'RECORD');

      for (const { message, index, expectedRecordCount } of selected) {
        const fromState = await target.run('read', { config, catalog: single, state: latestStateInput([message]) });
        expect(fromState.exitCode).toBe(0);
        const recordsN = recordsOf(fromState.messages);
        const context = `state #${index + 1} of ${states.length}`;
        expect({ context, atLeast: recordsN.length >= expectedRecordCount }).toEqual({ context, atLeast: true });
        expect({ context, different: !sameRecordData(records1, recordsN) }).toEqual({ context, different: true });
        // By primary key: everything the first read emitted after this state is read again.
        const statePosition = positions.indexOf(states[index]!);
        const after = positions.slice(statePosition + 1).filter((m) => m.type === 'RECORD').map((m) => primaryKeyOf(m.record.data, primaryKey));
        expect(after.length).toBe(expectedRecordCount);
        const reread = new Set(recordsN.map((r) => primaryKeyOf(r.data, primaryKey)));
        expect({ context, missing: after.filter((key) => !reread.has(key)) }).toEqual({ context, missing: [] });
      }
    },
    READS_TIMEOUT_MS,
  );

  // CAT samples a middle state only when a read wrote three or more, and a checkpoint is
  // written once a stream's records since its last STATE outweigh the state
  // (src/read/checkpoints.ts): on an account this small a read writes two or three,
  // depending on which project ends first. So the states written in the middle of a walk
  // are resumed from here directly, each stream's, whatever CAT would have sampled.
  it('a read from each state written in the middle of a project walk returns at least the records that came after it', async () => {
    const { config } = account();
    let mid = 0;
    for (const name of ['pipelines', 'workflows', 'jobs', 'job_details', 'tests']) {
      const single = { streams: catalog().streams.filter((s) => s.stream.name === name) };
      const first = await target.run('read', { config, catalog: single });
      expect(first.exitCode).toBe(0);
      const primaryKey = single.streams[0]!.stream.source_defined_primary_key as string[][];
      const positions = first.messages.filter((m) => m.type === 'STATE' || m.type === 'RECORD');
      for (const state of statesOf(first.messages).filter((m) => m.state.stream.stream_state.currently_syncing)) {
        mid += 1;
        const after = positions.slice(positions.indexOf(state) + 1).filter((m) => m.type === 'RECORD').map((m) => primaryKeyOf(m.record.data, primaryKey));
        const fromState = await target.run('read', { config, catalog: single, state: latestStateInput([state]) });
        expect(fromState.exitCode).toBe(0);
        const reread = new Set(recordsOf(fromState.messages).map((r) => primaryKeyOf(r.data, primaryKey)));
        const context = `${name}, state in ${state.state.stream.stream_state.currently_syncing as string}`;
        expect({ context, missing: after.filter((key) => !reread.has(key)) }).toEqual({ context, missing: [] });
      }
    }
    expect(mid).toBeGreaterThan(0);
  }, READS_TIMEOUT_MS);

  describe('output', () => {
    it('test_secret_never_in_the_output: every run printed only valid protocol messages and never a secret', () => {
      expect(target.runs.length).toBeGreaterThan(INCREMENTAL_STREAMS.length * 2);
    });
  });
});
