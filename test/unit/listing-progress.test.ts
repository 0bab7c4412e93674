import { describe, expect, it } from '@jest/globals';

import { ListingProgress } from '../../src/read/listing-progress.js';

/** Pipelines 10, 9, 8, 7 listed newest first. */
function listed(): { progress: ListingProgress; index: number[] } {
  const progress = new ListingProgress();
  return { progress, index: [10, 9, 8, 7].map((n) => progress.add(n)) };
}

describe('ListingProgress', () => {
  it('claims nothing while the newest pipeline is unfinished, then the whole run below it at once', () => {
    const { progress, index } = listed();
    expect(progress.finish(index[1]!, 3)).toBe(0);
    expect(progress.finish(index[2]!, 4)).toBe(0);
    expect(progress.doneDownTo).toBeUndefined();
    expect(progress.finish(index[0]!, 2)).toBe(9);
    expect(progress.doneDownTo).toBe(8);
    expect(progress.pending).toBe(1);
  });

  it('a finished pipeline with no settled records grows the prefix but claims no record', () => {
    const { progress, index } = listed();
    expect(progress.finish(index[0]!, 0)).toBe(0);
    expect(progress.doneDownTo).toBe(10);
    expect(progress.finish(index[1]!, 5)).toBe(5);
    expect(progress.doneDownTo).toBe(9);
  });

  it('a pipeline finished twice, or never listed, claims nothing', () => {
    const { progress, index } = listed();
    expect(progress.finish(index[1]!, 3)).toBe(0);
    expect(progress.finish(index[1]!, 3)).toBe(0);
    expect(progress.finish(index[0]!, 1)).toBe(4);
    expect(progress.finish(index[0]!, 1)).toBe(0);
    expect(progress.finish(99, 1)).toBe(0);
    expect(progress.topNumber).toBe(10);
  });
});
