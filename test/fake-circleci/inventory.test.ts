// Inventory routes of the fake: deploy components and versions, project env vars and
// checkout keys, context env vars, webhooks. Every answer is checked against the closed
// spec schema; paged walks equal the truth accessors; unknown ids answer 404.

import { describe, it, expect, beforeAll, jest } from '@jest/globals';
import { createCore, type FakeCircleCiCore } from '../../tools/fake-circleci/dispatch.js';
import {
  checkoutKeysTruth,
  contextEnvVarsTruth,
  deployComponentsTruth,
  deployVersionsTruth,
  envVarsTruth,
  secretValues,
  webhooksTruth,
} from '../../tools/fake-circleci/inventory.js';
import { INVENTORY_ROUTE_NAMES, routeByName } from '../../tools/fake-circleci/routes.js';
import { createWorld, type JsonObject, type World } from '../../tools/fake-circleci/world.js';
import { body, canonical, get, walkList, type Response } from './helpers.js';
import { expectConforms, send } from './spec-check.js';

const UNKNOWN = '6f1a3c2e-0d4b-4e8f-9a7c-5b2d1e0f3a4c';

interface InventoryWalk {
  pages: { path: string; res: Response }[];
  components: JsonObject[];
  versions: JsonObject[];
  envvars: JsonObject[];
  checkoutKeys: JsonObject[];
  checkoutKeysSha256: JsonObject[];
  contextVars: JsonObject[];
  webhooks: JsonObject[];
}

/** Walk every inventory list of a world to its last page, as a connector would. */
async function walkInventory(core: FakeCircleCiCore): Promise<InventoryWalk> {
  const w: InventoryWalk = {
    pages: [],
    components: [],
    versions: [],
    envvars: [],
    checkoutKeys: [],
    checkoutKeysSha256: [],
    contextVars: [],
    webhooks: [],
  };
  const list = async (path: string): Promise<JsonObject[]> => {
    const { pages, items } = await walkList(core, path);
    for (const res of pages) w.pages.push({ path, res });
    return items;
  };
  const world = core.world;
  for (const org of world.collaborations()) {
    const components = await list(`/api/v2/deploy/components?org-id=${org.id}&page-size=1`);
    w.components.push(...components.map((c) => ({ ...c, organization_id: org.id })));
    for (const c of components) {
      const versions = await list(`/api/v2/deploy/components/${c.id as string}/versions`);
      w.versions.push(...versions.map((v) => ({ ...v, component_id: c.id as string })));
    }
    for (const ctx of (await walkList(core, `/api/v2/context?owner-id=${org.id}&owner-type=organization`)).items) {
      w.contextVars.push(...(await list(`/api/v2/context/${ctx.id as string}/environment-variable`)));
    }
  }
  for (const slug of world.projectSlugs()) {
    const project = body((await get(core, `/api/v2/project/${slug}`)) as Response);
    w.envvars.push(...(await list(`/api/v2/project/${slug}/envvar`)).map((v) => ({ ...v, project_slug: slug })));
    w.checkoutKeys.push(...(await list(`/api/v2/project/${slug}/checkout-key`)).map((v) => ({ ...v, project_slug: slug })));
    w.checkoutKeysSha256.push(
      ...(await list(`/api/v2/project/${encodeURIComponent(slug)}/checkout-key?digest=sha256`)).map((v) => ({ ...v, project_slug: slug })),
    );
    w.webhooks.push(...(await list(`/api/v2/webhook?scope-id=${project.id as string}&scope-type=project`)));
  }
  return w;
}

describe('inventory routes: paged walks equal the truth, every page matches the spec', () => {
  let world: World;
  let core: FakeCircleCiCore;
  let walk: InventoryWalk;
  beforeAll(async () => {
    world = createWorld({ preset: 'small', seed: 7, pageSize: 1 });
    core = createCore({ world });
    walk = await walkInventory(core);
  });

  it('every page of every inventory route conforms to the closed spec schema', () => {
    for (const { res } of walk.pages) expectConforms(res);
    const routes = new Set(walk.pages.map((p) => p.res.route));
    expect([...routes].sort()).toEqual([...INVENTORY_ROUTE_NAMES].sort());
    // lists longer than a page were followed through next_page_token
    for (const name of INVENTORY_ROUTE_NAMES) {
      expect(walk.pages.some((p) => p.res.route === name && body<{ next_page_token: string | null }>(p.res).next_page_token !== null)).toBe(true);
    }
  });

  it('the closed schemas catch a field the spec does not define', () => {
    const page = walk.pages.find((p) => p.res.route === 'webhooks' && body<{ items: unknown[] }>(p.res).items.length > 0) as { res: Response };
    const b = body<{ items: JsonObject[] }>(page.res);
    const tampered = { ...page.res, body: JSON.stringify({ ...b, items: [{ ...b.items[0], invented: 1 }] }) };
    expect(() => expectConforms(tampered)).toThrow(/must NOT have additional properties/);
  });

  it.each([
    ['components', (w: World) => deployComponentsTruth(w), (x: InventoryWalk) => x.components],
    ['versions', (w: World) => deployVersionsTruth(w), (x: InventoryWalk) => x.versions],
    ['envvars', (w: World) => envVarsTruth(w), (x: InventoryWalk) => x.envvars],
    ['checkout keys', (w: World) => checkoutKeysTruth(w), (x: InventoryWalk) => x.checkoutKeys],
    ['checkout keys (sha256)', (w: World) => checkoutKeysTruth(w, 'sha256'), (x: InventoryWalk) => x.checkoutKeysSha256],
    ['context env vars', (w: World) => contextEnvVarsTruth(w), (x: InventoryWalk) => x.contextVars],
    ['webhooks', (w: World) => webhooksTruth(w), (x: InventoryWalk) => x.webhooks],
  ])('%s: served items == truth, in listing order', (_name, truth, served) => {
    const expected = truth(world);
    expect(expected.length).toBeGreaterThan(0);
    expect(served(walk)).toEqual(expected);
    expect(new Set(canonical(served(walk))).size).toBe(expected.length);
  });

  it('deploy versions point at pipelines, workflows and jobs the history routes serve', async () => {
    const envIds = new Set(world.truth('deploy').map((e) => e.id as string));
    const components = new Map(walk.components.map((c) => [c.id as string, c]));
    for (const v of walk.versions) {
      expect(envIds.has(v.environment_id as string)).toBe(true);
      const jobs = (await walkList(core, `/api/v2/workflow/${v.workflow_id as string}/job`)).items;
      const job = jobs.find((j) => j.id === v.job_id) as JsonObject;
      expect(job).toMatchObject({ job_number: v.job_number, status: 'success', stopped_at: v.last_deployed_at });
      const wf = body((await get(core, `/api/v2/workflow/${v.workflow_id as string}`)) as Response);
      expect(world.listingPipelineId(wf)).toBe(v.pipeline_id);
      const component = components.get(v.component_id as string) as JsonObject;
      expect(wf.project_slug).toBe(world.truth('project').find((p) => p.id === component.project_id)?.slug);
    }
    // release_count counts the versions; one live version per environment that has any
    for (const c of walk.components) {
      const versions = walk.versions.filter((v) => v.component_id === c.id);
      expect(c.release_count).toBe(versions.length);
      for (const env of new Set(versions.map((v) => v.environment_id))) {
        expect(versions.filter((v) => v.environment_id === env && v.is_live === true)).toHaveLength(1);
      }
    }
    expect(walk.versions.length).toBeGreaterThan(walk.components.length);
  });

  it('environment-id and project-id filter the lists', async () => {
    const v = walk.versions[0] as JsonObject;
    const filtered = await walkList(core, `/api/v2/deploy/components/${v.component_id as string}/versions?environment-id=${v.environment_id as string}`);
    const expected = walk.versions.filter((x) => x.component_id === v.component_id && x.environment_id === v.environment_id).map(({ component_id: _c, ...rest }) => rest);
    expect(filtered.items).toEqual(expected);
    const c = walk.components[0] as JsonObject;
    const byProject = await walkList(core, `/api/v2/deploy/components?org-id=${c.organization_id as string}&project-id=${c.project_id as string}&page-size=5`);
    expect(byProject.items.map((x) => x.id)).toEqual(walk.components.filter((x) => x.project_id === c.project_id).map((x) => x.id));
    const other = await walkList(core, `/api/v2/deploy/components/${v.component_id as string}/versions?environment-id=${UNKNOWN}`);
    expect(other.items).toEqual([]);
  });

  it('secret values: env vars are served masked, signing secrets as the spec shows; secretValues() lists both', () => {
    const secrets = new Set(secretValues(world));
    for (const v of walk.envvars) {
      expect(v.value).toMatch(/^xxxx.{4}$/);
      expect(secrets.has(v.value as string)).toBe(true);
    }
    for (const w of walk.webhooks) {
      expect(w['signing-secret']).toMatch(/^FAKE-SIGNING-SECRET-/);
      expect(secrets.has(w['signing-secret'] as string)).toBe(true);
    }
    // the clear values behind the masks are listed but never served
    const clear = [...secrets].filter((s) => s.startsWith('FAKE-ENV-VALUE-'));
    expect(clear.length).toBe(walk.envvars.length);
    const served = walk.pages.map((p) => p.res.body).join('\n');
    for (const s of clear) expect(served.includes(s)).toBe(false);
    expect(secrets.has(world.token)).toBe(true);
    // context env vars have names only
    for (const v of walk.contextVars) expect(Object.keys(v).sort()).toEqual(['context_id', 'created_at', 'updated_at', 'variable']);
  });

  it('same seed gives byte-identical pages; another seed different ones', async () => {
    const again = await walkInventory(createCore({ world: createWorld({ preset: 'small', seed: 7, pageSize: 1 }) }));
    expect(again.pages.map((p) => [p.path, p.res.body])).toEqual(walk.pages.map((p) => [p.path, p.res.body]));
    const other = await walkInventory(createCore({ world: createWorld({ preset: 'small', seed: 8, pageSize: 1 }) }));
    const bodies = new Set(walk.pages.map((p) => p.res.body));
    const empty = /^\{"items":\[\],"next_page_token":null\}$/;
    expect(other.pages.filter((p) => !empty.test(p.res.body) && bodies.has(p.res.body))).toEqual([]);
  });
});

describe('inventory routes: errors', () => {
  const world = createWorld({ preset: 'tiny', seed: 3 });
  const core = createCore({ world });
  const org = world.collaborations()[0]?.id as string;
  const project = world.truth('project')[0] as JsonObject;
  const slug = project.slug as string;
  const context = world.truth('context')[0] as JsonObject;
  const component = deployComponentsTruth(world)[0] as JsonObject;
  const paths: Record<(typeof INVENTORY_ROUTE_NAMES)[number], string> = {
    deploy_components: `/api/v2/deploy/components?org-id=${org}&page-size=5`,
    deploy_component_versions: `/api/v2/deploy/components/${component.id as string}/versions`,
    project_envvars: `/api/v2/project/${slug}/envvar`,
    project_checkout_keys: `/api/v2/project/${slug}/checkout-key`,
    context_envvars: `/api/v2/context/${context.id as string}/environment-variable`,
    webhooks: `/api/v2/webhook?scope-id=${project.id as string}&scope-type=project`,
  };

  it('401 without or with a wrong token; a project token gets 404 on project routes, else 401', async () => {
    for (const [route, path] of Object.entries(paths)) {
      const ok = await get(core, path);
      expect([route, ok.status]).toEqual([route, 200]);
      for (const token of [null, 'CCIPAT_wrong']) {
        const res = await get(core, path, token);
        expect(res.status).toBe(401);
        expectConforms(res);
      }
      const proj = await get(core, path, world.projectToken);
      expect(proj.status).toBe(routeByName(route as (typeof INVENTORY_ROUTE_NAMES)[number]).scope === 'project' ? 404 : 401);
      expectConforms(proj);
      const bad = await get(core, `${path}${path.includes('?') ? '&' : '?'}page-token=garbage`);
      expect(bad.status).toBe(400);
      expectConforms(bad);
    }
  });

  // Unknown ids: the live API answers 404 {message} for entities it cannot find (the spec
  // documents 404 on these routes, or a default error); the fake uses the spec's example
  // messages where it gives one, and the project routes' live "Project not found".
  it.each([
    [`/api/v2/deploy/components?org-id=${UNKNOWN}&page-size=5`, 'Organization does not exist.'],
    [`/api/v2/deploy/components/${UNKNOWN}/versions`, 'Component does not exist.'],
    ['/api/v2/project/gh/nobody/nothing/envvar', 'Project not found'],
    ['/api/v2/project/gh/nobody/nothing/checkout-key', 'Project not found'],
    [`/api/v2/context/${UNKNOWN}/environment-variable`, 'Context not found.'],
    [`/api/v2/webhook?scope-id=${UNKNOWN}&scope-type=project`, 'Project does not exist.'],
  ])('404 for %s', async (path, message) => {
    const res = await get(core, path);
    expect(res.status).toBe(404);
    expect(body(res)).toEqual({ message });
    expectConforms(res);
  });

  it.each([
    ['/api/v2/deploy/components?page-size=5'],
    [`/api/v2/deploy/components?org-id=${org}`],
    [`/api/v2/deploy/components?org-id=${org}&page-size=0`],
    [`/api/v2/deploy/components?org-id=${org}&page-size=5&project-id=nope`],
    ['/api/v2/deploy/components/not-a-uuid/versions'],
    [`/api/v2/deploy/components/${UNKNOWN}/versions?environment-id=nope`],
    [`/api/v2/project/${slug}/checkout-key?digest=sha1`],
    ['/api/v2/context/not-a-uuid/environment-variable'],
    [`/api/v2/webhook?scope-id=${UNKNOWN}`],
    ['/api/v2/webhook?scope-type=project'],
    ['/api/v2/webhook?scope-id=nope&scope-type=project'],
  ])('400 for %s', async (path) => {
    const res = await get(core, path);
    expect(res.status).toBe(400);
    expectConforms(res);
  });

  it('fault-generated 429 and 500 bodies conform on every inventory route', async () => {
    const limited = createCore({ world, faults: { rateLimit: { requestsPerMinute: 0 } } });
    const failing = createCore({ world, faults: { serverErrors: { status: 500 } } });
    for (const path of Object.values(paths)) {
      const a = await get(limited, path);
      expect(a.status).toBe(429);
      expectConforms(a);
      const b = await send(failing, 'GET', path);
      expect(b.status).toBe(500);
      expectConforms(b);
    }
  });
});

describe('inventory on the benchmark preset', () => {
  it('stays lazy: inventory lists derive only the few pipelines their versions name', async () => {
    const world = createWorld({ preset: 'benchmark', seed: 1 });
    const metas = jest.spyOn(world, 'workflowMetas');
    const core = createCore({ world });
    const slug = world.projectSlugs()[0] as string;
    for (const path of [`/api/v2/project/${slug}/envvar`, `/api/v2/project/${slug}/checkout-key`]) {
      expect((await get(core, path)).status).toBe(200);
    }
    expect(secretValues(world).length).toBeGreaterThan(0);
    expect(metas).not.toHaveBeenCalled();
    const org = world.collaborations()[0]?.id as string;
    const components = await walkList(core, `/api/v2/deploy/components?org-id=${org}&page-size=100`);
    expect(components.items.length).toBeGreaterThan(0);
    // each release looks at a handful of pipelines, of the ~8,000 of each project
    const projects = world.truth('project').length;
    expect(metas.mock.calls.length).toBeGreaterThan(0);
    expect(metas.mock.calls.length).toBeLessThan(world.pipelineCount(world.projects[0] as World['projects'][number]) / 10);
    expect(projects).toBe(12);
  });
});
