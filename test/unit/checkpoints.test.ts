/**
 * When a checkpoint's STATE is written (read/checkpoints.ts): once the stream's records
 * since its last STATE outweigh the state RECORD_CHARS_PER_STATE_CHAR times. A sync whose
 * state grows with every partition it finishes (as a history's does) then writes STATE
 * bytes bounded by a share of its RECORD bytes, however many partitions it has.
 */
import { describe, expect, it } from '@jest/globals';

import { Checkpoints, RECORD_CHARS_PER_STATE_CHAR } from '../../src/read/checkpoints.js';
import { Emitter } from '../../src/protocol/emitter.js';
import { CapturingStream } from '../support/protocol.js';

function setup(weight?: number) {
  const out = new CapturingStream();
  const emitter = new Emitter(out, () => 1_700_000_000_000);
  return { out, emitter, checkpoints: new Checkpoints(emitter, weight) };
}

const bytes = (out: CapturingStream, type: string) => out.lines.filter((line) => line.startsWith(`{"type":"${type}"`)).reduce((sum, line) => sum + line.length + 1, 0);

/** A sync of `partitions` partitions of `records` records each, a state entry per finished partition, a checkpoint offered at each end. */
function sync(partitions: number, records: number) {
  const { out, emitter, checkpoints } = setup();
  const state: Record<string, unknown> = {};
  for (let p = 0; p < partitions; p += 1) {
    for (let r = 0; r < records; r += 1) emitter.record('workflows', { id: `${p}-${r}`, body: 'x'.repeat(200) });
    state[`gh/acme/project-${p}`] = { created_at: '2026-10-31T22:01:12.000Z', walked_at: 1793491200 };
    checkpoints.offer('workflows', () => ({ projects: { ...state } }));
  }
  emitter.state('workflows', { projects: state }); // the final STATE
  return { out, states: out.lines.filter((line) => line.startsWith('{"type":"STATE"')).length };
}

describe('checkpoints', () => {
  it('write nothing while no record came since the last STATE', () => {
    const { out, checkpoints } = setup();
    expect(checkpoints.offer('workflows', () => ({ projects: {} }))).toBe(false);
    expect(out.lines).toEqual([]);
  });

  it('write a state once the records since the last STATE outweigh it, and count afresh after it', () => {
    const { out, emitter, checkpoints } = setup();
    const state = { projects: { 'gh/acme/api': { created_at: '2026-10-31T22:01:12.000Z' } } };
    emitter.record('workflows', { id: 'a' });
    expect(checkpoints.offer('workflows', () => state)).toBe(false); // one small record: less than the state's weight
    while (emitter.recordCharsSince('workflows') < RECORD_CHARS_PER_STATE_CHAR * (JSON.stringify(state).length + 120)) emitter.record('workflows', { id: 'b', body: 'y'.repeat(50) });
    expect(checkpoints.offer('workflows', () => state)).toBe(true);
    expect(emitter.recordCharsSince('workflows')).toBe(0);
    expect(checkpoints.offer('workflows', () => state)).toBe(false);
    expect(out.lines.filter((line) => line.startsWith('{"type":"STATE"'))).toHaveLength(1);
  });

  it('weigh each stream by its own records', () => {
    const { emitter, checkpoints } = setup();
    for (let r = 0; r < 50; r += 1) emitter.record('jobs', { id: r, body: 'z'.repeat(100) });
    expect(checkpoints.offer('workflows', () => ({ projects: {} }))).toBe(false);
    expect(checkpoints.offer('jobs', () => ({ projects: {} }))).toBe(true);
  });

  it('with weight 0, write at every checkpoint that follows records', () => {
    const { emitter, checkpoints } = setup(0);
    emitter.record('workflows', { id: 'a' });
    expect(checkpoints.offer('workflows', () => ({ projects: { big: 'x'.repeat(10_000) } }))).toBe(true);
  });

  it.each([[25], [100], [400]])('keep a sync of %d partitions at most a quarter of its records in STATE, the final one included', (partitions) => {
    const { out } = sync(partitions, 5);
    const states = bytes(out, 'STATE');
    const records = bytes(out, 'RECORD');
    expect(states).toBeLessThanOrEqual(records / RECORD_CHARS_PER_STATE_CHAR + JSON.stringify(out.lines.at(-1)).length);
  });

  it('write fewer checkpoints per partition as the state grows, not one per partition', () => {
    expect(sync(400, 5).states).toBeLessThan(400 / 4);
  });
});
