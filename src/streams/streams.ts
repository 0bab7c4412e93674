import { ApiError } from '../http/api-error.js';
import { ConnectorError } from '../errors.js';
import type { Query } from '../http/client.js';
import { parseApiTime } from '../config/dates.js';
import { forEachConcurrent } from '../util/concurrency.js';
import { defineStream, fillPath, slugParam, text, type AddedField, type AnyStreamDeclaration, type ApiRecord, type ListContext, type Listing } from './declaration.js';
import type { StreamName } from './schemas/types.js';
import { StreamGraph } from './graph.js';
import { INVENTORY_STREAMS } from './inventory.js';
import { hasTriggers } from './trigger-support.js';
import { ALL_BRANCHES, INSIGHTS_STREAMS, metricsQuery } from './insights.js';
import { PER_PROJECT_ROOT } from './scope.js';
import { validateStreams } from './validate.js';
import { visibleProjects, type ScopedProject } from '../scope/scope.js';
import { collaborationRecords, COLLABORATIONS } from '../scope/listing.js';
import { usage } from './usage.js';

/**
 * Every stream of the connector. Organization-wide streams hang under `collaborations`
 * (one record per organization the token can see); the project stream, and everything
 * below it, covers every project the token can see (`visibleProjects`), as organization
 * streams do; pipelines and everything below them cover the projects in scope
 * (`scopedProjects`: project_slugs less the excludes). Shards split both (src/scope).
 */

const ORGANIZATION_ID: AddedField = { description: 'Injected by the connector: the UUID of the organization.' };
const PROJECT_ID: AddedField = { description: 'Injected by the connector: the UUID of the project.' };
const WORKFLOW_ID: AddedField = { description: 'Injected by the connector: the UUID of the workflow the job belongs to.' };
const WORKFLOW_CREATED_AT: AddedField = {
  description: 'Injected by the connector: the creation time of the workflow the job belongs to.',
  format: 'date-time',
};

const collaborations = defineStream({
  name: 'collaborations',
  primaryKey: ['id'],
  parent: null,
  endpoint: { path: COLLABORATIONS, shape: 'array' },
  // The answer the project listings use too (src/scope/listing.ts): asked once per run.
  list: listCollaborations,
});

const organizationId = (_item: ApiRecord, org: ApiRecord) => ({ organization_id: org.id });

const context = defineStream({
  name: 'context',
  primaryKey: ['id', 'organization_id'],
  parent: 'collaborations',
  endpoint: { path: '/context', shape: 'pages' },
  query: (org) => ({ 'owner-id': text(org.id), 'owner-type': 'organization' }),
  adds: { organization_id: ORGANIZATION_ID },
  enrich: organizationId,
});

const groups = defineStream({
  name: 'groups',
  primaryKey: ['id', 'organization_id'],
  parent: 'collaborations',
  endpoint: { path: '/organizations/{org_id}/groups', shape: 'pages' },
  params: (org) => ({ org_id: text(org.id) }),
  query: (_org, config) => ({ limit: config.pageSize }),
  adds: { organization_id: ORGANIZATION_ID },
  enrich: organizationId,
  forbidden: "listing groups needs organization admin rights; use an organization admin's token, or deselect the stream",
});

const deploy = defineStream({
  name: 'deploy',
  primaryKey: ['id', 'organization_id'],
  cursor: 'updated_at',
  parent: 'collaborations',
  endpoint: { path: '/deploy/environments', shape: 'pages' },
  query: (org, config) => ({ 'org-id': text(org.id), 'page-size': config.pageSize }),
  adds: { organization_id: ORGANIZATION_ID },
  enrich: organizationId,
  partition: { kind: 'organizations', key: (org) => text(org.id) },
});

const project = defineStream({
  name: 'project',
  // organization_id is part of the response body.
  primaryKey: ['id', 'organization_id'],
  // A root: a configured project whose organization is not one of the user's is read too.
  parent: null,
  endpoint: { path: '/project/{project-slug}', shape: 'single' },
  list: listVisibleProjects,
  scoped: true,
});

const pipelineDefinition = defineStream({
  name: 'pipeline_definition',
  primaryKey: ['id', 'project_id', 'organization_id'],
  parent: 'project',
  endpoint: { path: '/projects/{project_id}/pipeline-definitions', shape: 'pages' },
  params: (proj) => ({ project_id: text(proj.id) }),
  adds: { project_id: PROJECT_ID, organization_id: ORGANIZATION_ID },
  enrich: (_item, proj) => ({ project_id: proj.id, organization_id: proj.organization_id }),
});

const trigger = defineStream({
  name: 'trigger',
  primaryKey: ['id', 'project_id', 'pipeline_definition_id', 'organization_id'],
  parent: 'pipeline_definition',
  endpoint: { path: '/projects/{project_id}/pipeline-definitions/{pipeline_definition_id}/triggers', shape: 'pages' },
  params: (definition) => ({ project_id: text(definition.project_id), pipeline_definition_id: text(definition.id) }),
  // The spec lists triggers only for github_app and bitbucket_dc definitions.
  when: hasTriggers,
  // A webhook trigger's URL carries its secret.
  sanitize: { urls: ['event_source.webhook.url'] },
  adds: {
    project_id: PROJECT_ID,
    pipeline_definition_id: { description: 'Injected by the connector: the UUID of the pipeline definition.' },
    organization_id: ORGANIZATION_ID,
  },
  enrich: (_item, definition) => ({
    project_id: definition.project_id,
    pipeline_definition_id: definition.id,
    organization_id: definition.organization_id,
  }),
});

const schedule = defineStream({
  name: 'schedule',
  primaryKey: ['id', 'project-slug'],
  cursor: 'updated-at',
  parent: 'project',
  endpoint: { path: '/project/{project-slug}/schedule', shape: 'pages' },
  params: (proj) => ({ 'project-slug': slugParam(proj.slug) }),
  partition: { kind: 'projects', key: (proj) => text(proj.slug) },
});

/** Statuses after which a workflow (and its jobs) no longer changes. */
const UNFINISHED_WORKFLOW_STATUSES = new Set(['running', 'failing', 'on_hold']);

const pipelines = defineStream({
  name: 'pipelines',
  primaryKey: ['id'],
  cursor: 'updated_at',
  parent: null,
  ...PER_PROJECT_ROOT,
  endpoint: { path: '/project/{project-slug}/pipeline', shape: 'pages' },
  params: (configured) => ({ 'project-slug': slugParam(configured.slug) }),
  // The spec does not require updated_at: a pipeline never updated was last changed when created.
  sanitize: { fallbacks: { updated_at: 'created_at' } },
  partition: { kind: 'projects', key: (configured) => text(configured.slug) },
  notFound: (configured, path) =>
    `project ${text(configured.slug)} answered 404 (GET ${path}); nothing was read for it. Check the slug in project_slugs and that the token's user can see the project.`,
  newestFirst: {
    // The latest moment a pipeline changed.
    changedAt: (pipeline) => {
      const updated = parseApiTime(pipeline.updated_at);
      const created = parseApiTime(pipeline.created_at);
      if (updated === undefined) return created;
      return created === undefined ? updated : Math.max(updated, created);
    },
    position: (pipeline) => (typeof pipeline.number === 'number' && Number.isInteger(pipeline.number) ? pipeline.number : undefined),
    // CircleCI numbers a project's pipelines 1, 2, 3, … as they are triggered.
    sequential: true,
    // A new pipeline, workflow or rerun moves it once one of its jobs finishes (see README: what it misses).
    lastActivity: (project) => (typeof project.last_build_finished_at === 'string' ? project.last_build_finished_at : undefined),
  },
});

const workflows = defineStream({
  name: 'workflows',
  primaryKey: ['id'],
  cursor: 'created_at',
  parent: 'pipelines',
  endpoint: { path: '/pipeline/{pipeline-id}/workflow', shape: 'pages' },
  params: (pipeline) => ({ 'pipeline-id': text(pipeline.id) }),
  follow: {
    isFinal: (workflow) => !UNFINISHED_WORKFLOW_STATUSES.has(text(workflow.status)),
    reread: '/workflow/{id}',
    lookbackMs: (config) => config.workflowLookbackHours * 3600_000,
    discover: {
      // The insights_workflows and insights_workflow_runs streams' requests.
      groups: (configured, context) =>
        insightsPages(fillPath(INSIGHTS_STREAMS.insights_workflows.endpoint.path, { 'project-slug': slugParam(configured.slug) }), metricsQuery(), context),
      groupOf: (item) => text(item.name),
      // The spec: summary metrics are refreshed daily and may miss the last 24 hours.
      groupsDelayMs: 24 * 3600_000,
      refused: (hours) =>
        `CircleCI Insights is not available to the token's user here; reruns are looked for only under pipelines updated within ` +
        `${hours} h before the last sync (workflow_lookback_hours, one request per pipeline), and reruns of older pipelines are missed`,
      // Recent runs: completed runs only (the spec's status enum), reruns included, 90 days at most.
      recent: (configured, name, since, context) =>
        insightsPages(
          fillPath(INSIGHTS_STREAMS.insights_workflow_runs.endpoint.path, { 'project-slug': slugParam(configured.slug), 'workflow-name': name }),
          { ...ALL_BRANCHES, 'start-date': since },
          context,
        ),
    },
  },
});

const jobs = defineStream({
  name: 'jobs',
  primaryKey: ['id', '_workflow_id'],
  cursor: '_workflow_created_at',
  parent: 'workflows',
  // The job list carries next_page_token although the spec lists no page-token parameter.
  endpoint: { path: '/workflow/{id}/job', shape: 'pages' },
  params: (workflow) => ({ id: text(workflow.id) }),
  adds: {
    _workflow_id: WORKFLOW_ID,
    _workflow_created_at: WORKFLOW_CREATED_AT,
    _pipeline_id: { description: 'Injected by the connector: the UUID of the pipeline the job belongs to.' },
  },
  enrich: (_item, workflow) => ({ _workflow_id: workflow.id, _workflow_created_at: workflow.created_at, _pipeline_id: workflow.pipeline_id }),
});

const JOB_ID: AddedField = { description: 'Injected by the connector: the UUID of the job (its id in the workflow\'s job list).' };
/** Approval jobs have no job number, and nothing to read under it. */
const hasJobNumber = (job: ApiRecord): boolean => job.job_number !== undefined && job.job_number !== null;
const jobPath = (job: ApiRecord) => ({ 'project-slug': slugParam(job.project_slug), 'job-number': text(job.job_number) });

const jobDetails = defineStream({
  name: 'job_details',
  primaryKey: ['_job_id'],
  cursor: '_workflow_created_at',
  parent: 'jobs',
  endpoint: { path: '/project/{project-slug}/job/{job-number}', shape: 'single' },
  params: jobPath,
  when: hasJobNumber,
  adds: { _job_id: JOB_ID, _workflow_id: WORKFLOW_ID, _workflow_created_at: WORKFLOW_CREATED_AT },
  enrich: (_item, job) => ({ _job_id: job.id, _workflow_id: job._workflow_id, _workflow_created_at: job._workflow_created_at }),
});

const tests = defineStream({
  name: 'tests',
  primaryKey: ['_job_id', '_test_key'],
  cursor: '_workflow_created_at',
  parent: 'jobs',
  endpoint: { path: '/project/{project-slug}/{job-number}/tests', shape: 'pages' },
  params: jobPath,
  when: hasJobNumber,
  adds: {
    _job_id: JOB_ID,
    _job_number: { description: 'Injected by the connector: the number of the job.', type: 'integer' },
    _workflow_id: WORKFLOW_ID,
    _workflow_created_at: WORKFLOW_CREATED_AT,
    project_slug: { description: 'Injected by the connector: the slug of the project.' },
    _test_key: {
      description:
        'Injected by the connector: file::classname::name of the test, with #k appended to the k-th (k ≥ 2) result of the same triple in the job, in listing order.',
    },
  },
  enrich: (test, job, listing) => ({
    _job_id: job.id,
    _job_number: job.job_number,
    _workflow_id: job._workflow_id,
    _workflow_created_at: job._workflow_created_at,
    project_slug: job.project_slug,
    _test_key: testKey(test, listing),
  }),
});

/**
 * An Insights listing. A 404 there means Insights is not available (CircleCI Server, a
 * plan without it), not "nothing": it is thrown, so the reader falls back.
 */
function insightsPages(path: string, query: Query, context: ListContext): AsyncIterable<ApiRecord[]> {
  return context.client.pages<ApiRecord>(path, query, () => {
    throw new ApiError(`CircleCI answered 404 on GET ${path}`, 'config_error', `GET ${path}`, 404);
  });
}

/**
 * A test result's key within its job: stable across syncs (a finished job's results do not
 * change, nor their order) and unique when a suite reports the same test more than once.
 */
function testKey(test: ApiRecord, listing: Listing): string {
  const part = (value: unknown) => (value === undefined || value === null ? '' : String(value));
  const base = `${part(test.file)}::${part(test.classname)}::${part(test.name)}`;
  const occurrence = listing.occurrence(base);
  return occurrence === 1 ? base : `${base}#${occurrence}`;
}

export const STREAMS: Readonly<Record<StreamName, AnyStreamDeclaration>> = validateStreams({
  collaborations,
  context,
  deploy,
  groups,
  job_details: jobDetails,
  jobs,
  pipeline_definition: pipelineDefinition,
  pipelines,
  project,
  schedule,
  tests,
  trigger,
  workflows,
  usage,
  ...INVENTORY_STREAMS,
  ...INSIGHTS_STREAMS,
});

export const STREAM_GRAPH = new StreamGraph(STREAMS);

/** The organizations of the token's user: a 404 is empty, said as every listing's is; anything but a list is an API we do not know. */
async function* listCollaborations(_root: ApiRecord, context: ListContext): AsyncIterable<ApiRecord[]> {
  const orgs = await collaborationRecords(context);
  if (orgs === undefined) {
    context.log('INFO', `collaborations: GET /api/v2${COLLABORATIONS} answered 404; read as empty`);
    return;
  }
  if (!Array.isArray(orgs)) throw new ConnectorError(`Stream collaborations: CircleCI answered GET /api/v2${COLLABORATIONS} without a list; the API may have changed.`, 'system_error');
  yield orgs;
}

/**
 * This shard's share of every project the token can see (src/scope: every organization's
 * listing, and the configured slugs), with `GET /project/{slug}` for each, which carries
 * the ids the child streams need.
 */
async function* listVisibleProjects(_root: ApiRecord, context: ListContext): AsyncIterable<ApiRecord[]> {
  yield await projectDetails(await visibleProjects(context), context);
}

/**
 * `GET /project/{slug}` for each project, several at a time (one round trip per slug made
 * in turn is what a large organization would wait for; the governor still caps what is
 * in flight), in the order of `projects`. A project that answers 404 is left out with a
 * log line, once all are in. The first other failure is thrown once the requests under
 * way have settled; no further one is started after it, nor after the read was aborted.
 */
async function projectDetails(projects: readonly ScopedProject[], context: ListContext): Promise<ApiRecord[]> {
  const details = new Array<ApiRecord | undefined>(projects.length);
  await forEachConcurrent(projects, context.config.maxConcurrency, async (proj, index) => {
    context.signal?.throwIfAborted();
    details[index] = await context.client.get<ApiRecord>(fillPath(project.endpoint.path, { 'project-slug': slugParam(proj.slug) }));
  });
  const found: ApiRecord[] = [];
  projects.forEach((proj, index) => {
    const detail = details[index];
    if (detail !== undefined) found.push(detail);
    else context.log('INFO', `project ${proj.slug} answers 404; the project stream and those under it skip it`);
  });
  return found;
}
