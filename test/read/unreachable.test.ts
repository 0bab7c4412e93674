/**
 * A read whose API cannot be reached at all stops once, with one message saying to check
 * api_url and the network (as a refused token stops it after /me), instead of failing
 * every part with the same cause. The end of a failed read points to the WARN lines only
 * when there are some.
 */

import { describe, expect, it } from '@jest/globals';

import { createWorld, startFakeCircleCi } from '../../tools/fake-circleci/index.js';
import { allStreams, fakeConfig, runRead, type RunResult } from '../support/connector.js';
import { closedPort } from '../support/closed-port.js';

const START = '2026-08-01T00:00:00Z';


/**
 * Runs `work` with the client's backoff sleeps (0.5–30 s) shortened to 1 ms, so five
 * attempts per request take no time; shorter timers are left alone.
 */
async function withShortBackoff<T>(work: () => Promise<T>): Promise<T> {
  const realSetTimeout = globalThis.setTimeout;
  globalThis.setTimeout = ((handler: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) =>
    realSetTimeout(handler, ms !== undefined && ms >= 500 && ms <= 30_000 ? 1 : ms, ...args)) as typeof setTimeout;
  try {
    return await work();
  } finally {
    globalThis.setTimeout = realSetTimeout;
  }
}

const statuses = (run: RunResult) =>
  new Set(run.messages.filter((m) => m.type === 'TRACE' && m.trace.type === 'STREAM_STATUS' && m.trace.stream_status.status !== 'STARTED' && m.trace.stream_status.status !== 'RUNNING').map((m) => m.trace.stream_status.status));

describe('a host that cannot be reached', () => {
  const world = createWorld({ preset: 'tiny', seed: 3 });

  it('stops the read once: one TRACE ERROR saying to check api_url and the network, every stream INCOMPLETE, exit 1', async () => {
    const port = await closedPort();
    const run = await withShortBackoff(() => runRead({ config: fakeConfig(world, `http://127.0.0.1:${port}`, { start_date: START }), streams: allStreams('incremental', { exports: true }) }));
    expect(run.exitCode).toBe(1);
    expect(run.errors).toHaveLength(1);
    const error = run.errors[0]!;
    expect(error.failure_type).toBe('transient_error');
    expect(error.message).toBe(
      `Could not reach 127.0.0.1:${port} (ECONNREFUSED): nothing more could be read, so the read stopped. Check api_url and the network between this machine and CircleCI.`,
    );
    // The cause is said once, not per part.
    expect(run.logs.filter((log) => log.level === 'WARN' && / incomplete: /.test(log.message))).toEqual([]);
    expect(statuses(run)).toEqual(new Set(['INCOMPLETE']));
    expect(run.records.size).toBe(0);
    // The retries were WARN lines, so the end points to them.
    expect(run.logs.some((log) => log.message.startsWith('read ended:') && log.message.endsWith('1 part failed (see the WARN lines)'))).toBe(true);
  });

  it('a token refused at once: the end of the read does not point to WARN lines that are not there', async () => {
    const fake = await startFakeCircleCi({ world, faults: { revokeTokenAfter: 0 } });
    try {
      const run = await runRead({ config: fakeConfig(world, fake.url, { start_date: START }), streams: { collaborations: 'full_refresh' } });
      expect(run.exitCode).toBe(1);
      expect(run.errors.map((e) => e.failure_type)).toEqual(['config_error']);
      expect(run.logs.filter((log) => log.level === 'WARN')).toEqual([]);
      const end = run.logs.find((log) => log.message.startsWith('read ended:'))!;
      expect(end.message).toMatch(/; 1 part failed$/);
    } finally {
      await fake.close();
    }
  });
});
