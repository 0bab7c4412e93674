/**
 * The saved state of a history's streams round-trips with and without the newest root
 * position (`newest_number`): states saved before it was kept still read, unchanged.
 */
import { describe, expect, it } from '@jest/globals';

import { parseState, serialiseState } from '../../src/read/state-input.js';
import type { Selection } from '../../src/read/selection.js';

const selection: Selection = new Map([
  ['pipelines', 'incremental'],
  ['workflows', 'incremental'],
  ['deploy', 'incremental'],
]);

function message(name: string, stream_state: unknown): unknown {
  return { type: 'STREAM', stream: { stream_descriptor: { name }, stream_state } };
}

describe('state with and without newest_number', () => {
  const withNumber = {
    projects: {
      'gh/acme/api': { updated_at: '2026-10-31T22:01:12.000Z', newest_number: 981 },
      'gh/acme/web': { updated_at: '2026-10-30T10:00:00.000Z', resume: { newest_number: 40, done_down_to: 31 }, newest_number: 12 },
    },
    currently_syncing: null,
  };
  const without = { projects: { 'gh/acme/api': { updated_at: '2026-10-31T22:01:12.000Z' } }, currently_syncing: null };

  it('a state with the number reads it and writes it back unchanged', () => {
    const state = parseState([message('pipelines', withNumber)], selection).get('pipelines')!;
    expect(state.partitions.get('gh/acme/api')).toEqual({ cursor: '2026-10-31T22:01:12.000Z', newestNumber: 981 });
    expect(serialiseState('pipelines', state)).toEqual(withNumber);
  });

  it('a state saved before the number was kept reads as before, and writes no number', () => {
    const state = parseState([message('pipelines', without)], selection).get('pipelines')!;
    expect(state.partitions.get('gh/acme/api')).toEqual({ cursor: '2026-10-31T22:01:12.000Z' });
    expect(serialiseState('pipelines', state)).toEqual(without);
  });

  it('streams below the root read it too, with their followed lists in the project entry', () => {
    const workflows = {
      projects: { 'gh/acme/api': { created_at: '2026-10-31T22:01:12.000Z', newest_number: 981, walked_at: 1793491200, unfinished: ['w-1'], recent: ['AhjN1PyLM0U'] } },
      currently_syncing: 'gh/acme/api',
    };
    const state = parseState([message('workflows', workflows)], selection).get('workflows')!;
    expect(serialiseState('workflows', state)).toEqual(workflows);
  });

  it('outside a history it is not this connector\'s state, and a number must be an integer', () => {
    expect(() => parseState([message('deploy', { organizations: { o: { updated_at: '2026-10-31T00:00:00Z', newest_number: 3 } } })], selection)).toThrow(
      /saved state of stream deploy is not this connector's at organizations\.o/,
    );
    const fractional = { projects: { 'gh/acme/api': { updated_at: '2026-10-31T22:01:12.000Z', newest_number: 9.5 } } };
    expect(() => parseState([message('pipelines', fractional)], selection)).toThrow(/stream pipelines .* at projects\.gh\/acme\/api\.newest_number/);
  });
});
