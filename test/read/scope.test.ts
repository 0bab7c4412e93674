/**
 * The project scope (src/scope) against the fake's organizations: globs and excludes,
 * every project when project_slugs is empty, a project that joins between two syncs,
 * and shards that split the projects without overlap or gap.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { Emitter } from '../../src/protocol/emitter.js';
import { dispatch } from '../../src/commands/dispatch.js';
import { shardOf } from '../../src/scope/shard.js';
import { createWorld, startFakeCircleCi, type RunningFake, type World } from '../../tools/fake-circleci/index.js';
import { dedupe, fakeConfig, LineSink, runRead, writeJson, type RunResult } from '../support/connector.js';
import { assertProtocolLines } from '../support/protocol.js';

const START = '2026-08-01T00:00:00Z';

function stateOf(run: RunResult, stream: string): Record<string, any> {
  return run.finalState.find((s) => s.stream.stream_descriptor.name === stream)!.stream.stream_state;
}

async function check(config: Record<string, unknown>): Promise<{ status: string; message?: string }> {
  const sink = new LineSink();
  await dispatch({ name: 'check', config: writeJson(config) }, new Emitter(sink));
  const messages = assertProtocolLines(sink.text);
  expect(messages.map((m) => m.type)).toEqual(['CONNECTION_STATUS']);
  return messages[0]!.connectionStatus;
}

const slugsOf = (records: Array<Record<string, unknown>> | undefined, field: string) => new Set((records ?? []).map((r) => String(r[field])));

describe('project scope', () => {
  let world: World;
  let fake: RunningFake;
  let gh: { slug: string; name: string; projects: string[] };

  beforeAll(async () => {
    // 3 organizations (gh, bb, circleci) of 5 projects each.
    world = createWorld({ preset: 'tiny', seed: 23, projectsPerOrg: 5 });
    fake = await startFakeCircleCi({ world });
    const org = world.orgs.find((o) => o.slug.startsWith('gh/'))!;
    gh = { slug: org.slug, name: org.name, projects: org.projects.map((p) => p.slug) };
  });
  afterAll(() => fake.close());

  const config = (fields: Record<string, unknown>) => fakeConfig(world, fake.url, { start_date: START, ...fields });

  it('globs and excludes resolve against the organizations the token sees; per-project streams cover exactly those', async () => {
    const [kept, excluded] = [gh.projects.slice(0, 3), gh.projects[3]!];
    // A glob per kept name's first letters, plus one organization glob less one project.
    const bb = world.orgs.find((o) => o.slug.startsWith('bb/'))!;
    const bbFirst = bb.projects[0]!;
    const prefix = bbFirst.name.slice(0, 3);
    const expected = [
      ...gh.projects.filter((slug) => slug !== excluded),
      ...bb.projects.filter((p) => p.name.startsWith(prefix)).map((p) => p.slug),
    ];
    expect(kept.every((slug) => expected.includes(slug))).toBe(true);
    const run = await runRead({
      config: config({ project_slugs: [`${gh.slug}/*`, `bb/${bb.name}/${prefix}*`], exclude_project_slugs: [excluded] }),
      streams: { pipelines: 'full_refresh', project: 'full_refresh', schedule: 'full_refresh' },
    });
    expect(run.errors).toEqual([]);
    expect([...slugsOf(run.records.get('pipelines'), 'project_slug')].sort()).toEqual(
      [...new Set(world.truth('pipelines', { projectSlugs: expected }).map((p) => String(p.project_slug)))].sort(),
    );
    for (const stream of ['pipelines', 'project', 'schedule'] as const) {
      const truth = world.truth(stream, { projectSlugs: expected, startDate: START }) as Array<Record<string, unknown>>;
      expect({ stream, records: dedupe(stream, run.records.get(stream)) }).toEqual({ stream, records: dedupe(stream, truth) });
    }
    const line = run.logs.find((log) => log.message.startsWith('project scope:'))!;
    expect(line.message).toContain(`${expected.length} projects in 2 organizations`);
  });

  it('no project_slugs: every project of every organization; check says how many', async () => {
    const run = await runRead({ config: config({}), streams: { pipelines: 'full_refresh' } });
    expect(run.errors).toEqual([]);
    expect(slugsOf(run.records.get('pipelines'), 'project_slug')).toEqual(new Set(world.truth('pipelines').map((p) => String(p.project_slug))));
    expect(await check(config({}))).toEqual({ status: 'SUCCEEDED', message: `Project scope: ${world.projects.length} projects in ${world.orgs.length} organizations` });
  });

  it('a glob that matches nothing is said; a scope that holds nothing fails check', async () => {
    const nothing = `${gh.slug}/no-such-repo-*`;
    const run = await runRead({ config: config({ project_slugs: [nothing, gh.projects[0]!] }), streams: { pipelines: 'full_refresh' } });
    expect(run.logs.filter((log) => log.level === 'WARN').map((log) => log.message)).toContain(
      `project_slugs: ${nothing} matched no project the token can see; nothing is read for it`,
    );
    expect(slugsOf(run.records.get('pipelines'), 'project_slug')).toEqual(new Set([gh.projects[0]]));
    const status = await check(config({ project_slugs: [nothing] }));
    expect(status.status).toBe('FAILED');
    expect(status.message).toContain('The project scope resolves to no project');
    expect(status.message).toContain(nothing);
    const allExcluded = await check(config({ project_slugs: [`${gh.slug}/*`], exclude_project_slugs: [`${gh.slug}/*`] }));
    expect(allExcluded.status).toBe('FAILED');
  });

  it.each([2, 3, 5])('shard_count %i: the shards are disjoint and together hold every project; organization streams come from shard 0', async (shardCount) => {
    const runs: RunResult[] = [];
    for (let shardIndex = 0; shardIndex < shardCount; shardIndex++) {
      runs.push(await runRead({ config: config({ shard_count: shardCount, shard_index: shardIndex }), streams: { pipelines: 'full_refresh', project: 'full_refresh', context: 'full_refresh' } }));
    }
    const perShard = runs.map((run) => slugsOf(run.records.get('pipelines'), 'project_slug'));
    const union = perShard.flatMap((set) => [...set]);
    expect(new Set(union).size).toBe(union.length); // no project in two shards
    expect(new Set(union)).toEqual(new Set(world.projectSlugs()));
    perShard.forEach((slugs, index) => expect([...slugs].every((slug) => shardOf(slug, shardCount) === index)).toBe(true));
    // The project stream splits the same way; the organization streams are read once.
    const projects = runs.flatMap((run) => (run.records.get('project') ?? []).map((p) => String(p.slug)));
    expect(projects.sort()).toEqual(world.projectSlugs().sort());
    expect(runs.map((run) => run.records.get('context')?.length ?? 0)).toEqual([world.truth('context').length, ...Array<number>(shardCount - 1).fill(0)]);
    for (const run of runs) expect([run.exitCode, run.errors]).toEqual([0, []]);
    const status = await check(config({ shard_count: shardCount, shard_index: 1 }));
    expect(status.message).toBe(
      `Project scope: ${world.projects.length} projects in ${world.orgs.length} organizations; shard 1 of ${shardCount} (shard_index counts from 0): ${perShard[1]!.size}`,
    );
  });

  it('a project that joins between two syncs is read from start_date with its own bookmark; the others continue from theirs', async () => {
    const joined = createWorld({ preset: 'tiny', seed: 29, projectsPerOrg: 2 });
    const server = await startFakeCircleCi({ world: joined });
    try {
      const org = joined.orgs[0]!;
      const cfg = fakeConfig(joined, server.url, { start_date: START, project_slugs: [`${org.slug}/*`] });
      const first = await runRead({ config: cfg, streams: { pipelines: 'incremental', workflows: 'incremental' } });
      const before = stateOf(first, 'pipelines').projects as Record<string, unknown>;
      const added = joined.addProject(org.id);
      expect(Object.keys(before)).not.toContain(added);
      const second = await runRead({ config: cfg, streams: { pipelines: 'incremental', workflows: 'incremental' }, state: first.finalState });
      expect([first.errors, second.errors]).toEqual([[], []]);
      const fromNew = (second.records.get('pipelines') ?? []).filter((p) => p.project_slug === added);
      expect(dedupe('pipelines', fromNew)).toEqual(dedupe('pipelines', joined.truth('pipelines', { projectSlugs: [added], startDate: START }) as Array<Record<string, unknown>>));
      expect(fromNew.length).toBeGreaterThan(0);
      const after = stateOf(second, 'pipelines').projects as Record<string, unknown>;
      expect(Object.keys(after).sort()).toEqual([...Object.keys(before), added].sort());
      // Their bookmarks stay; walked_at moves where a project is walked again (its unfinished workflows are followed).
      const bookmarks = (entry: unknown) => ({ ...(entry as Record<string, unknown>), walked_at: undefined });
      for (const slug of Object.keys(before)) expect(bookmarks(after[slug])).toEqual(bookmarks(before[slug]));
      // The old projects had nothing new: nothing of them was emitted again.
      expect((second.records.get('pipelines') ?? []).filter((p) => p.project_slug !== added)).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('a project that leaves the scope keeps its state', async () => {
    const cfg = config({ project_slugs: gh.projects.slice(0, 2) });
    const first = await runRead({ config: cfg, streams: { pipelines: 'incremental' } });
    const second = await runRead({ config: config({ project_slugs: gh.projects.slice(0, 1) }), streams: { pipelines: 'incremental' }, state: first.finalState });
    expect(stateOf(second, 'pipelines').projects[gh.projects[1]!]).toEqual(stateOf(first, 'pipelines').projects[gh.projects[1]!]);
  });
});
