import { defineStream, slugParam, text, type AddedField, type ApiRecord } from './declaration.js';

/**
 * The inventory a security review asks for: deploy components and their versions, and,
 * by name only, the secrets each project and context holds (environment variables,
 * checkout keys, webhooks). No value of a secret leaves the connector: what an item
 * carries of one is declared in `sanitize` (`drop`, `urls`), in one place per stream.
 *
 * None of these listings is ordered or filtered by time in CircleCI's API, and items are
 * deleted as well as added, so every stream here is full refresh: each sync is the whole
 * inventory. Organization-wide streams hang under `collaborations`; project-level ones
 * under `project`, so they cover every project the `project` stream covers.
 */

const ORGANIZATION_ID: AddedField = { description: 'Injected by the connector: the UUID of the organization.' };
const PROJECT_ID: AddedField = { description: 'Injected by the connector: the UUID of the project.' };
const PROJECT_SLUG: AddedField = { description: 'Injected by the connector: the slug of the project.' };

/** What to do about a 403 (the declaration's `forbidden` says the access each listing needs). */
const WITH_ACCESS = 'use a token whose user has it, or deselect the stream';

const ofProject = (_item: ApiRecord, proj: ApiRecord) => ({ project_id: proj.id, project_slug: proj.slug });

export const deployComponents = defineStream({
  name: 'deploy_components',
  primaryKey: ['id', 'organization_id'],
  parent: 'collaborations',
  endpoint: { path: '/deploy/components', shape: 'pages' },
  query: (org, config) => ({ 'org-id': text(org.id), 'page-size': config.pageSize }),
  adds: { organization_id: ORGANIZATION_ID },
  enrich: (_item, org) => ({ organization_id: org.id }),
  forbidden: `listing deploy components needs access to the organization's deploys; ${WITH_ACCESS}`,
});

export const deployComponentVersions = defineStream({
  name: 'deploy_component_versions',
  // A version has no id: it is one release name of a component in one environment
  // (redeploying it moves last_deployed_at).
  primaryKey: ['component_id', 'environment_id', 'name'],
  parent: 'deploy_components',
  // The spec lists no page-size or page-token here but answers a paginated list; the client follows next_page_token.
  endpoint: { path: '/deploy/components/{component_id}/versions', shape: 'pages' },
  params: (component) => ({ component_id: text(component.id) }),
  adds: {
    component_id: { description: 'Injected by the connector: the UUID of the deploy component.' },
    organization_id: ORGANIZATION_ID,
  },
  enrich: (_item, component) => ({ component_id: component.id, organization_id: component.organization_id }),
  forbidden: `listing component versions needs access to the organization's deploys; ${WITH_ACCESS}`,
});

export const projectEnvVars = defineStream({
  name: 'project_env_vars',
  primaryKey: ['project_id', 'name'],
  parent: 'project',
  endpoint: { path: '/project/{project-slug}/envvar', shape: 'pages' },
  params: (proj) => ({ 'project-slug': slugParam(proj.slug) }),
  // The masked value (`xxxx` + the last four characters) still gives part of the secret away.
  sanitize: { drop: ['value'] },
  adds: { project_id: PROJECT_ID, project_slug: PROJECT_SLUG },
  enrich: ofProject,
  forbidden: `listing a project's environment variables needs write access to the project; ${WITH_ACCESS}`,
});

export const projectCheckoutKeys = defineStream({
  name: 'project_checkout_keys',
  primaryKey: ['project_id', 'fingerprint'],
  parent: 'project',
  // `public-key` is kept: a public key grants nothing, and it is what matches the key to
  // the deploy or user key listed at the VCS provider. The private half is never served.
  endpoint: { path: '/project/{project-slug}/checkout-key', shape: 'pages' },
  params: (proj) => ({ 'project-slug': slugParam(proj.slug) }),
  adds: { project_id: PROJECT_ID, project_slug: PROJECT_SLUG },
  enrich: ofProject,
  forbidden: `listing a project's checkout keys needs write access to the project; ${WITH_ACCESS}`,
});

export const contextEnvVars = defineStream({
  name: 'context_env_vars',
  // The API serves names and dates only, never values.
  primaryKey: ['context_id', 'variable'],
  parent: 'context',
  endpoint: { path: '/context/{context_id}/environment-variable', shape: 'pages' },
  params: (ctx) => ({ context_id: text(ctx.id) }),
  adds: { organization_id: ORGANIZATION_ID },
  enrich: (_item, ctx) => ({ organization_id: ctx.organization_id }),
  forbidden: `listing a context's environment variables needs access to the context (its security groups); ${WITH_ACCESS}`,
});

export const webhooks = defineStream({
  name: 'webhooks',
  primaryKey: ['id'],
  parent: 'project',
  endpoint: { path: '/webhook', shape: 'pages' },
  query: (proj) => ({ 'scope-id': text(proj.id), 'scope-type': 'project' }),
  // `signing-secret` signs every delivery; a URL's credential query parameter (`?token=`) lets anyone post as CircleCI.
  sanitize: { drop: ['signing-secret'], urls: ['url'] },
  adds: { project_slug: PROJECT_SLUG },
  enrich: (_item, proj) => ({ project_slug: proj.slug }),
  forbidden: `listing a project's webhooks needs admin access to the project; ${WITH_ACCESS}`,
});

export const INVENTORY_STREAMS = {
  deploy_components: deployComponents,
  deploy_component_versions: deployComponentVersions,
  project_env_vars: projectEnvVars,
  project_checkout_keys: projectCheckoutKeys,
  context_env_vars: contextEnvVars,
  webhooks,
} as const;
