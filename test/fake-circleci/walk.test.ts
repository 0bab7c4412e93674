import { describe, it, expect, beforeAll } from '@jest/globals';
import { createCore } from '../../tools/fake-circleci/dispatch.js';
import { INVENTORY_ROUTE_NAMES, ROUTE_NAMES, USAGE_EXPORT_ROUTE_NAMES, type RouteName } from '../../tools/fake-circleci/routes.js';
import { createWorld, STREAM_NAMES, type JsonObject, type World } from '../../tools/fake-circleci/world.js';
import { body, canonical, get, walkList, walkWorld, withParam, type WalkResult } from './helpers.js';

describe('determinism', () => {
  it('same seed gives byte-identical responses for a walk of every route', async () => {
    const a = await walkWorld(createCore({ world: createWorld({ preset: 'tiny', seed: 11 }) }));
    const b = await walkWorld(createCore({ world: createWorld({ preset: 'tiny', seed: 11 }) }));
    // inventory and usage export routes: walked in inventory.test.ts and usage-export.test.ts
    const ownSuite: readonly RouteName[] = [...INVENTORY_ROUTE_NAMES, ...USAGE_EXPORT_ROUTE_NAMES];
    expect(new Set(a.pages.map((p) => p.res.route))).toEqual(new Set(ROUTE_NAMES.filter((r) => !ownSuite.includes(r))));
    expect(b.pages.map((p) => [p.path, p.res.status, p.res.body])).toEqual(a.pages.map((p) => [p.path, p.res.status, p.res.body]));
  });

  it('a different seed gives different responses', async () => {
    const a = await walkWorld(createCore({ world: createWorld({ preset: 'tiny', seed: 11 }) }));
    const b = await walkWorld(createCore({ world: createWorld({ preset: 'tiny', seed: 12 }) }));
    const bodiesA = new Set(a.pages.map((p) => p.res.body));
    // every page with content differs (empty lists are the same in any world)
    const empty = /^\{("items":\[\](,"next_page_token":null)?|"flaky-tests":\[\],"total-flaky-tests":0)\}$/;
    const shared = b.pages.filter((p) => bodiesA.has(p.res.body) && !empty.test(p.res.body));
    expect(b.pages.filter((p) => !empty.test(p.res.body)).length).toBeGreaterThan(50);
    expect(shared).toEqual([]);
  });
});

describe.each([
  ['tiny', 1],
  ['small', 4],
] as const)('pagination walks the whole truth (%s, seed %d)', (preset, seed) => {
  let world: World;
  let walk: WalkResult;
  beforeAll(async () => {
    world = createWorld({ preset, seed });
    walk = await walkWorld(createCore({ world }));
  });

  // usage is an export (POST, poll, download), not a listing: usage-export.test.ts and test/read/usage.test.ts
  // The inventory's pages are compared with its accessors in inventory.test.ts (World.truth
  // holds the connector's records: what it drops removed, what it adds added).
  const inventory: readonly string[] = ['deploy_components', 'deploy_component_versions', 'project_env_vars', 'project_checkout_keys', 'context_env_vars', 'webhooks'];
  it.each(STREAM_NAMES.filter((name) => !inventory.includes(name) && name !== 'usage'))('%s: paged records == world.truth', (stream) => {
    const truth = world.truth(stream);
    // The tiny world has no flaky test in its last two weeks; the small one has.
    if (!(preset === 'tiny' && stream === 'flaky_tests')) expect(truth.length).toBeGreaterThan(0);
    expect(walk.records[stream]).toHaveLength(truth.length);
    // The truth is what a destination holds: webhook URLs without their `secret` (issue #13).
    const paged = stream === 'trigger' ? walk.records[stream].map(withoutWebhookSecret) : walk.records[stream];
    expect(canonical(paged)).toEqual(canonical(truth));
  });

  it('job details and tests: paged records == the job-level truth', () => {
    const details = [...world.jobDetailsTruth()];
    const tests = [...world.testsTruth()];
    expect(details.length).toBeGreaterThan(0);
    expect(tests.length).toBeGreaterThan(0);
    expect(canonical(walk.records.job_details)).toEqual(canonical(details));
    // the fake's _test_key agrees with the documented rule as written in helpers.ts
    expect(canonical(walk.records.tests)).toEqual(canonical(tests));
  });

  it('incremental streams: records at or after startDate == truth with startDate', () => {
    const startDate = new Date(world.epochMs - 20 * 86_400_000).toISOString();
    const pipelines = walk.records.pipelines.filter((p) => (p.updated_at as string) >= startDate);
    expect(canonical(pipelines)).toEqual(canonical(world.truth('pipelines', { startDate })));
    const ids = new Set(pipelines.map((p) => p.id));
    expect(canonical(walk.records.workflows.filter((w) => ids.has(world.listingPipelineId(w))))).toEqual(
      canonical(world.truth('workflows', { startDate })),
    );
    const workflowIds = new Set(walk.records.workflows.filter((w) => ids.has(world.listingPipelineId(w))).map((w) => w.id));
    expect(canonical(walk.records.job_details.filter((d) => ids.has((d.pipeline as { id: string }).id)))).toEqual(
      canonical([...world.jobDetailsTruth({ startDate })]),
    );
    expect(canonical(walk.records.tests.filter((t) => workflowIds.has(t._workflow_id)))).toEqual(
      canonical([...world.testsTruth({ startDate })]),
    );
  });

  it('list pages respect the page size and tokens are opaque', () => {
    const size = world.options.pageSize;
    for (const { res } of walk.pages) {
      const b = JSON.parse(res.body) as { items?: unknown[]; next_page_token?: string | null };
      if (res.route === 'deploy_environments') expect(b.items?.length).toBeLessThanOrEqual(2);
      else if (res.route !== 'private_projects' && b.next_page_token !== undefined) {
        expect(b.items?.length).toBeLessThanOrEqual(size);
      }
      if (typeof b.next_page_token === 'string') {
        expect(b.next_page_token).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(b.items?.length).toBeGreaterThan(0);
      }
    }
    if (preset === 'tiny') {
      // page size 2: every paginated route has at least one multi-page walk
      const paged = new Set(
        walk.pages.filter(({ res }) => typeof (JSON.parse(res.body) as { next_page_token?: unknown }).next_page_token === 'string').map((p) => p.res.route),
      );
      for (const r of ['contexts', 'groups', 'deploy_environments', 'pipelines', 'pipeline_workflows', 'workflow_jobs', 'job_tests']) {
        expect(paged).toContain(r);
      }
    }
  });
});

describe('list routes', () => {
  const world = createWorld({ preset: 'small', seed: 2 });
  const core = createCore({ world });
  const slug = world.projectSlugs()[0] as string;

  it('pipelines: ~20 per page, newest first, next_page_token null on the last page', async () => {
    const { pages, items } = await walkList(core, `/api/v2/project/${slug}/pipeline`);
    expect(pages.map((p) => body<{ items: unknown[] }>(p).items.length)).toEqual([15]);
    expect(items.map((p) => p.number)).toEqual(Array.from({ length: 15 }, (_, i) => 15 - i));
    const bigger = createWorld({ preset: 'small', seed: 2, pipelinesPerProject: 45 });
    const walked = await walkList(createCore({ world: bigger }), `/api/v2/project/${encodeURIComponent(slug)}/pipeline`);
    expect(walked.pages.map((p) => body<{ items: unknown[] }>(p).items.length)).toEqual([20, 20, 5]);
    expect(body<{ next_page_token: unknown }>(walked.pages[2] as never).next_page_token).toBeNull();
  });

  it('pipelines: branch filter', async () => {
    const { items } = await walkList(core, `/api/v2/project/${slug}/pipeline?branch=main`);
    expect(items.length).toBeGreaterThan(0);
    expect(items.every((p) => (p.vcs as { branch?: string }).branch === 'main')).toBe(true);
    expect(items.length).toBe(world.truth('pipelines', { projectSlugs: [slug] }).filter((p) => (p.vcs as { branch?: string }).branch === 'main').length);
  });

  it('slugs work raw, URL-encoded, and with long vcs names; unknown slugs answer 404', async () => {
    const [vcs, org, repo] = slug.split('/') as [string, string, string];
    const a = await get(core, `/api/v2/project/${slug}`);
    const b = await get(core, `/api/v2/project/${encodeURIComponent(slug)}`);
    const c = await get(core, `/api/v2/project/${vcs === 'gh' ? 'github' : 'bitbucket'}/${org}/${repo}`);
    expect(a.status).toBe(200);
    expect(b.body).toBe(a.body);
    expect(c.body).toBe(a.body);
    const cc = world.projectSlugs().find((s) => s.startsWith('circleci/')) as string;
    expect((await get(core, `/api/v2/project/${cc}`)).status).toBe(200);
    expect((await get(core, `/api/v2/project/${encodeURIComponent(cc)}/pipeline`)).status).toBe(200);
    const missing = await get(core, `/api/v2/project/gh/${org}/nope`);
    expect(missing.status).toBe(404);
    expect(body(missing)).toEqual({ message: 'Project not found' });
  });

  it('a bad page token answers 400, a token of another list answers 400, a stale one 404', async () => {
    const path = `/api/v2/project/${slug}/pipeline`;
    const bad = await get(core, withParam(path, 'page-token', 'not-a-token'));
    expect(bad.status).toBe(400);
    expect(body(bad)).toEqual({ message: 'Invalid page-token.' });
    const w = createWorld({ preset: 'tiny', seed: 1, pageTokenTtlMs: 3_600_000 });
    const c = createCore({ world: w });
    const s0 = w.projectSlugs()[0] as string;
    const first = body<{ next_page_token: string }>(await get(c, `/api/v2/project/${s0}/pipeline`));
    const other = await get(c, withParam(`/api/v2/project/${w.projectSlugs()[1] as string}/pipeline`, 'page-token', first.next_page_token));
    expect(other.status).toBe(400);
    const tampered = first.next_page_token.slice(0, -2) + (first.next_page_token.endsWith('AA') ? 'BB' : 'AA');
    expect((await get(c, withParam(`/api/v2/project/${s0}/pipeline`, 'page-token', tampered))).status).toBe(400);
    expect((await get(c, withParam(`/api/v2/project/${s0}/pipeline`, 'page-token', first.next_page_token))).status).toBe(200);
    w.advanceTime(2 * 3_600_000);
    const stale = await get(c, withParam(`/api/v2/project/${s0}/pipeline`, 'page-token', first.next_page_token));
    expect(stale.status).toBe(404);
    expect(typeof body(stale).message).toBe('string');
  });

  it('deploy page-size and group limit are honoured; private listing page-size > 50 answers 500', async () => {
    const org = world.collaborations()[0]?.id as string;
    const envs = body<{ items: unknown[] }>(await get(core, `/api/v2/deploy/environments?org-id=${org}&page-size=1`));
    expect(envs.items).toHaveLength(1);
    expect((await get(core, `/api/v2/deploy/environments?org-id=${org}`)).status).toBe(400);
    const groups = body<{ items: unknown[]; next_page_token: string }>(await get(core, `/api/v2/organizations/${org}/groups?limit=2`));
    expect(groups.items).toHaveLength(2);
    expect(typeof groups.next_page_token).toBe('string');
    expect((await get(core, `/api/private/project?organization-id=${org}&page-size=50`)).status).toBe(200);
    const tooBig = await get(core, `/api/private/project?organization-id=${org}&page-size=51`);
    expect(tooBig.status).toBe(500);
    expect(typeof body(tooBig).message).toBe('string');
  });

  it('jobs are paginated with next_page_token', async () => {
    const w = createWorld({ preset: 'small', seed: 2, pageSize: 2 });
    const c = createCore({ world: w });
    const wf = w.truth('workflows').find((x) => w.jobRecords(w.workflowById(x.id as string) as never).length > 2);
    expect(wf).toBeDefined();
    const { pages, items } = await walkList(c, `/api/v2/workflow/${wf?.id as string}/job`);
    expect(pages.length).toBeGreaterThan(1);
    expect(items.map((j) => j.id)).toEqual(w.truth('jobs').filter((j) => j._workflow_id === wf?.id).map((j) => j.id));
  });
});

function withoutWebhookSecret(trigger: JsonObject): JsonObject {
  const webhook = (trigger.event_source as { webhook?: { url?: string } } | undefined)?.webhook;
  if (webhook?.url === undefined) return trigger;
  const url = new URL(webhook.url);
  expect(url.searchParams.has('secret')).toBe(true); // the fake serves the spec's example shape
  url.searchParams.delete('secret');
  return { ...trigger, event_source: { ...(trigger.event_source as JsonObject), webhook: { ...webhook, url: url.toString() } } };
}
