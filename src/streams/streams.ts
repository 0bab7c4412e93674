import { ApiError } from '../http/api-error.js';
import type { CircleCiClient } from '../http/client.js';
import { forEachConcurrent } from '../read/concurrency.js';
import { slugPath, text, v2, type ApiRecord, type ListContext, type StreamDeclaration } from './declaration.js';
import type { StreamName } from './schemas/index.js';
import { filledFrom } from './fallbacks.js';
import { redactSecrets } from './redact.js';
import { hasTriggers } from './trigger-support.js';

/**
 * The eleven streams. Organization-wide streams hang under `collaborations` (one record
 * per organization the token can see); pipelines, workflows and jobs cover the
 * configured project slugs only.
 */

const collaborations: StreamDeclaration = {
  name: 'collaborations',
  primaryKey: ['id'],
  parent: null,
  request: () => ({ path: v2`/me/collaborations`, bareArray: true }),
};

const organizationId = (item: ApiRecord, org: ApiRecord): ApiRecord => ({ ...item, organization_id: org.id });

const context: StreamDeclaration = {
  name: 'context',
  primaryKey: ['id', 'organization_id'],
  parent: 'collaborations',
  request: (org) => ({ path: v2`/context`, query: { 'owner-id': text(org.id), 'owner-type': 'organization' } }),
  enrich: organizationId,
};

const groups: StreamDeclaration = {
  name: 'groups',
  primaryKey: ['id', 'organization_id'],
  parent: 'collaborations',
  request: (org, config) => ({ path: v2`/organizations/${org.id}/groups`, query: { limit: config.pageSize } }),
  enrich: organizationId,
  // Listing groups needs organization admin rights; other organizations still sync.
  skipParentOnForbidden: 'listing groups needs organization admin rights',
};

const deploy: StreamDeclaration = {
  name: 'deploy',
  primaryKey: ['id', 'organization_id'],
  cursor: 'updated_at',
  parent: 'collaborations',
  request: (org, config) => ({ path: v2`/deploy/environments`, query: { 'org-id': text(org.id), 'page-size': config.pageSize } }),
  enrich: organizationId,
  partition: (org) => text(org.id),
};

/** Largest page the private project listing accepts; larger sizes answer 500. */
const PRIVATE_PROJECT_PAGE_SIZE = 50;

const project: StreamDeclaration = {
  name: 'project',
  primaryKey: ['id', 'organization_id'],
  parent: 'collaborations',
  list: listOrganizationProjects,
};

const pipelineDefinition: StreamDeclaration = {
  name: 'pipeline_definition',
  primaryKey: ['id', 'project_id', 'organization_id'],
  parent: 'project',
  request: (proj) => ({ path: v2`/projects/${proj.id}/pipeline-definitions` }),
  enrich: (item, proj) => ({ ...item, project_id: proj.id, organization_id: proj.organization_id }),
};

const trigger: StreamDeclaration = {
  name: 'trigger',
  primaryKey: ['id', 'project_id', 'pipeline_definition_id', 'organization_id'],
  parent: 'pipeline_definition',
  when: hasTriggers, // issue #13: only providers the spec lists for triggers
  request: (definition) => ({ path: v2`/projects/${definition.project_id}/pipeline-definitions/${definition.id}/triggers` }),
  enrich: (item, definition) => ({
    ...redactSecrets(item), // issue #13: webhook secrets never leave the connector
    project_id: definition.project_id,
    pipeline_definition_id: definition.id,
    organization_id: definition.organization_id,
  }),
};

const schedule: StreamDeclaration = {
  name: 'schedule',
  primaryKey: ['id', 'project-slug'],
  cursor: 'updated-at',
  parent: 'project',
  request: (proj) => ({ path: `/api/v2/project/${slugPath(text(proj.slug))}/schedule` }),
  partition: (proj) => text(proj.slug),
};

const pipelines: StreamDeclaration = {
  name: 'pipelines',
  primaryKey: ['id'],
  cursor: 'updated_at',
  parent: null,
  request: (configured) => ({ path: `/api/v2/project/${slugPath(text(configured.slug))}/pipeline` }),
  enrich: filledFrom('updated_at', 'created_at'), // issue #13: the spec does not require updated_at
  partition: (configured) => text(configured.slug),
};

const workflows: StreamDeclaration = {
  name: 'workflows',
  primaryKey: ['id'],
  cursor: 'created_at',
  parent: 'pipelines',
  request: (pipeline) => ({ path: v2`/pipeline/${pipeline.id}/workflow` }),
};

const jobs: StreamDeclaration = {
  name: 'jobs',
  primaryKey: ['id', '_workflow_id'],
  cursor: '_workflow_created_at',
  parent: 'workflows',
  // The job list carries next_page_token although the spec lists no page-token parameter.
  request: (workflow) => ({ path: v2`/workflow/${workflow.id}/job` }),
  enrich: (item, workflow) => ({ ...item, _workflow_id: workflow.id, _workflow_created_at: workflow.created_at }),
};

export const STREAMS: Record<StreamName, StreamDeclaration> = {
  collaborations,
  context,
  deploy,
  groups,
  jobs,
  pipeline_definition: pipelineDefinition,
  pipelines,
  project,
  schedule,
  trigger,
  workflows,
};

/**
 * Projects of one organization: the private listing (the only way to enumerate an
 * organization's projects), then `GET /project/{slug}` for each, which carries the ids
 * the child streams need. Where the listing does not exist or is refused (CircleCI Server,
 * older installs) the configured slugs stand in, once per run.
 */
async function* listOrganizationProjects(org: ApiRecord, context: ListContext): AsyncIterable<ApiRecord[]> {
  const listing = context.client.pages<ApiRecord>(
    '/api/private/project',
    { 'organization-id': text(org.id), 'page-size': PRIVATE_PROJECT_PAGE_SIZE },
    // issue #13: a 404 (no such listing here) takes the fallback below like any other failure
    () => {
      throw new ApiError('GET /api/private/project answered 404', 'transient_error', 'GET /api/private/project', 404);
    },
  );
  try {
    for await (const page of listing) {
      const slugs = page.map((item) => text(item.slug));
      yield await projectDetails(slugs, context, (slug) => context.log('INFO', `project ${slug} is listed but answers 404; skipped`));
    }
  } catch (error) {
    // The read is ending (a fatal error here or elsewhere): no fallback requests.
    if (context.signal?.aborted) throw error;
    if (!(error instanceof ApiError) || error.status === undefined || error.status === 401) throw error;
    const configured = await configuredProjects(context);
    yield configured.filter((proj) => proj.organization_id === org.id);
  }
}

const fallbackCache = new WeakMap<CircleCiClient, Promise<ApiRecord[]>>();

function configuredProjects(context: ListContext): Promise<ApiRecord[]> {
  let cached = fallbackCache.get(context.client);
  if (cached === undefined) {
    context.log(
      'WARN',
      `CircleCI did not list organization projects (private project listing unavailable); the project, pipeline_definition, ` +
        `trigger and schedule streams cover the configured project slugs only`,
    );
    // A configured slug that answers 404 is said by the pipelines stream; here it is left out.
    cached = projectDetails(context.config.projectSlugs, context, () => undefined);
    fallbackCache.set(context.client, cached);
  }
  return cached;
}

/**
 * `GET /project/{slug}` for each slug, several at a time (one round trip per slug made
 * in turn is what a large organization would wait for; the governor still caps what is
 * in flight), in the order of `slugs`. A slug that answers 404 is left out and passed to
 * `onNotFound`, in order, once all are in. The first other failure is thrown once the
 * requests under way have settled; no further one is started after it, nor after the
 * read was aborted.
 */
async function projectDetails(slugs: readonly string[], context: ListContext, onNotFound: (slug: string) => void): Promise<ApiRecord[]> {
  const details = new Array<ApiRecord | undefined>(slugs.length);
  await forEachConcurrent(slugs, context.config.maxConcurrency, async (slug, index) => {
    context.signal?.throwIfAborted();
    details[index] = await context.client.get<ApiRecord>(`/api/v2/project/${slugPath(slug)}`);
  });
  const found: ApiRecord[] = [];
  slugs.forEach((slug, index) => {
    const detail = details[index];
    if (detail !== undefined) found.push(detail);
    else onNotFound(slug);
  });
  return found;
}
