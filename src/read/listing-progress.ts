/**
 * Pipelines are listed newest first but their children are read concurrently, so they
 * finish in any order. What a checkpoint may claim as done is only the unbroken run of
 * finished pipelines from the top of the list: a pipeline finished out of order is not
 * claimed until every pipeline above it is finished too (after an interruption it is
 * read again, which is safe; skipping an unfinished one would not be).
 *
 * Memory is bounded by the pipelines in progress, not by the length of the listing.
 */
export class ListingProgress {
  private listed = 0;
  /** Entries 0 .. prefix-1 are all finished. */
  private prefix = 0;
  /** Pipeline numbers of listed entries not yet inside the prefix, by index. */
  private readonly open = new Map<number, number | undefined>();
  /** Finished entries below a gap, with the records they settled. */
  private readonly finishedAhead = new Map<number, number>();
  private top: number | undefined;
  private bottom: number | undefined;

  /** Registers the next pipeline of the listing; returns its index. */
  add(number: number | undefined): number {
    const index = this.listed++;
    if (index === 0) this.top = number;
    this.open.set(index, number);
    return index;
  }

  /**
   * Marks a pipeline finished, with the records it emitted that a resumed walk would not
   * read again (its `settled` records). Returns the settled records that just came inside
   * the finished prefix: what a checkpoint taken now would save beyond the last one.
   */
  finish(index: number, settled = 0): number {
    if (index < this.prefix || !this.open.has(index) || this.finishedAhead.has(index)) return 0;
    this.finishedAhead.set(index, settled);
    let claimed = 0;
    for (let weight = this.finishedAhead.get(this.prefix); weight !== undefined; weight = this.finishedAhead.get(this.prefix)) {
      this.finishedAhead.delete(this.prefix);
      claimed += weight;
      const number = this.open.get(this.prefix);
      this.open.delete(this.prefix);
      if (number !== undefined) this.bottom = number;
      this.prefix += 1;
    }
    return claimed;
  }

  /** The number of the first pipeline listed. */
  get topNumber(): number | undefined {
    return this.top;
  }

  /** The number of the last pipeline of the finished prefix (undefined while it is empty). */
  get doneDownTo(): number | undefined {
    return this.prefix > 0 ? this.bottom : undefined;
  }

  /** Pipelines inside the finished prefix. */
  get finished(): number {
    return this.prefix;
  }

  /** Pipelines listed but not yet inside the finished prefix. */
  get pending(): number {
    return this.listed - this.prefix;
  }
}
