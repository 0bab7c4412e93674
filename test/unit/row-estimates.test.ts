/** Row estimates: said once per stream, when every partition has counted; none when one cannot. */
import { describe, expect, it } from '@jest/globals';

import { walkShare } from '../../src/read/progress-lines.js';
import { RowEstimates, rowsAbove } from '../../src/read/row-estimates.js';
import type { StreamName } from '../../src/streams/schemas/index.js';

function collector(): { said: Array<[StreamName, number]>; estimates: RowEstimates } {
  const said: Array<[StreamName, number]> = [];
  return { said, estimates: new RowEstimates((stream, rows) => said.push([stream, rows])) };
}

describe('RowEstimates', () => {
  it('says the sum once the last partition has counted, and only then', () => {
    const { said, estimates } = collector();
    estimates.expect('pipelines', ['a', 'b', 'c']);
    estimates.report('pipelines', 'b', 5);
    estimates.report('pipelines', 'a', 3);
    expect(said).toEqual([]);
    estimates.report('pipelines', 'c', 0);
    expect(said).toEqual([['pipelines', 8]]);
  });

  it('one partition that cannot count leaves the stream without an estimate', () => {
    const { said, estimates } = collector();
    estimates.expect('pipelines', ['a', 'b']);
    estimates.report('pipelines', 'a', undefined);
    estimates.report('pipelines', 'b', 4);
    expect(said).toEqual([]);
  });

  it('ignores a partition it was not told of, a second report, and streams not expected', () => {
    const { said, estimates } = collector();
    estimates.expect('pipelines', ['a']);
    estimates.report('pipelines', 'z', 100);
    estimates.report('workflows', 'a', 7);
    estimates.report('pipelines', 'a', 2);
    estimates.report('pipelines', 'a', 9);
    expect(said).toEqual([['pipelines', 2]]);
  });
});

describe('walkShare', () => {
  it('gives the share where the extent is known, capped at 100%, and the count alone where not', () => {
    expect(walkShare(120, 500, 'pipelines')).toBe('120 of ~500 pipelines (24%)');
    expect(walkShare(1_200, 1_000, 'pipelines')).toBe('1,200 of ~1,000 pipelines (100%)');
    expect(walkShare(0, 0, 'pipelines')).toBe('0 of ~0 pipelines (100%)');
    expect(walkShare(7, undefined, 'pipelines')).toBe('7 pipelines finished');
  });
});

describe('rowsAbove', () => {
  it('counts the positions above the last sync\'s newest, up to the newest listed', () => {
    expect(rowsAbove(120, 100)).toBe(20);
    expect(rowsAbove(100, 100)).toBe(0);
    expect(rowsAbove(90, 100)).toBe(0); // never negative
  });

  it('less the range an interrupted sync finished, where it overlaps', () => {
    expect(rowsAbove(120, 100, { newest_number: 115, done_down_to: 111 })).toBe(15); // 111..115 done
    expect(rowsAbove(120, 100, { newest_number: 125, done_down_to: 118 })).toBe(17); // 118..120 of them listed now
    expect(rowsAbove(120, 100, { newest_number: 105, done_down_to: 90 })).toBe(15); // 101..105 above the saved newest
    expect(rowsAbove(120, 100, { newest_number: 99, done_down_to: 90 })).toBe(20); // all below: nothing to take off
  });
});
