/**
 * A state written by release 0.1.0, before the compact shape (test/fixtures/state-0.1.0.json:
 * real STATE messages of a read of the fake world it names), still reads: converted on read
 * with nothing of its meaning lost, and a sync from it does exactly what a sync from the
 * same state in the compact shape does.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { fingerprint } from '../../src/read/followed.js';
import { parseState, serialiseState } from '../../src/read/state-input.js';
import type { Selection } from '../../src/read/selection.js';
import type { StreamName } from '../../src/streams/schemas/index.js';
import { STREAM_GRAPH, STREAMS } from '../../src/streams/streams.js';
import { createWorld, startFakeCircleCi, type RunningFake, type World } from '../../tools/fake-circleci/index.js';
import { fakeConfig, primaryKeyOf, runRead, type RunResult } from '../support/connector.js';
import { REPO_ROOT } from '../support/protocol.js';

interface LegacyStream {
  type: 'STREAM';
  stream: { stream_descriptor: { name: StreamName }; stream_state: Record<string, any> };
}
const FIXTURE = JSON.parse(readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'state-0.1.0.json'), 'utf8')) as {
  world: { preset: 'small'; seed: number; pageSize: number };
  start_date: string;
  mid_walk: LegacyStream[];
  final: LegacyStream[];
};
const HISTORY = Object.fromEntries(FIXTURE.final.map((s) => [s.stream.stream_descriptor.name, 'incremental' as const])) as Partial<Record<StreamName, 'incremental'>>;
const SELECTION: Selection = new Map(Object.entries(HISTORY) as Array<[StreamName, 'incremental']>);

/** The same states in the compact shape: read, then written as the connector writes them. */
function compact(states: LegacyStream[]): unknown[] {
  const parsed = parseState(states, SELECTION);
  return [...parsed].map(([name, state]) => ({ type: 'STREAM', stream: { stream_descriptor: { name }, stream_state: serialiseState(name, state) } }));
}

describe('a state saved by release 0.1.0', () => {
  it.each([['mid_walk'], ['final']] as const)('%s: every stream converts with its bookmarks, markers and followed records', (which) => {
    const legacy = FIXTURE[which];
    const parsed = parseState(legacy, SELECTION);
    expect([...parsed.keys()].sort()).toEqual(legacy.map((s) => s.stream.stream_descriptor.name).sort());
    let followed = 0;
    for (const { stream } of legacy) {
      const name = stream.stream_descriptor.name;
      const old = stream.stream_state;
      const state = parsed.get(name)!;
      const cursor = STREAMS[name].cursor!;
      expect(state.currentlySyncing).toBe(old.currently_syncing ?? undefined);
      for (const [slug, entry] of Object.entries(old.projects as Record<string, Record<string, any>>)) {
        const now = state.partitions.get(slug)!;
        expect(now.cursor).toBe(entry[cursor]);
        expect(now.resume).toEqual(entry.resume);
        expect(now.newestNumber).toBe(entry.newest_number);
        expect(now.walkedAt).toBe(entry.walked_at === undefined ? undefined : Math.floor(Date.parse(entry.walked_at) / 1000));
      }
      if (!STREAM_GRAPH.follows(name)) continue;
      for (const record of old.unfinished as Array<{ id: string; project_slug: string }>) {
        expect(state.partitions.get(record.project_slug)!.unfinished).toContain(record.id);
        followed += 1;
      }
      for (const record of old.recent as Array<{ id: string; project_slug: string; name: string }>) {
        const entry = state.partitions.get(record.project_slug)!;
        expect(entry.recent).toContain(fingerprint(record.id));
        expect(Object.keys(entry.names ?? {})).toContain(record.name);
        followed += 1;
      }
    }
    expect(followed).toBeGreaterThan(0); // the fixture has followed records to convert
  });

  it('is much larger than the same state in the compact shape', () => {
    const before = JSON.stringify(FIXTURE.final).length;
    const after = JSON.stringify(compact(FIXTURE.final)).length;
    expect(after).toBeLessThan(before / 2);
  });
});

describe('a sync from a state of release 0.1.0', () => {
  let world: World;
  let fake: RunningFake;
  let config: Record<string, unknown>;

  beforeAll(async () => {
    world = createWorld(FIXTURE.world);
    fake = await startFakeCircleCi({ world });
    config = fakeConfig(world, fake.url, { start_date: FIXTURE.start_date });
  });
  afterAll(() => fake.close());

  const keys = (run: RunResult) =>
    Object.fromEntries(Object.keys(HISTORY).map((name) => [name, (run.records.get(name) ?? []).map((record) => primaryKeyOf(name as StreamName, record)).sort()]));

  it.each([['mid_walk'], ['final']] as const)('%s: reads what a sync from the compact shape reads, request for request', async (which) => {
    fake.stats.reset();
    const fromLegacy = await runRead({ config, streams: HISTORY, state: FIXTURE[which] });
    const legacyRequests = { ...fake.stats.byRoute };
    fake.stats.reset();
    const fromCompact = await runRead({ config, streams: HISTORY, state: compact(FIXTURE[which]) });
    expect(fromLegacy.exitCode).toBe(0);
    expect(fromCompact.exitCode).toBe(0);
    expect(keys(fromLegacy)).toEqual(keys(fromCompact));
    expect(legacyRequests).toEqual({ ...fake.stats.byRoute });
    // What the walk had finished before the state was saved is not read again.
    if (which === 'mid_walk') expect((fromLegacy.records.get('pipelines') ?? []).length).toBeLessThan(world.truth('pipelines', { startDate: FIXTURE.start_date }).length);
    else expect(fromLegacy.records.get('pipelines') ?? []).toEqual([]);
  });
});
