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

/** What check says: the scope of the project history, then every project the token can see (the project stream and those under it). */
const scopeLine = (history: string, visible: string) =>
  `Project scope (pipelines, insights_workflows, flaky_tests and the streams under them): ${history}; every project the token can see (project and the streams under it): ${visible}`;

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
    const all = `${world.projects.length} projects in ${world.orgs.length} organizations`;
    expect(await check(config({}))).toEqual({ status: 'SUCCEEDED', message: scopeLine(all, all) });
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
    const all = `${world.projects.length} projects in ${world.orgs.length} organizations, ${perShard[1]!.size} in shard 1 of ${shardCount} (shard_index counts from 0)`;
    expect(status.message).toBe(scopeLine(all, all));
  });

  // The organization streams keyed by project: every project the token can see, whatever project_slugs says.
  const PROJECT_STREAMS = ['project', 'pipeline_definition', 'trigger', 'schedule', 'project_env_vars', 'project_checkout_keys', 'webhooks'] as const;
  const projectStreams = Object.fromEntries(PROJECT_STREAMS.map((name) => [name, 'full_refresh'])) as Record<(typeof PROJECT_STREAMS)[number], 'full_refresh'>;

  it('one slug configured: project and the streams under it cover every project the token can see; the history only the slug', async () => {
    const slug = gh.projects[1]!;
    const run = await runRead({ config: config({ project_slugs: [slug] }), streams: { ...projectStreams, pipelines: 'full_refresh' } });
    expect([run.exitCode, run.errors]).toEqual([0, []]);
    expect((run.records.get('project') ?? []).map((p) => p.slug)).toEqual(world.projectSlugs());
    for (const stream of PROJECT_STREAMS) {
      const truth = world.truth(stream, { startDate: START }) as Array<Record<string, unknown>>;
      expect(truth.length).toBeGreaterThan(0);
      expect({ stream, records: dedupe(stream, run.records.get(stream)) }).toEqual({ stream, records: dedupe(stream, truth) });
    }
    expect(slugsOf(run.records.get('pipelines'), 'project_slug')).toEqual(new Set([slug]));
    expect(run.logs.map((log) => log.message)).toContain(
      `projects the token can see (the project stream and those under it): ${world.projects.length} projects in ${world.orgs.length} organizations (${world.projectSlugs().slice(0, 5).join(', ')}, and ${world.projects.length - 5} more)`,
    );
    expect(await check(config({ project_slugs: [slug] }))).toEqual({
      status: 'SUCCEEDED',
      message: scopeLine('1 project in 1 organization', `${world.projects.length} projects in ${world.orgs.length} organizations`),
    });
  });

  it('one slug configured, 3 shards: the project streams are disjoint and together hold every project; the history is read by the slug\'s shard', async () => {
    const slug = gh.projects[1]!;
    const runs: RunResult[] = [];
    for (let shardIndex = 0; shardIndex < 3; shardIndex++) {
      runs.push(await runRead({ config: config({ project_slugs: [slug], shard_count: 3, shard_index: shardIndex }), streams: { ...projectStreams, pipelines: 'full_refresh' } }));
    }
    for (const run of runs) expect([run.exitCode, run.errors]).toEqual([0, []]);
    const perShard = runs.map((run) => (run.records.get('project') ?? []).map((p) => String(p.slug)));
    perShard.forEach((slugs, index) => expect(slugs.every((s) => shardOf(s, 3) === index)).toBe(true));
    expect(perShard.every((slugs) => slugs.length > 0)).toBe(true);
    const union = perShard.flat();
    expect(union.sort()).toEqual(world.projectSlugs().sort()); // each once
    for (const stream of PROJECT_STREAMS) {
      const all = runs.flatMap((run) => run.records.get(stream) ?? []);
      expect({ stream, records: dedupe(stream, all), count: all.length }).toEqual({
        stream,
        records: dedupe(stream, world.truth(stream, { startDate: START }) as Array<Record<string, unknown>>),
        count: world.truth(stream, { startDate: START }).length,
      });
    }
    expect(runs.map((run) => slugsOf(run.records.get('pipelines'), 'project_slug').size)).toEqual([0, 1, 2].map((index) => (shardOf(slug, 3) === index ? 1 : 0)));
  });

  it('a configured project whose organization is not in /me/collaborations still gets its project record (read by slug)', async () => {
    const outside = createWorld({ preset: 'tiny', seed: 31, projectsPerOrg: 2 });
    const left = outside.orgs[1]!;
    outside.leaveOrganization(left.id);
    const server = await startFakeCircleCi({ world: outside });
    try {
      const configured = [left.projects[0]!.slug, outside.orgs[0]!.projects[0]!.slug];
      const cfg = fakeConfig(outside, server.url, { start_date: START, project_slugs: configured });
      const run = await runRead({ config: cfg, streams: { ...projectStreams, pipelines: 'full_refresh', collaborations: 'full_refresh', context: 'full_refresh' } });
      expect([run.exitCode, run.errors]).toEqual([0, []]);
      expect((run.records.get('collaborations') ?? []).map((o) => o.id)).not.toContain(left.id);
      const projects = (run.records.get('project') ?? []).map((p) => String(p.slug));
      expect(projects).toContain(configured[0]);
      expect(projects).not.toContain(left.projects[1]!.slug); // not configured, and its organization is not the user's
      const scope = { projectSlugs: configured, startDate: START };
      for (const stream of [...PROJECT_STREAMS, 'pipelines', 'collaborations', 'context'] as const) {
        const truth = outside.truth(stream, scope) as Array<Record<string, unknown>>;
        expect({ stream, records: dedupe(stream, run.records.get(stream)) }).toEqual({ stream, records: dedupe(stream, truth) });
      }
      expect(projects).toHaveLength(outside.memberOrgs.flatMap((o) => o.projects).length + 1);
    } finally {
      await server.close();
    }
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
