/**
 * Triggers through a whole read over the fake (msw): webhook secrets are not replicated,
 * and triggers are listed only for pipeline definitions whose provider supports them.
 */
import { describe, expect, it } from '@jest/globals';

import { createWorld } from '../../tools/fake-circleci/index.js';
import { fakeConfig, runRead } from '../support/connector.js';
import { TEST_API, useMockApi } from '../support/http.js';
import { serveFake } from '../reliability/harness.js';

const START = '2026-08-01T00:00:00Z';

describe('trigger stream', () => {
  const api = useMockApi();
  const world = createWorld({ preset: 'tiny', seed: 7 });
  const slugs = world.projectSlugs(); // triggers exist in the circleci organization's project only
  const config = fakeConfig(world, TEST_API, { project_slugs: slugs, start_date: START });

  it('replicates webhook URLs without their secret, and nothing else of them changes', async () => {
    const served = world.projects.flatMap((p) => p.definitions.flatMap((d) => world.triggers(d)));
    const secrets = served
      .map((t) => (t.event_source as { webhook?: { url?: string } }).webhook?.url)
      .filter((url): url is string => url !== undefined)
      .map((url) => new URL(url).searchParams.get('secret'))
      .filter((secret): secret is string => secret !== null && secret.length > 0);
    expect(secrets.length).toBeGreaterThan(0); // the fake serves the spec's `?secret=` URLs

    serveFake(api, world);
    const run = await runRead({ config, streams: { trigger: 'full_refresh' } });
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    const records = run.records.get('trigger') ?? [];
    expect(records).toHaveLength(served.length);
    const output = run.lines.join('\n');
    for (const secret of secrets) expect(output).not.toContain(secret);
    const urls = records.map((r) => (r.event_source as { webhook?: { url?: string } }).webhook?.url).filter((url) => url !== undefined);
    expect(urls).toHaveLength(secrets.length);
    for (const url of urls) expect(new URL(url!).searchParams.has('secret')).toBe(false);
    expect(records).toEqual(expect.arrayContaining(world.truth('trigger', { projectSlugs: slugs }) as object[]));
  });

  it('lists triggers only for definitions whose config_source.provider is github_app or bitbucket_dc', async () => {
    const definitions = world.projects.flatMap((p) => p.definitions.map((d) => ({ project: p.id, id: d.record.id, provider: d.provider })));
    const supported = definitions.filter((d) => d.provider === 'github_app' || d.provider === 'bitbucket_dc');
    expect(supported.length).toBeGreaterThan(0);
    expect(supported.length).toBeLessThan(definitions.length); // the world has other providers too

    serveFake(api, world);
    const run = await runRead({ config, streams: { trigger: 'full_refresh' } });
    expect(run.exitCode).toBe(0);
    const asked = api.requests.map((r) => r.url.pathname).filter((path) => path.endsWith('/triggers'));
    const path = (d: { project: string; id: string }) => `/api/v2/projects/${d.project}/pipeline-definitions/${d.id}/triggers`;
    expect(asked.sort()).toEqual(supported.map(path).sort());
  });
});
