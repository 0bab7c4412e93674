/**
 * The inventory streams beyond what test/read/full-refresh.test.ts compares with the
 * truth: no secret the fake serves reaches any output line, records validate against
 * their schemas, and a project whose env vars, checkout keys and webhooks answer 403 fails
 * those parts (INCOMPLETE, with a warning saying what access is needed) while the rest syncs.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { streamSchemas, type StreamName } from '../../src/streams/schemas/index.js';
import { INVENTORY_STREAMS } from '../../src/streams/inventory.js';
import { createWorld, secretValues, startFakeCircleCi, usageUrlSecrets, type RunningFake, type World } from '../../tools/fake-circleci/index.js';
import { recordValidators } from '../acceptance/support/cat.js';
import { allStreams, dedupe, fakeConfig, runRead, type RunResult } from '../support/connector.js';
import { expectRefusedParts } from '../support/refused.js';

const START = '2026-08-01T00:00:00Z';
const INVENTORY = Object.keys(INVENTORY_STREAMS) as StreamName[];

/** The body of one GET to the fake, as text. */
async function served(fake: RunningFake, world: World, path: string): Promise<string> {
  const response = await fetch(`${fake.url}${path}`, { headers: { 'Circle-Token': world.token } });
  expect(response.status).toBe(200);
  return response.text();
}

describe('inventory streams: no secret value in any output', () => {
  let world: World;
  let fake: RunningFake;
  const runs: RunResult[] = [];

  beforeAll(async () => {
    world = createWorld({ preset: 'tiny', seed: 5 });
    fake = await startFakeCircleCi({ world });
    const config = fakeConfig(world, fake.url, { project_slugs: world.projects.map((p) => p.slug), start_date: START });
    // Every stream, once in full refresh and once incremental (then from its own state),
    // and once with a project whose inventory answers 403 (the warnings name it).
    const full = await runRead({ config, streams: allStreams('full_refresh') });
    const incremental = await runRead({ config, streams: allStreams() });
    const again = await runRead({ config, streams: allStreams(), state: incremental.finalState });
    await fake.close();
    fake = await startFakeCircleCi({ world, faults: { forbiddenProjects: [world.projects[0]!.slug] } });
    const forbidden = await runRead({ config: { ...config, api_url: fake.url }, streams: allStreams('full_refresh') });
    runs.push(full, incremental, again, forbidden);
  });
  afterAll(() => fake.close());

  it('the fake does serve secrets on these routes (so their absence below means something)', async () => {
    const secrets = secretValues(world);
    // The fake now running answers 403 for the first project.
    const readable = world.projects.slice(1);
    const bodies = [await served(fake, world, `/api/v2/project/${readable[0]!.slug}/envvar`)];
    for (const project of readable) bodies.push(await served(fake, world, `/api/v2/webhook?scope-id=${project.id}&scope-type=project`));
    const all = bodies.join('\n');
    expect(all).toContain('"value":"xxxx');
    expect(all).toContain('"signing-secret":"FAKE-SIGNING-SECRET-');
    expect(all).toMatch(/[?&]token=FAKE-URL-TOKEN-/);
    expect(secrets.filter((secret) => all.includes(secret)).length).toBeGreaterThan(2);
  });

  it('every read without a refusal succeeded, and every read read every inventory stream', () => {
    for (const run of runs) {
      if (run !== runs[3]) {
        expect(run.errors).toEqual([]);
        expect(run.exitCode).toBe(0);
      }
      for (const stream of INVENTORY) expect((run.records.get(stream) ?? []).length).toBeGreaterThan(0);
    }
  });

  it('no line of any read (records, logs, states, traces) holds a secret value the fake knows of', () => {
    const secrets = [...secretValues(world), ...usageUrlSecrets(world)];
    expect(secrets.length).toBeGreaterThan(2);
    for (const run of runs) {
      const text = run.lines.join('\n');
      expect(secrets.filter((secret) => text.includes(secret))).toEqual([]);
    }
  });

  it('records carry no masked value or signing secret, and webhook URLs keep everything but their credential', () => {
    const [full] = runs;
    for (const record of full!.records.get('project_env_vars') ?? []) expect(Object.keys(record)).not.toContain('value');
    const hooks = full!.records.get('webhooks') ?? [];
    for (const record of hooks) expect(Object.keys(record)).not.toContain('signing-secret');
    const withQuery = hooks.filter((hook) => String(hook.url).includes('?'));
    expect(withQuery.length).toBeGreaterThan(0);
    for (const hook of withQuery) expect(new URL(String(hook.url)).searchParams.get('source')).toBe('circleci');
  });

  it('every inventory record validates against its stream schema', () => {
    const validators = recordValidators(INVENTORY.map((name) => ({ name, json_schema: streamSchemas[name] })));
    const problems: string[] = [];
    for (const stream of INVENTORY) {
      for (const record of runs[0]!.records.get(stream) ?? []) {
        const validate = validators.get(stream)!;
        if (!validate(record)) problems.push(`${stream}: ${JSON.stringify(validate.errors?.slice(0, 2))}`);
      }
    }
    expect(problems.slice(0, 5)).toEqual([]);
  });

  describe('a project whose inventory answers 403', () => {
    const PROJECT_LEVEL: StreamName[] = ['project_env_vars', 'project_checkout_keys', 'webhooks'];

    it('those three parts fail (INCOMPLETE, a WARN and the TRACE ERROR say what access they need), every other stream completes', () => {
      const slug = world.projects[0]!.slug;
      expectRefusedParts(runs[3]!, PROJECT_LEVEL.map((stream) => ({ stream, parent: `project ${slug}` })));
    });

    it.each(PROJECT_LEVEL.map((name) => [name]))('%s: the other projects sync in full', (name) => {
      const stream = name as StreamName;
      const forbidden = runs[3]!;
      const slug = world.projects[0]!.slug;
      const truth = world.truth(stream).filter((record) => record.project_slug !== slug) as Array<Record<string, unknown>>;
      expect(truth.length).toBeGreaterThan(0);
      expect(dedupe(stream, forbidden.records.get(stream))).toEqual(dedupe(stream, truth));
    });

    it('the streams that need no admin rights still read that project', () => {
      const forbidden = runs[3]!;
      const id = world.projects[0]!.id;
      const definitions = world.truth('pipeline_definition').filter((d) => d.project_id === id);
      expect(definitions.length).toBeGreaterThan(0);
      expect((forbidden.records.get('pipeline_definition') ?? []).filter((d) => d.project_id === id)).toHaveLength(definitions.length);
      // The only refusals are the inventory's (Insights may also warn, of its 90 days, for this start date).
      expect(forbidden.logs.filter((log) => log.level === 'WARN' && log.message.includes('403'))).toHaveLength(PROJECT_LEVEL.length);
    });
  });
});
