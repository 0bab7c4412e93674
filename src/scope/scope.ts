import { normaliseSlug } from '../config/config.js';
import { ApiError } from '../http/api-error.js';
import type { CircleCiClient } from '../http/client.js';
import { text, type ApiRecord, type ListContext } from '../streams/declaration.js';
import { shardOf } from './shard.js';
import { isGlob, matcher, organizationOf } from './slug-pattern.js';

/**
 * The projects a run covers: `project_slugs` (slugs and globs; none: every project the
 * token can see) less `exclude_project_slugs`, then this run's shard. Every per-project
 * stream takes its project list from `scopedProjects`, once per run (the answer is kept
 * per client), so all of them cover the same projects.
 *
 * Globs and an empty `project_slugs` are resolved against the organizations of the token's
 * user (`GET /me/collaborations`) and the private project listing of each organization
 * that a pattern can match (50 projects a page). A scope of slugs only is taken as
 * written, without listing anything: a slug CircleCI does not know answers 404 where it
 * is read, as it always did. A configured slug missing from a listing is kept for the
 * same reason.
 */

/** A project in scope: its slug, and what the organization listing said of it (absent for a slug taken as written). */
export interface ScopedProject extends ApiRecord {
  slug: string;
  /** The id of the organization that listed it, as /me/collaborations gave it. */
  organization_id?: unknown;
  /** The listing's time of the project's last finished build (ISO), where it gave one. */
  last_build_finished_at?: string;
}

export interface ProjectScope {
  /** This shard's projects, in listing order (configured slugs not listed last). */
  projects: ScopedProject[];
  /** Projects in scope over all shards, and the organizations they belong to. */
  total: number;
  organizations: number;
  /** Globs of project_slugs that matched no project. */
  unmatched: string[];
  /** Organizations whose projects CircleCI did not list (slugs, or ids where the slug is unknown). */
  unlisted: string[];
}

const PRIVATE_PROJECT_PAGE_SIZE = 50; // larger pages answer 500

const resolved = new WeakMap<CircleCiClient, Promise<ProjectScope>>();

/**
 * The projects of this run's scope and shard: the one list every per-project stream
 * reads (`under` of a per-project root, the project stream's listing). Resolved once per
 * client; the first call logs the resolved scope.
 */
export async function scopedProjects(context: ListContext): Promise<ScopedProject[]> {
  return (await projectScope(context)).projects;
}

/** The resolved scope with its counts (for `check` and the log line). */
export function projectScope(context: ListContext): Promise<ProjectScope> {
  let scope = resolved.get(context.client);
  if (scope === undefined) {
    scope = resolveScope(context).then((result) => {
      logScope(result, context);
      return result;
    });
    resolved.set(context.client, scope);
  }
  return scope;
}

async function resolveScope(context: ListContext): Promise<ProjectScope> {
  const { projectSlugs: includes, excludeProjectSlugs: excludes, shardCount, shardIndex } = context.config;
  const literals = includes.filter((pattern) => !isGlob(pattern));
  const globs = includes.filter(isGlob);
  const listed = includes.length === 0 || globs.length > 0 ? await listProjects(includes, context) : { projects: [], unlisted: [] };

  const included = includes.length === 0 ? () => true : matcher(includes);
  const excluded = matcher(excludes);
  const seen = new Set<string>();
  const inScope: ScopedProject[] = [];
  const add = (project: ScopedProject) => {
    const key = project.slug.toLowerCase();
    if (seen.has(key) || !included(project.slug) || excluded(project.slug)) return;
    seen.add(key);
    inScope.push(project);
  };
  for (const project of listed.projects) add(project);
  for (const slug of literals) add({ slug });

  const organizations = new Set(inScope.map((project) => (project.organization_id !== undefined ? project.organization_id : organizationOf(project.slug).toLowerCase())));
  const unmatched = globs.filter((glob) => !listed.projects.some((project) => matcher([glob])(project.slug)));
  return {
    projects: inScope.filter((project) => shardOf(project.slug, shardCount) === shardIndex),
    total: inScope.length,
    organizations: organizations.size,
    unmatched,
    unlisted: listed.unlisted,
  };
}

/**
 * The projects of every organization of the token's user that a pattern can match (all
 * of them for an empty `includes`). An organization whose listing is refused or missing
 * (CircleCI Server, older installs) is named in `unlisted`; only a 401 or the read ending
 * stops the resolution.
 */
async function listProjects(includes: readonly string[], context: ListContext): Promise<{ projects: ScopedProject[]; unlisted: string[] }> {
  const orgs = (await context.client.get<ApiRecord[]>('/api/v2/me/collaborations')) ?? [];
  const orgMatches = includes.length === 0 ? () => true : matcher(includes.map(organizationOf));
  const projects: ScopedProject[] = [];
  const unlisted: string[] = [];
  for (const org of Array.isArray(orgs) ? orgs : []) {
    // An organization without an id is not one the organization streams read (no key): nothing to list either.
    if (org.id === undefined || org.id === null || org.id === '') continue;
    const orgSlug = normaliseOrgSlug(text(org.slug));
    // An organization without a readable slug cannot be ruled out.
    if (orgSlug !== '' && !orgMatches(orgSlug)) continue;
    try {
      const pages = context.client.pages<ApiRecord>(
        '/api/private/project',
        { 'organization-id': text(org.id), 'page-size': PRIVATE_PROJECT_PAGE_SIZE },
        () => {
          throw new ApiError('GET /api/private/project answered 404', 'transient_error', 'GET /api/private/project', 404);
        },
      );
      for await (const page of pages) {
        for (const item of page) {
          const slug = normaliseSlug(text(item.slug));
          if (slug === undefined) continue;
          const project: ScopedProject = { slug, organization_id: org.id };
          if (typeof item.last_build_finished_at === 'string') project.last_build_finished_at = item.last_build_finished_at;
          projects.push(project);
        }
      }
    } catch (error) {
      if (context.signal?.aborted) throw error;
      if (!(error instanceof ApiError) || error.status === undefined || error.status === 401) throw error;
      unlisted.push(orgSlug || text(org.id));
    }
  }
  return { projects, unlisted };
}

function normaliseOrgSlug(slug: string): string {
  const [vcs, org] = slug.split('/');
  if (vcs === undefined || org === undefined) return '';
  return organizationOf(normaliseSlug(`${vcs}/${org}/x`) ?? '');
}

/** `42 projects in 2 organizations; shard 1 of 4: 11` (the shard part only when sharded). */
export function describeScope(scope: ProjectScope, config: { shardCount: number; shardIndex: number }): string {
  const all = `${plural(scope.total, 'project')} in ${plural(scope.organizations, 'organization')}`;
  return config.shardCount === 1 ? all : `${all}; shard ${config.shardIndex} of ${config.shardCount} (shard_index counts from 0): ${scope.projects.length}`;
}

function logScope(scope: ProjectScope, context: ListContext): void {
  const { config } = context;
  const shown = scope.projects.slice(0, 5).map((project) => project.slug);
  const more = scope.projects.length > shown.length ? `, and ${scope.projects.length - shown.length} more` : '';
  context.log('INFO', `project scope: ${describeScope(scope, config)}${shown.length > 0 ? ` (${shown.join(', ')}${more})` : ''}`);
  if (scope.unlisted.length > 0) {
    context.log(
      'WARN',
      `CircleCI did not list organization projects (private project listing unavailable) for ${scope.unlisted.join(', ')}: ` +
        `there, the per-project streams cover the configured project slugs only, and globs match nothing`,
    );
  }
  for (const glob of scope.unmatched) context.log('WARN', `project_slugs: ${glob} matched no project the token can see; nothing is read for it`);
}

function plural(n: number, word: string): string {
  return `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;
}
