/** The default wait between export polls: a timer that a cancel ends at once (virtual time, no real waiting). */
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';

import { sleepUnlessAborted } from '../../src/util/sleep.js';

describe('sleepUnlessAborted', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('waits the whole time when nothing aborts', async () => {
    let done = false;
    const wait = sleepUnlessAborted(10_000, new AbortController().signal).then(() => (done = true));
    await jest.advanceTimersByTimeAsync(9_999);
    expect(done).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    await wait;
    expect(done).toBe(true);
  });

  it('ends as soon as the signal aborts, and leaves no timer behind', async () => {
    const cancel = new AbortController();
    let done = false;
    const wait = sleepUnlessAborted(10_000, cancel.signal).then(() => (done = true));
    await jest.advanceTimersByTimeAsync(1_000);
    expect(done).toBe(false);
    cancel.abort('SIGTERM');
    await wait;
    expect(done).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('does not wait at all on a signal already aborted', async () => {
    const cancel = new AbortController();
    cancel.abort('SIGTERM');
    await sleepUnlessAborted(10_000, cancel.signal);
    expect(jest.getTimerCount()).toBe(0);
  });
});
