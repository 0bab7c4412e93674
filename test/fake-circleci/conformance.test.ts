// OpenAPI conformance: every kind of response body the fake sends, on every route, is
// validated against the response schema of test/reference/circleci-openapi.json.
//
// How the OpenAPI 3.0 schemas are turned into JSON Schema for ajv:
// - `#/components/...` $refs are inlined;
// - `nullable: true` (OpenAPI 3.0) and `x-nullable: true` (the spec's Swagger-2 leftover
//   on e.g. workflow.stopped_at and next_page_token) allow null;
// - every object schema with `properties` is closed (additionalProperties: false unless
//   the spec says otherwise), so a field the spec does not define fails the check.
// Where the live API disagrees with the spec the fake follows the live API; each such
// deviation is listed in DEVIATIONS below and patched into the schema of that route only.

import { describe, it, expect, beforeAll } from '@jest/globals';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { createCore, type FakeCircleCiCore } from '../../tools/fake-circleci/dispatch.js';
import {
  INVENTORY_ROUTE_NAMES,
  routeByName,
  routes as allRoutes,
  USAGE_EXPORT_ROUTE_NAMES,
  type InventoryRouteName,
  type RouteName,
  type UsageExportRouteName,
} from '../../tools/fake-circleci/routes.js';
import { createWorld, type JsonObject } from '../../tools/fake-circleci/world.js';
import { body, get, walkList, walkWorld, type Response } from './helpers.js';
import { ERROR_SCHEMA, resolveRef, spec, toJsonSchema, type Schema } from './openapi.js';

// Inventory and usage export routes have suites of their own (inventory.test.ts,
// usage-export.test.ts) that check them against the same spec with the same helpers.
type CoreRouteName = Exclude<RouteName, InventoryRouteName | UsageExportRouteName>;
const ownSuite: readonly RouteName[] = [...INVENTORY_ROUTE_NAMES, ...USAGE_EXPORT_ROUTE_NAMES];
const routes = allRoutes.filter((r) => !ownSuite.includes(r.name));

// ---------------------------------------------------------------------------------------
// Live-API deviations from the spec, each patched into one route's schema. Everything not
// listed here is checked strictly against the spec.
// ---------------------------------------------------------------------------------------
interface Deviation {
  route: RouteName;
  why: string;
  patch: (schema: Schema, status: number) => Schema;
}

/** A legacy (1.0-era) workflow has `pipeline_id` and `pipeline_number` null (live API, test/reference/README.md); the spec types both as non-null. */
const LEGACY_WORKFLOW_WHY = 'a legacy workflow has `pipeline_id` and `pipeline_number` null (live API, test/reference/README.md); the spec types both as non-null';
function legacyWorkflow(workflow: Schema): Schema {
  const props = { ...(workflow.properties as Schema) };
  props.pipeline_id = { ...(props.pipeline_id as Schema), type: ['string', 'null'] };
  props.pipeline_number = { ...(props.pipeline_number as Schema), type: ['integer', 'null'] };
  return { ...workflow, properties: props };
}

const DEVIATIONS: Deviation[] = [
  {
    route: 'pipeline_workflows',
    why: LEGACY_WORKFLOW_WHY,
    patch: (schema, status) => {
      if (status !== 200) return schema;
      const items = (schema.properties as Schema).items as Schema;
      return { ...schema, properties: { ...(schema.properties as Schema), items: { ...items, items: legacyWorkflow(items.items as Schema) } } };
    },
  },
  {
    route: 'workflow',
    why: LEGACY_WORKFLOW_WHY,
    patch: (schema, status) => (status === 200 ? legacyWorkflow(schema) : schema),
  },
  {
    route: 'collaborations',
    why: 'items carry `vcs_type` (live API), the spec says and requires `vcs-type`',
    patch: (schema, status) => {
      if (status !== 200) return schema;
      const items = schema.items as Schema;
      const props = { ...(items.properties as Schema) };
      props.vcs_type = props['vcs-type'];
      delete props['vcs-type'];
      const required = (items.required as string[]).map((r) => (r === 'vcs-type' ? 'vcs_type' : r));
      return { ...schema, items: { ...items, properties: props, required } };
    },
  },
  {
    route: 'workflow_jobs',
    why: 'jobs that have not started (blocked, not_run, approval on hold) have `started_at: null`; the spec types it as a non-null string',
    patch: (schema, status) => {
      if (status !== 200) return schema;
      const items = (schema.properties as Schema).items as Schema;
      const job = items.items as Schema;
      const props = { ...(job.properties as Schema) };
      props.started_at = { ...(props.started_at as Schema), type: ['string', 'null'] };
      return {
        ...schema,
        properties: { ...(schema.properties as Schema), items: { ...items, items: { ...job, properties: props } } },
      };
    },
  },
  {
    route: 'pipelines',
    why: 'a pipeline errored before it got a config has `trigger.type` "Decoupled Ingestion System", outside the spec\'s enum (live API, test/reference/README.md)',
    patch: (schema, status) => {
      if (status !== 200) return schema;
      const items = (schema.properties as Schema).items as Schema;
      const pipeline = items.items as Schema;
      const trigger = (pipeline.properties as Schema).trigger as Schema;
      const type = (trigger.properties as Schema).type as Schema;
      const patchedTrigger = { ...trigger, properties: { ...(trigger.properties as Schema), type: { ...type, enum: [...(type.enum as string[]), 'Decoupled Ingestion System'] } } };
      const patchedPipeline = { ...pipeline, properties: { ...(pipeline.properties as Schema), trigger: patchedTrigger } };
      return { ...schema, properties: { ...(schema.properties as Schema), items: { ...items, items: patchedPipeline } } };
    },
  },
  {
    route: 'job_details',
    why: 'job details may lack `project.id` (live API, test/reference/README.md); the spec requires it',
    patch: (schema, status) => {
      if (status !== 200) return schema;
      const project = (schema.properties as Schema).project as Schema;
      const patched = { ...project, required: (project.required as string[]).filter((r) => r !== 'id') };
      return { ...schema, properties: { ...(schema.properties as Schema), project: patched } };
    },
  },
  {
    route: 'insights_workflow_runs',
    why: 'runs may come without `branch` and `is_approval`, and a page without any `next_page_token` key (live API, test/reference/README.md); the spec requires all three',
    patch: (schema, status) => {
      if (status !== 200) return schema;
      const items = (schema.properties as Schema).items as Schema;
      const run = items.items as Schema;
      const patchedRun = { ...run, required: (run.required as string[]).filter((r) => r !== 'branch' && r !== 'is_approval') };
      return {
        ...schema,
        required: (schema.required as string[]).filter((r) => r !== 'next_page_token'),
        properties: { ...(schema.properties as Schema), items: { ...items, items: patchedRun } },
      };
    },
  },
  {
    route: 'private_projects',
    why: 'GET /api/private/project is undocumented; schema from test/reference/README.md (items id, name, slug, ...; next_page_token) and the time of the last finished build other replicators read there',
    patch: (_schema, status) =>
      status !== 200
        ? ERROR_SCHEMA
        : {
            type: 'object',
            required: ['items', 'next_page_token'],
            additionalProperties: false,
            properties: {
              items: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['id', 'name', 'slug'],
                  additionalProperties: false,
                  properties: {
                    id: { type: 'string', format: 'uuid' },
                    name: { type: 'string' },
                    slug: { type: 'string' },
                    organization_id: { type: 'string', format: 'uuid' },
                    vcs_url: { type: 'string' },
                    last_build_finished_at: { type: 'string', format: 'date-time' },
                  },
                },
              },
              next_page_token: { type: ['string', 'null'] },
            },
          },
  },
];

const ajv = new Ajv({ strict: false, allErrors: true });
addFormatsModule.default(ajv);
ajv.addFormat('integer', true); // the spec uses `format: integer` on schedule timetables

const compiled = new Map<string, ValidateFunction>();

/** Which schema a response of this route and status is checked against. */
function schemaFor(route: RouteName, status: number): { schema: Schema; source: string } {
  const r = routeByName(route);
  const deviation = DEVIATIONS.find((d) => d.route === route);
  if (!r.specPath) {
    if (!deviation) throw new Error(`route ${route} is not in the spec and has no named deviation`);
    return { schema: deviation.patch({}, status), source: `deviation: ${deviation.why}` };
  }
  const op = ((spec.paths as Schema)[r.specPath] as Schema)[r.method.toLowerCase()] as Schema;
  const responses = op.responses as Schema;
  let resp = (responses[String(status)] ?? responses.default) as Schema | undefined;
  if (resp?.$ref) resp = resolveRef(resp.$ref as string) as Schema;
  const media = (resp?.content as Schema | undefined)?.['application/json'] as Schema | undefined;
  let schema: Schema;
  let source: string;
  if (media?.schema) {
    schema = toJsonSchema(media.schema) as Schema;
    source = `spec ${r.specPath} ${responses[String(status)] ? status : 'default'}`;
  } else {
    // A status the spec does not document for this route (e.g. 400 on /context, 401 or
    // 429 on the deploy/groups routes): CircleCI errors are {"message": "..."}.
    schema = ERROR_SCHEMA;
    source = 'undocumented status: CircleCI error body {message}';
  }
  if (deviation) schema = deviation.patch(schema, status);
  if (status >= 400) {
    // every error body must also be exactly {message: string}
    schema = { allOf: [schema, ERROR_SCHEMA] };
  }
  return { schema, source };
}

function validate(res: Response): void {
  const key = `${res.route}:${res.status}`;
  let fn = compiled.get(key);
  const { schema, source } = schemaFor(res.route as RouteName, res.status);
  if (!fn) {
    fn = ajv.compile(schema);
    compiled.set(key, fn);
  }
  expect(res.headers['Content-Type']).toBe('application/json; charset=utf-8');
  const ok = fn(JSON.parse(res.body));
  if (!ok) {
    throw new Error(`${key} does not match ${source}:\n${ajv.errorsText(fn.errors, { separator: '\n' })}\n${res.body.slice(0, 600)}`);
  }
}

describe('OpenAPI conformance', () => {
  const seen = new Map<string, number>();
  let core: FakeCircleCiCore;
  let world: ReturnType<typeof createWorld>;

  const check = (res: Response): void => {
    validate(res);
    seen.set(`${res.route} ${res.status}`, (seen.get(`${res.route} ${res.status}`) ?? 0) + 1);
  };

  beforeAll(() => {
    world = createWorld({ preset: 'small', seed: 7, pageSize: 3 });
    core = createCore({ world });
  });

  it('names each deviation once and only for routes that exist', () => {
    const names = new Set(routes.map((r) => r.name));
    for (const d of DEVIATIONS) expect(names.has(d.route as RouteName)).toBe(true);
    expect(new Set(DEVIATIONS.map((d) => d.route)).size).toBe(DEVIATIONS.length);
    // the spec really says what the deviations claim
    const collab = ((((spec.paths as Schema)['/me/collaborations'] as Schema).get as Schema).responses as Schema)['200'] as Schema;
    expect(JSON.stringify(collab)).toContain('"vcs-type"');
  });

  it('each deviation is needed: the unpatched spec schema rejects the live-API shape', async () => {
    const rawSchema = (route: RouteName): Schema => {
      const op = ((spec.paths as Schema)[routeByName(route).specPath as string] as Schema).get as Schema;
      return toJsonSchema((((op.responses as Schema)['200'] as Schema).content as Schema)['application/json'] as Schema) as Schema;
    };
    const collabs = JSON.parse((await get(core, '/api/v2/me/collaborations')).body) as unknown;
    expect(ajv.compile((rawSchema('collaborations') as Schema).schema as Schema)(collabs)).toBe(false);
    const notStarted = world.truth('jobs').find((j) => j.started_at === null) as JsonObject;
    const jobs = JSON.parse((await get(core, `/api/v2/workflow/${notStarted._workflow_id as string}/job`)).body) as unknown;
    expect(ajv.compile((rawSchema('workflow_jobs') as Schema).schema as Schema)(jobs)).toBe(false);
    const legacy = world.truth('workflows').find((w) => w.pipeline_id === null && w.pipeline_number === null) as JsonObject;
    const legacyRes = await get(core, `/api/v2/workflow/${legacy.id as string}`);
    expect(body(legacyRes)).toEqual(legacy);
    expect(ajv.compile(rawSchema('workflow').schema as Schema)(legacy)).toBe(false);
    expect(ajv.compile(schemaFor('workflow', 200).schema)(legacy)).toBe(true);
    const listed = (await walkList(core, `/api/v2/pipeline/${world.listingPipelineId(legacy)}/workflow`)).pages.map((page) => JSON.parse(page.body) as { items: JsonObject[] });
    expect(listed.flatMap((page) => page.items)).toContainEqual(legacy);
    expect(listed.some((page) => !ajv.compile((rawSchema('pipeline_workflows') as Schema).schema as Schema)(page))).toBe(true);
    for (const page of listed) expect(ajv.compile(schemaFor('pipeline_workflows', 200).schema)(page)).toBe(true);
    // the live shapes of test/reference/README.md the fake serves
    const errored = world.projects.find((p) => p.gIdx % 3 === 1 && p.baseCount >= 3)!;
    const liveErrored = { items: [world.pipelineRecord(errored, 1)], next_page_token: null };
    expect((liveErrored.items[0]!.trigger as JsonObject).type).toBe('Decoupled Ingestion System');
    expect(ajv.compile((rawSchema('pipelines') as Schema).schema as Schema)(liveErrored)).toBe(false);
    expect(ajv.compile(schemaFor('pipelines', 200).schema)(liveErrored)).toBe(true);
    const withoutProjectId = [...world.jobDetailsTruth()].find((d) => (d.project as JsonObject).id === undefined)!;
    const liveDetails = Object.fromEntries(Object.entries(withoutProjectId).filter(([k]) => !k.startsWith('_')));
    expect(ajv.compile((rawSchema('job_details') as Schema).schema as Schema)(liveDetails)).toBe(false);
    expect(ajv.compile(schemaFor('job_details', 200).schema)(liveDetails)).toBe(true);
    const slug = world.projectSlugs().find((s) => world.truth('insights_workflow_runs', { projectSlugs: [s] }).some((r) => r.branch === undefined))!;
    const runs = walkList(core, `/api/v2/insights/${slug}/workflows/build-and-test?all-branches=true`);
    const pages = (await runs).pages.map((page) => JSON.parse(page.body) as JsonObject);
    expect(pages.at(-1)).not.toHaveProperty('next_page_token');
    for (const page of pages) expect(ajv.compile(schemaFor('insights_workflow_runs', 200).schema)(page)).toBe(true);
    expect(pages.some((page) => !ajv.compile((rawSchema('insights_workflow_runs') as Schema).schema as Schema)(page))).toBe(true);
    // and the closed schemas catch a field the spec does not define
    const pipelines = JSON.parse((await get(core, `/api/v2/project/${world.projectSlugs()[0] as string}/pipeline`)).body) as {
      items: JsonObject[];
    };
    const strict = ajv.compile(schemaFor('pipelines', 200).schema);
    expect(strict(pipelines)).toBe(true);
    (pipelines.items[0] as JsonObject).invented = 1;
    expect(strict(pipelines)).toBe(false);
  });

  it('every 200 body of a full walk (every route, every page) matches the spec', async () => {
    const walk = await walkWorld(core);
    for (const { res } of walk.pages) check(res);
    for (const r of routes) expect(seen.get(`${r.name} 200`)).toBeGreaterThan(0);
    // opaque page tokens of CircleCI's length, ~140 characters (live API, test/reference/README.md)
    const tokens = walk.pages.map(({ res }) => (JSON.parse(res.body) as { next_page_token?: unknown }).next_page_token).filter((t): t is string => typeof t === 'string');
    expect(tokens.length).toBeGreaterThan(0);
    for (const token of tokens) expect(token.length).toBeGreaterThanOrEqual(140);
    // the walk covered the shapes that matter
    const jobs = walk.records.jobs;
    expect(jobs.some((j) => j.started_at === null)).toBe(true);
    expect(jobs.some((j) => j.type === 'approval')).toBe(true);
    expect(walk.records.workflows.some((w) => w.stopped_at === null)).toBe(true);
    expect(walk.records.schedule.some((s) => s.description === null)).toBe(true);
    const details = walk.records.job_details;
    expect(details.some((d) => d.duration === null && d.stopped_at === null)).toBe(true);
    expect(details.some((d) => (d.messages as JsonObject[]).some((m) => m.reason === undefined))).toBe(true);
    expect(details.some((d) => (d.messages as JsonObject[]).some((m) => typeof m.reason === 'string'))).toBe(true);
    expect(details.some((d) => (d.contexts as unknown[]).length > 0)).toBe(true);
    expect(details.some((d) => (d.parallel_runs as unknown[]).length > 1)).toBe(true);
    const tests = walk.records.tests;
    for (const result of ['success', 'failure', 'skipped']) expect(tests.some((t) => t.result === result)).toBe(true);
    expect(tests.some((t) => t.message === null)).toBe(true);
    expect(tests.some((t) => t.file === '')).toBe(true);
    expect(seen.get('job_tests 200')).toBeGreaterThan(details.length); // several pages, some empty
  });

  it('job details and tests: the closed spec schemas catch a field the spec does not define', async () => {
    const job = world.jobDetailsTruth().next().value as JsonObject;
    const number = job.number as number;
    const slug = (job.project as JsonObject).slug as string;
    const details = JSON.parse((await get(core, `/api/v2/project/${slug}/job/${number}`)).body) as JsonObject;
    const strictDetails = ajv.compile(schemaFor('job_details', 200).schema);
    expect(strictDetails(details)).toBe(true);
    expect(strictDetails({ ...details, _job_id: job._job_id })).toBe(false);
    expect(strictDetails({ ...details, executor: { ...(details.executor as JsonObject), invented: 1 } })).toBe(false);
    const withTests = world.testsTruth().next().value as JsonObject;
    const tests = JSON.parse(
      (await get(core, `/api/v2/project/${withTests.project_slug as string}/${withTests._job_number as number}/tests`)).body,
    ) as { items: JsonObject[] };
    const strictTests = ajv.compile(schemaFor('job_tests', 200).schema);
    expect(strictTests(tests)).toBe(true);
    expect(strictTests({ ...tests, items: [{ ...tests.items[0], _test_key: 'k' }] })).toBe(false);
  });

  it('in-progress, finished and rerun states of a mutated world match the spec', async () => {
    const w = createWorld({ preset: 'small', seed: 8 });
    const c = createCore({ world: w });
    const slug = w.projectSlugs()[0] as string;
    w.addPipelines(slug, 3);
    const p = w.truth('pipelines', { projectSlugs: [slug] }).find((x) => (x.errors as unknown[]).length === 0) as JsonObject;
    w.rerunWorkflow(p.id as string);
    for (const res of [
      await get(c, `/api/v2/project/${slug}/pipeline`),
      await get(c, `/api/v2/pipeline/${p.id as string}/workflow`),
    ]) check(res);
    w.finishRunningWorkflows();
    w.addDeployEnvironment(w.collaborations()[0]?.id as string);
    const walk = await walkWorld(c);
    for (const { res } of walk.pages) check(res);
  });

  it('error bodies match the spec (or the {message} shape where the spec documents none)', async () => {
    const slug = world.projectSlugs()[0] as string;
    const org = world.collaborations()[0]?.id as string;
    const project = world.truth('project')[0] as JsonObject;
    const pipeline = world.truth('pipelines')[0] as JsonObject;
    const workflow = world.truth('workflows')[0] as JsonObject;
    const def = world.truth('pipeline_definition')[0] as JsonObject;
    const job = world.truth('jobs').find((j) => j.job_number !== undefined) as JsonObject;
    const unknownUuid = '6f1a3c2e-0d4b-4e8f-9a7c-5b2d1e0f3a4c';
    const paths: Record<CoreRouteName, string> = {
      me: '/api/v2/me',
      collaborations: '/api/v2/me/collaborations',
      contexts: `/api/v2/context?owner-id=${org}&owner-type=organization`,
      groups: `/api/v2/organizations/${org}/groups`,
      deploy_environments: `/api/v2/deploy/environments?org-id=${org}&page-size=5`,
      private_projects: `/api/private/project?organization-id=${org}&page-size=50`,
      project: `/api/v2/project/${slug}`,
      pipeline_definitions: `/api/v2/projects/${project.id as string}/pipeline-definitions`,
      triggers: `/api/v2/projects/${project.id as string}/pipeline-definitions/${def.id as string}/triggers`,
      schedules: `/api/v2/project/${slug}/schedule`,
      pipelines: `/api/v2/project/${slug}/pipeline`,
      pipeline_workflows: `/api/v2/pipeline/${pipeline.id as string}/workflow`,
      workflow: `/api/v2/workflow/${workflow.id as string}`,
      workflow_jobs: `/api/v2/workflow/${workflow.id as string}/job`,
      job_details: `/api/v2/project/${job.project_slug as string}/job/${job.job_number as number}`,
      job_tests: `/api/v2/project/${job.project_slug as string}/${job.job_number as number}/tests`,
      insights_workflows: `/api/v2/insights/${slug}/workflows?all-branches=true`,
      insights_workflow_runs: `/api/v2/insights/${slug}/workflows/build-and-test?all-branches=true`,
      insights_jobs: `/api/v2/insights/${slug}/workflows/build-and-test/jobs`,
      insights_flaky_tests: `/api/v2/insights/${slug}/flaky-tests`,
      insights_branches: `/api/v2/insights/${slug}/branches`,
      insights_org_summary: `/api/v2/insights/${world.collaborations()[0]?.slug as string}/summary`,
    };
    for (const [route, path] of Object.entries(paths) as [RouteName, string][]) {
      // 401: no token, a wrong token; the project token: 404 on project routes, else 401
      const none = await get(core, path, null);
      expect(none.status).toBe(401);
      check(none);
      const wrong = await get(core, path, 'CCIPAT_wrong');
      expect(wrong.status).toBe(401);
      check(wrong);
      const proj = await get(core, path, world.projectToken);
      expect(proj.status).toBe(routeByName(route).scope === 'project' ? 404 : 401);
      check(proj);
      // 400: a bad page token on every route that reads one
      const bad = await get(core, `${path}${path.includes('?') ? '&' : '?'}page-token=garbage`);
      if (['contexts', 'groups', 'deploy_environments', 'private_projects', 'schedules', 'pipelines', 'pipeline_workflows', 'workflow_jobs', 'job_tests'].includes(route)) {
        expect(bad.status).toBe(400);
      }
      if (['insights_workflows', 'insights_workflow_runs', 'insights_jobs'].includes(route)) expect(bad.status).toBe(400);
      check(bad);
    }
    // 404s for unknown entities
    const notFound = [
      '/api/v2/insights/gh/nobody/nothing/workflows',
      '/api/v2/insights/gh/nobody/nothing/workflows/build-and-test',
      '/api/v2/insights/gh/nobody/nothing/workflows/build-and-test/jobs',
      '/api/v2/insights/gh/nobody/nothing/flaky-tests',
      '/api/v2/insights/gh/nobody/nothing/branches',
      '/api/v2/insights/gh/nobody/summary',
      `/api/v2/context?owner-id=${unknownUuid}`,
      `/api/v2/organizations/${unknownUuid}/groups`,
      `/api/v2/deploy/environments?org-id=${unknownUuid}&page-size=5`,
      `/api/private/project?organization-id=${unknownUuid}`,
      '/api/v2/project/gh/nobody/nothing',
      `/api/v2/projects/${unknownUuid}/pipeline-definitions`,
      `/api/v2/projects/${project.id as string}/pipeline-definitions/${unknownUuid}/triggers`,
      '/api/v2/project/gh/nobody/nothing/schedule',
      '/api/v2/project/gh/nobody/nothing/pipeline',
      `/api/v2/pipeline/${unknownUuid}/workflow`,
      `/api/v2/workflow/${unknownUuid}`,
      `/api/v2/workflow/${unknownUuid}/job`,
      '/api/v2/project/gh/nobody/nothing/job/1',
      '/api/v2/project/gh/nobody/nothing/1/tests',
      `/api/v2/project/${slug}/job/999999999`,
      `/api/v2/project/${slug}/999999999/tests`,
    ];
    for (const path of notFound) {
      const res = await get(core, path);
      expect([path, res.status]).toEqual([path, 404]);
      check(res);
    }
    // 400s for malformed input
    for (const path of [
      `/api/v2/insights/${slug}/workflows?reporting-window=last-year`,
      `/api/v2/insights/${slug}/workflows?all-branches=yes`,
      `/api/v2/insights/${slug}/workflows/build-and-test?all-branches=true&branch=main`,
      `/api/v2/insights/${slug}/workflows/build-and-test?end-date=2026-10-01T00:00:00Z`,
      `/api/v2/insights/${slug}/workflows/build-and-test?start-date=yesterday`,
      `/api/v2/insights/${slug}/workflows/build-and-test?start-date=2026-01-01T00:00:00Z&end-date=2026-06-01T00:00:00Z`,
      `/api/v2/insights/${slug}/workflows/build-and-test/jobs?reporting-window=last-week`,
      `/api/v2/insights/${world.collaborations()[0]?.slug as string}/summary?reporting-window=all`,
      '/api/v2/context',
      `/api/v2/deploy/environments?org-id=${org}`,
      `/api/v2/organizations/${org}/groups?limit=0`,
      '/api/v2/pipeline/not-a-uuid/workflow',
      '/api/v2/workflow/not-a-uuid',
      '/api/v2/projects/not-a-uuid/pipeline-definitions',
      `/api/v2/project/${slug}/job/latest`,
      `/api/v2/project/${slug}/-1/tests`,
    ]) {
      const res = await get(core, path);
      expect([path, res.status]).toEqual([path, 400]);
      check(res);
    }
    // 500 for an oversized private page
    check(await get(core, `/api/private/project?organization-id=${org}&page-size=51`));
  });

  it('fault-generated JSON bodies (429, 403, 404, 5xx) match the spec for every route', async () => {
    const org = world.collaborations()[0]?.id as string;
    const pipeline = world.truth('pipelines')[0] as JsonObject;
    const c403 = createCore({ world, faults: { forbiddenGroupOrgs: [org] } });
    const forbidden = await get(c403, `/api/v2/organizations/${org}/groups`);
    expect(forbidden.status).toBe(403);
    check(forbidden);
    const c404 = createCore({ world, faults: { notFoundIds: [pipeline.id as string] } });
    const gone = await get(c404, `/api/v2/pipeline/${pipeline.id as string}/workflow`);
    expect(gone.status).toBe(404);
    check(gone);
    const c429 = createCore({ world, faults: { rateLimit: { requestsPerMinute: 0 }, serverErrors: { status: 500 } } });
    const c500 = createCore({ world, faults: { serverErrors: { status: 500 } } });
    for (const r of routes) {
      const path = r.path
        .replace('{org_id}', org)
        .replace('{project-slug}', 'gh/a/b')
        .replace(/\{[^}]+\}/g, '6f1a3c2e-0d4b-4e8f-9a7c-5b2d1e0f3a4c');
      const limited = await get(c429, path);
      expect(limited.status).toBe(429);
      expect(body(limited)).toEqual({ message: 'Rate limit exceeded.' });
      check(limited);
      const failed = await get(c500, path);
      expect(failed.status).toBe(500);
      check(failed);
    }
  });
});
