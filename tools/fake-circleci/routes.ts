// The one route table of the fake CircleCI API, shared by the node:http server and the
// msw adapter. A handler turns (request, world) into {status, headers, body}; auth and
// faults are applied around it by dispatch.ts.

import { err, isResponse, isUuid, makePageToken, ok, paginate, parsePositiveInt, readPageToken, type RouteRequest, type RouteResponse } from './route-kit.js';
import {
  handleFlakyTests,
  handleInsightsBranches,
  handleInsightsJobs,
  handleInsightsWorkflows,
  handleOrgSummary,
  handleWorkflowRuns,
} from './insights-routes.js';
import {
  listCheckoutKeys,
  listComponents,
  listComponentVersions,
  listContextEnvVars,
  listEnvVars,
  listWebhooks,
} from './inventory-routes.js';
import { createExportJob, getExportFile, getExportJob } from './usage-export-routes.js';
import { USAGE_FILES_PREFIX } from './usage-export.js';
import type { JsonObject, World } from './world.js';

export { errorBody, err, ok, isUuid, makePageToken, readPageToken, paginate, isResponse, parsePositiveInt, type RouteRequest, type RouteResponse } from './route-kit.js';

export type RouteName =
  | 'me'
  | 'collaborations'
  | 'contexts'
  | 'groups'
  | 'deploy_environments'
  | 'private_projects'
  | 'project'
  | 'pipeline_definitions'
  | 'triggers'
  | 'schedules'
  | 'pipelines'
  | 'pipeline_workflows'
  | 'workflow'
  | 'workflow_jobs'
  | 'job_details'
  | 'job_tests'
  | 'insights_workflows'
  | 'insights_workflow_runs'
  | 'insights_jobs'
  | 'insights_flaky_tests'
  | 'insights_branches'
  | 'insights_org_summary'
  | InventoryRouteName
  | UsageExportRouteName;

/** Inventory routes (inventory-routes.ts), tested in test/fake-circleci/inventory.test.ts. */
export type InventoryRouteName =
  | 'deploy_components'
  | 'deploy_component_versions'
  | 'project_envvars'
  | 'project_checkout_keys'
  | 'context_envvars'
  | 'webhooks';

/** Usage export routes (usage-export-routes.ts), tested in test/fake-circleci/usage-export.test.ts. */
export type UsageExportRouteName = 'usage_export_create' | 'usage_export_get' | 'usage_export_file';

export interface Route {
  name: RouteName;
  method: 'GET' | 'POST';
  /** Display path; `{x}` are params (`{project-slug}` may contain slashes). */
  path: string;
  /** The matching path in the OpenAPI document (without /api/v2), if documented. */
  specPath?: string;
  /**
   * `project`: a project API token gets 404 "Project not found" here. `presigned`: no
   * CircleCI auth at all, the URL carries its own signature (the usage export's files).
   */
  scope: 'user' | 'project' | 'presigned';
  regex: RegExp;
  handler: (req: RouteRequest, world: World) => RouteResponse;
}

type JobRef = NonNullable<ReturnType<World['jobByNumber']>>;

/** The job a `{project-slug}` and `{job-number}` path names, or the error answer. */
function findJob(req: RouteRequest, world: World): { job: JobRef } | RouteResponse {
  const p = world.projectBySlug(req.params.slug ?? '');
  if (!p) return err(404, 'Project not found');
  const raw = req.params.jobNumber ?? '';
  // The spec types {job-number} as nothing and documents only a default {message} error;
  // the fake answers 400 for a non-number, as it does for other malformed path params.
  if (!/^\d+$/.test(raw)) return err(400, 'Invalid job-number: must be a positive integer.');
  const job = world.jobByNumber(p, Number(raw));
  // No job with this number yet (or ever): approval jobs and jobs not started have none.
  if (!job) return err(404, 'Job not found');
  return { job };
}

// ---------------------------------------------------------------------------------------
// Route table
// ---------------------------------------------------------------------------------------

// A project slug: three path segments, or one segment with URL-encoded slashes.
const SLUG = '(?<slug>[^/]+/[^/]+/[^/]+|[^/]*%2[fF][^/]*)';
const ID = (name: string): string => `(?<${name}>[^/]+)`;

function re(pattern: string): RegExp {
  return new RegExp(`^${pattern}/?$`);
}

export const routes: readonly Route[] = [
  {
    name: 'me',
    method: 'GET',
    path: '/api/v2/me',
    specPath: '/me',
    scope: 'user',
    regex: re('/api/v2/me'),
    handler: (_req, world) => ok(world.me()),
  },
  {
    name: 'collaborations',
    method: 'GET',
    path: '/api/v2/me/collaborations',
    specPath: '/me/collaborations',
    scope: 'user',
    regex: re('/api/v2/me/collaborations'),
    handler: (_req, world) => ok(world.collaborations()),
  },
  {
    name: 'contexts',
    method: 'GET',
    path: '/api/v2/context',
    specPath: '/context',
    scope: 'user',
    regex: re('/api/v2/context'),
    handler: (req, world) => {
      const ownerId = req.query.get('owner-id');
      const ownerSlug = req.query.get('owner-slug');
      const ownerType = req.query.get('owner-type') ?? 'organization';
      if (ownerType !== 'organization' && ownerType !== 'account') {
        return err(400, 'owner-type must be one of: account, organization.');
      }
      if (!ownerId && !ownerSlug) return err(400, 'Either owner-id or owner-slug is required.');
      const org = ownerId ? world.orgById(ownerId) : world.orgBySlug(ownerSlug as string);
      if (!org || ownerType === 'account') return err(404, 'Organization does not exist.');
      return paginate(world, `contexts:${org.id}`, req.query, world.contexts(org), (c) => c.id, world.options.pageSize);
    },
  },
  {
    name: 'groups',
    method: 'GET',
    path: '/api/v2/organizations/{org_id}/groups',
    specPath: '/organizations/{org_id}/groups',
    scope: 'user',
    regex: re(`/api/v2/organizations/${ID('orgId')}/groups`),
    handler: (req, world) => {
      const org = world.orgById(req.params.orgId ?? '');
      if (!org) return err(404, 'Organization does not exist.');
      const limit = parsePositiveInt(req.query, 'limit', world.options.pageSize);
      if (isResponse(limit)) return limit;
      return paginate(world, `groups:${org.id}`, req.query, world.groups(org), (g) => g.id, Math.min(limit ?? 20, 100));
    },
  },
  {
    name: 'deploy_environments',
    method: 'GET',
    path: '/api/v2/deploy/environments',
    specPath: '/deploy/environments',
    scope: 'user',
    regex: re('/api/v2/deploy/environments'),
    handler: (req, world) => {
      const orgId = req.query.get('org-id');
      if (!orgId) return err(400, 'org-id is required.');
      const size = parsePositiveInt(req.query, 'page-size', undefined);
      if (isResponse(size)) return size;
      if (size === undefined) return err(400, 'page-size is required.');
      const org = world.orgById(orgId);
      if (!org) return err(404, 'Organization does not exist.');
      return paginate(world, `deploy:${org.id}`, req.query, world.environments(org), (e) => e.id, Math.min(size, 100));
    },
  },
  {
    name: 'private_projects',
    method: 'GET',
    path: '/api/private/project',
    scope: 'user',
    regex: re('/api/private/project'),
    handler: (req, world) => {
      const orgId = req.query.get('organization-id');
      if (!orgId) return err(400, 'organization-id is required.');
      const size = parsePositiveInt(req.query, 'page-size', world.options.pageSize);
      if (isResponse(size)) return size;
      if ((size ?? 0) > 50) return err(500, 'Internal server error.');
      const org = world.orgById(orgId);
      if (!org) return err(404, 'Organization does not exist.');
      const items = org.projects.map((p) => world.privateProjectItem(p));
      return paginate(world, `private_projects:${org.id}`, req.query, items, (p) => p.id as string, size ?? 20);
    },
  },
  {
    name: 'pipeline_definitions',
    method: 'GET',
    path: '/api/v2/projects/{project_id}/pipeline-definitions',
    specPath: '/projects/{project_id}/pipeline-definitions',
    scope: 'project',
    regex: re(`/api/v2/projects/${ID('projectId')}/pipeline-definitions`),
    handler: (req, world) => {
      const id = req.params.projectId ?? '';
      if (!isUuid(id)) return err(400, 'Invalid project_id: must be a UUID.');
      const p = world.projectById(id);
      if (!p) return err(404, 'Project not found');
      return ok({ items: world.definitions(p) });
    },
  },
  {
    name: 'triggers',
    method: 'GET',
    path: '/api/v2/projects/{project_id}/pipeline-definitions/{pipeline_definition_id}/triggers',
    specPath: '/projects/{project_id}/pipeline-definitions/{pipeline_definition_id}/triggers',
    scope: 'project',
    regex: re(`/api/v2/projects/${ID('projectId')}/pipeline-definitions/${ID('definitionId')}/triggers`),
    handler: (req, world) => {
      const id = req.params.projectId ?? '';
      const defId = req.params.definitionId ?? '';
      if (!isUuid(id)) return err(400, 'Invalid project_id: must be a UUID.');
      if (!isUuid(defId)) return err(400, 'Invalid pipeline_definition_id: must be a UUID.');
      const p = world.projectById(id);
      if (!p) return err(404, 'Project not found');
      const def = world.definitionById(p, defId);
      if (!def) return err(404, 'Pipeline definition not found');
      return ok({ items: world.triggers(def) });
    },
  },
  {
    name: 'schedules',
    method: 'GET',
    path: '/api/v2/project/{project-slug}/schedule',
    specPath: '/project/{project-slug}/schedule',
    scope: 'project',
    regex: re(`/api/v2/project/${SLUG}/schedule`),
    handler: (req, world) => {
      const p = world.projectBySlug(req.params.slug ?? '');
      if (!p) return err(404, 'Project not found');
      return paginate(world, `schedules:${p.id}`, req.query, world.schedules(p), (s) => s.id, world.options.pageSize);
    },
  },
  {
    name: 'pipelines',
    method: 'GET',
    path: '/api/v2/project/{project-slug}/pipeline',
    specPath: '/project/{project-slug}/pipeline',
    scope: 'project',
    regex: re(`/api/v2/project/${SLUG}/pipeline`),
    handler: (req, world) => {
      const p = world.projectBySlug(req.params.slug ?? '');
      if (!p) return err(404, 'Project not found');
      const branch = req.query.get('branch') || undefined;
      const scope = `pipelines:${p.id}:${branch ?? ''}`;
      const tok = readPageToken(world, scope, req.query);
      if (!tok.ok) return tok.response;
      const count = world.pipelineCount(p);
      let n = count;
      if (tok.cursor !== undefined) {
        const c = Number(tok.cursor);
        if (!Number.isInteger(c) || c < 1 || c > count) return err(404, 'Page token not found or expired.');
        n = c - 1;
      }
      const size = world.options.pageSize;
      const items: JsonObject[] = [];
      let last = 0;
      for (; n >= 1 && items.length < size; n--) {
        if (branch !== undefined && world.pipelineBranch(p, n) !== branch) continue;
        items.push(world.pipelineRecord(p, n));
        last = n;
      }
      // Is there anything left below the last item?
      let more = false;
      for (let m = last - 1; m >= 1 && items.length === size; m--) {
        if (branch === undefined || world.pipelineBranch(p, m) === branch) {
          more = true;
          break;
        }
      }
      return ok({ items, next_page_token: more ? makePageToken(world, scope, String(last)) : null });
    },
  },
  // Before `project`: its three-segment slug pattern would also match an encoded slug
  // followed by `job/{n}` or `{n}/tests`.
  {
    name: 'job_details',
    method: 'GET',
    path: '/api/v2/project/{project-slug}/job/{job-number}',
    specPath: '/project/{project-slug}/job/{job-number}',
    scope: 'project',
    regex: re(`/api/v2/project/${SLUG}/job/${ID('jobNumber')}`),
    handler: (req, world) => {
      const found = findJob(req, world);
      if (isResponse(found)) return found;
      const { meta, index } = found.job;
      return ok(world.jobDetailsRecords(meta)[index] as JsonObject);
    },
  },
  {
    name: 'job_tests',
    method: 'GET',
    path: '/api/v2/project/{project-slug}/{job-number}/tests',
    specPath: '/project/{project-slug}/{job-number}/tests',
    scope: 'project',
    regex: re(`/api/v2/project/${SLUG}/${ID('jobNumber')}/tests`),
    handler: (req, world) => {
      const found = findJob(req, world);
      if (isResponse(found)) return found;
      const { meta, index } = found.job;
      const scope = `tests:${meta.p.id}:${req.params.jobNumber ?? ''}`;
      // Position keys: a suite may list the same test twice.
      return paginate(world, scope, req.query, world.testItems(meta, index), (_t, i) => String(i), world.options.pageSize);
    },
  },
  {
    name: 'project',
    method: 'GET',
    path: '/api/v2/project/{project-slug}',
    specPath: '/project/{project-slug}',
    scope: 'project',
    regex: re(`/api/v2/project/${SLUG}`),
    handler: (req, world) => {
      const p = world.projectBySlug(req.params.slug ?? '');
      if (!p) return err(404, 'Project not found');
      return ok(world.projectRecord(p));
    },
  },
  {
    name: 'pipeline_workflows',
    method: 'GET',
    path: '/api/v2/pipeline/{pipeline-id}/workflow',
    specPath: '/pipeline/{pipeline-id}/workflow',
    scope: 'project',
    regex: re(`/api/v2/pipeline/${ID('pipelineId')}/workflow`),
    handler: (req, world) => {
      const id = req.params.pipelineId ?? '';
      if (!isUuid(id)) return err(400, 'Invalid pipeline-id: must be a UUID.');
      const ref = world.pipelineById(id);
      if (!ref) return err(404, 'Pipeline not found');
      const items = world.workflowsOfPipeline(ref.project, ref.number).map((m) => world.workflowRecord(m));
      return paginate(world, `workflows:${id}`, req.query, items, (w) => w.id as string, world.options.pageSize);
    },
  },
  {
    name: 'workflow_jobs',
    method: 'GET',
    path: '/api/v2/workflow/{id}/job',
    specPath: '/workflow/{id}/job',
    scope: 'project',
    regex: re(`/api/v2/workflow/${ID('workflowId')}/job`),
    handler: (req, world) => {
      const id = req.params.workflowId ?? '';
      if (!isUuid(id)) return err(400, 'Invalid id: must be a UUID.');
      const m = world.workflowById(id);
      if (!m) return err(404, 'Workflow not found');
      return paginate(world, `jobs:${id}`, req.query, world.jobRecords(m), (j) => j.id as string, world.options.pageSize);
    },
  },
  {
    name: 'workflow',
    method: 'GET',
    path: '/api/v2/workflow/{id}',
    specPath: '/workflow/{id}',
    scope: 'project',
    regex: re(`/api/v2/workflow/${ID('workflowId')}`),
    handler: (req, world) => {
      const id = req.params.workflowId ?? '';
      if (!isUuid(id)) return err(400, 'Invalid id: must be a UUID.');
      const m = world.workflowById(id);
      if (!m) return err(404, 'Workflow not found');
      return ok(world.workflowRecord(m));
    },
  },
  // Insights (handlers in insights-routes.ts). Runs before summaries: `.../workflows/{name}`
  // must not be read as a project slug followed by more path.
  {
    name: 'insights_workflow_runs',
    method: 'GET',
    path: '/api/v2/insights/{project-slug}/workflows/{workflow-name}',
    specPath: '/insights/{project-slug}/workflows/{workflow-name}',
    scope: 'project',
    regex: re(`/api/v2/insights/${SLUG}/workflows/${ID('workflowName')}`),
    handler: handleWorkflowRuns,
  },
  {
    name: 'insights_jobs',
    method: 'GET',
    path: '/api/v2/insights/{project-slug}/workflows/{workflow-name}/jobs',
    specPath: '/insights/{project-slug}/workflows/{workflow-name}/jobs',
    scope: 'project',
    regex: re(`/api/v2/insights/${SLUG}/workflows/${ID('workflowName')}/jobs`),
    handler: handleInsightsJobs,
  },
  {
    name: 'insights_workflows',
    method: 'GET',
    path: '/api/v2/insights/{project-slug}/workflows',
    specPath: '/insights/{project-slug}/workflows',
    scope: 'project',
    regex: re(`/api/v2/insights/${SLUG}/workflows`),
    handler: handleInsightsWorkflows,
  },
  {
    name: 'insights_flaky_tests',
    method: 'GET',
    path: '/api/v2/insights/{project-slug}/flaky-tests',
    specPath: '/insights/{project-slug}/flaky-tests',
    scope: 'project',
    regex: re(`/api/v2/insights/${SLUG}/flaky-tests`),
    handler: handleFlakyTests,
  },
  {
    name: 'insights_branches',
    method: 'GET',
    path: '/api/v2/insights/{project-slug}/branches',
    specPath: '/insights/{project-slug}/branches',
    scope: 'project',
    regex: re(`/api/v2/insights/${SLUG}/branches`),
    handler: handleInsightsBranches,
  },
  {
    // `{org-slug}` is `vcs/org` (or `circleci/<org-id>`), `/` possibly URL-escaped.
    name: 'insights_org_summary',
    method: 'GET',
    path: '/api/v2/insights/{org-slug}/summary',
    specPath: '/insights/{org-slug}/summary',
    scope: 'user',
    regex: re('/api/v2/insights/(?<orgSlug>[^/]+(?:/[^/]+)?)/summary'),
    handler: handleOrgSummary,
  },
  // Inventory (inventory-routes.ts)
  {
    name: 'deploy_components',
    method: 'GET',
    path: '/api/v2/deploy/components',
    specPath: '/deploy/components',
    scope: 'user',
    regex: re('/api/v2/deploy/components'),
    handler: (req, world) => listComponents(req, world),
  },
  {
    name: 'deploy_component_versions',
    method: 'GET',
    path: '/api/v2/deploy/components/{component_id}/versions',
    specPath: '/deploy/components/{component_id}/versions',
    scope: 'user',
    regex: re(`/api/v2/deploy/components/${ID('componentId')}/versions`),
    handler: (req, world) => listComponentVersions(req, world),
  },
  {
    name: 'project_envvars',
    method: 'GET',
    path: '/api/v2/project/{project-slug}/envvar',
    specPath: '/project/{project-slug}/envvar',
    scope: 'project',
    regex: re(`/api/v2/project/${SLUG}/envvar`),
    handler: (req, world) => listEnvVars(req, world),
  },
  {
    name: 'project_checkout_keys',
    method: 'GET',
    path: '/api/v2/project/{project-slug}/checkout-key',
    specPath: '/project/{project-slug}/checkout-key',
    scope: 'project',
    regex: re(`/api/v2/project/${SLUG}/checkout-key`),
    handler: (req, world) => listCheckoutKeys(req, world),
  },
  {
    name: 'context_envvars',
    method: 'GET',
    path: '/api/v2/context/{context_id}/environment-variable',
    specPath: '/context/{context_id}/environment-variable',
    scope: 'user',
    regex: re(`/api/v2/context/${ID('contextId')}/environment-variable`),
    handler: (req, world) => listContextEnvVars(req, world),
  },
  {
    name: 'webhooks',
    method: 'GET',
    path: '/api/v2/webhook',
    specPath: '/webhook',
    scope: 'user',
    regex: re('/api/v2/webhook'),
    handler: (req, world) => listWebhooks(req, world),
  },
  // Usage export (usage-export-routes.ts)
  {
    name: 'usage_export_create',
    method: 'POST',
    path: '/api/v2/organizations/{org_id}/usage_export_job',
    specPath: '/organizations/{org_id}/usage_export_job',
    scope: 'user',
    regex: re(`/api/v2/organizations/${ID('orgId')}/usage_export_job`),
    handler: (req, world) => createExportJob(req, world),
  },
  {
    name: 'usage_export_get',
    method: 'GET',
    path: '/api/v2/organizations/{org_id}/usage_export_job/{usage_export_job_id}',
    specPath: '/organizations/{org_id}/usage_export_job/{usage_export_job_id}',
    scope: 'user',
    regex: re(`/api/v2/organizations/${ID('orgId')}/usage_export_job/${ID('jobId')}`),
    handler: (req, world) => getExportJob(req, world),
  },
  {
    name: 'usage_export_file',
    method: 'GET',
    path: `${USAGE_FILES_PREFIX}/{usage_export_job_id}/{n}.csv.gz`,
    scope: 'presigned',
    regex: re(`${USAGE_FILES_PREFIX}/${ID('jobId')}/(?<file>\\d+)\\.csv\\.gz`),
    handler: (req, world) => getExportFile(req, world),
  },
];

export const ROUTE_NAMES: readonly RouteName[] = routes.map((r) => r.name);

export const INVENTORY_ROUTE_NAMES: readonly InventoryRouteName[] = [
  'deploy_components',
  'deploy_component_versions',
  'project_envvars',
  'project_checkout_keys',
  'context_envvars',
  'webhooks',
];
export const USAGE_EXPORT_ROUTE_NAMES: readonly UsageExportRouteName[] = ['usage_export_create', 'usage_export_get', 'usage_export_file'];

export function routeByName(name: RouteName): Route {
  const r = routes.find((x) => x.name === name);
  if (!r) throw new Error(`unknown route ${name}`);
  return r;
}

/** Match a method and a raw (not decoded) pathname against the route table. */
export function matchRoute(method: string, pathname: string): { route: Route; params: Record<string, string> } | undefined {
  for (const route of routes) {
    if (route.method !== method.toUpperCase()) continue;
    const m = route.regex.exec(pathname);
    if (!m) continue;
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(m.groups ?? {})) {
      try {
        params[k] = decodeURIComponent(v);
      } catch {
        params[k] = v;
      }
    }
    return { route, params };
  }
  return undefined;
}
