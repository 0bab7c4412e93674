// Route handlers of the inventory endpoints (deploy components and versions, project env
// vars and checkout keys, context env vars, webhooks). The route table entries are in
// routes.ts; this module imports its helpers back only inside handlers, so the import
// cycle is never followed while modules load.

import {
  componentById,
  contextById,
  contextEnvVars,
  deployComponents,
  deployComponentVersions,
  projectCheckoutKeys,
  projectEnvVars,
  projectWebhooks,
} from './inventory.js';
import { err, isResponse, isUuid, paginate, parsePositiveInt, type RouteRequest, type RouteResponse } from './route-kit.js';
import type { World } from './world.js';

/** GET /deploy/components?org-id&page-size[&project-id]: `page-size` is required, as on /deploy/environments. */
export function listComponents(req: RouteRequest, world: World): RouteResponse {
  const orgId = req.query.get('org-id');
  if (!orgId) return err(400, 'org-id is required.');
  const size = parsePositiveInt(req.query, 'page-size', undefined);
  if (isResponse(size)) return size;
  if (size === undefined) return err(400, 'page-size is required.');
  const projectId = req.query.get('project-id') || undefined;
  if (projectId !== undefined && !isUuid(projectId)) return err(400, 'Invalid project-id: must be a UUID.');
  const org = world.orgById(orgId);
  if (!org) return err(404, 'Organization does not exist.');
  const items = deployComponents(world, org, projectId);
  return paginate(world, `components:${org.id}:${projectId ?? ''}`, req.query, items, (c) => c.id as string, Math.min(size, 100));
}

/**
 * GET /deploy/components/{id}/versions[?environment-id]. The spec lists no page-size or
 * page-token here but answers a paginated list: the fake pages by the world's page size
 * and reads `page-token`, as on GET /workflow/{id}/job. An environment id that is not one
 * of the component's organization filters everything out (an empty list), not 404.
 */
export function listComponentVersions(req: RouteRequest, world: World): RouteResponse {
  const id = req.params.componentId ?? '';
  if (!isUuid(id)) return err(400, 'Invalid component_id: must be a UUID.');
  const envId = req.query.get('environment-id') || undefined;
  if (envId !== undefined && !isUuid(envId)) return err(400, 'Invalid environment-id: must be a UUID.');
  const ref = componentById(world, id);
  if (!ref) return err(404, 'Component does not exist.');
  const items = deployComponentVersions(world, ref, envId);
  const scope = `versions:${ref.record.id}:${envId ?? ''}`;
  // Position keys: the same job may release to two environments.
  return paginate(world, scope, req.query, items, (_v, i) => String(i), world.options.pageSize);
}

/** GET /project/{slug}/envvar: masked values, as the API serves them. */
export function listEnvVars(req: RouteRequest, world: World): RouteResponse {
  const p = world.projectBySlug(req.params.slug ?? '');
  if (!p) return err(404, 'Project not found');
  return paginate(world, `envvars:${p.id}`, req.query, projectEnvVars(world, p), (v) => v.name as string, world.options.pageSize);
}

/** GET /project/{slug}/checkout-key[?digest=md5|sha256]. */
export function listCheckoutKeys(req: RouteRequest, world: World): RouteResponse {
  const p = world.projectBySlug(req.params.slug ?? '');
  if (!p) return err(404, 'Project not found');
  const digest = req.query.get('digest') ?? 'md5';
  if (digest !== 'md5' && digest !== 'sha256') return err(400, 'digest must be one of: md5, sha256.');
  const items = projectCheckoutKeys(world, p, digest);
  return paginate(world, `checkout-keys:${p.id}:${digest}`, req.query, items, (key) => key.fingerprint as string, world.options.pageSize);
}

/** GET /context/{context_id}/environment-variable: names and dates, never values. */
export function listContextEnvVars(req: RouteRequest, world: World): RouteResponse {
  const id = req.params.contextId ?? '';
  if (!isUuid(id)) return err(400, 'Invalid context_id: must be a UUID.');
  const found = contextById(world, id);
  // The spec's 404 example for this route: {"message": "Context not found."}
  if (!found) return err(404, 'Context not found.');
  const items = contextEnvVars(world, found.context.id);
  return paginate(world, `context-vars:${found.context.id}`, req.query, items, (v) => v.variable as string, world.options.pageSize);
}

/**
 * GET /webhook?scope-id={project id}&scope-type=project. Both parameters are required by
 * the spec; an unknown project answers 404 with the spec's project_not_found example.
 */
export function listWebhooks(req: RouteRequest, world: World): RouteResponse {
  const scopeId = req.query.get('scope-id');
  const scopeType = req.query.get('scope-type');
  if (!scopeId) return err(400, 'scope-id is required.');
  if (scopeType !== 'project') return err(400, 'scope-type must be one of: project.');
  if (!isUuid(scopeId)) return err(400, 'Invalid scope-id: must be a UUID.');
  const p = world.projectById(scopeId);
  if (!p) return err(404, 'Project does not exist.');
  return paginate(world, `webhooks:${p.id}`, req.query, projectWebhooks(world, p), (w) => w.id as string, world.options.pageSize);
}
