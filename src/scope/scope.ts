import type { ListContext } from '../streams/declaration.js';
import { organizationCount, organizationProjects, organizations, type ListedProject } from './listing.js';
import { shardOf } from './shard.js';
import { isGlob, matcher, organizationOf } from './slug-pattern.js';

/**
 * The two sets of projects a run covers, each split over the shards (a project's shard is
 * its slug's hash, src/scope/shard.ts, so the shards are disjoint and together hold every
 * project):
 *
 * - the scope, `scopedProjects`: `project_slugs` (slugs and globs; none: every project the
 *   token can see) less `exclude_project_slugs`. The project history (pipelines and
 *   below) and the per-project Insights streams read it.
 * - the projects the token can see, `visibleProjects`: every project of every organization
 *   of the token's user, and every configured slug besides (its organization need not be
 *   one of the user's). The `project` stream and the streams under it read it, whatever
 *   the scope says, as organization streams do.
 *
 * Both are resolved once per run (the answer is kept per client) from the same listings
 * (src/scope/listing.ts). A scope of slugs only is taken as written, without listing
 * anything: a slug CircleCI does not know answers 404 where it is read, as it always
 * did. A configured slug missing from a listing is kept for the same reason.
 */

/** A project of the scope or of the visible projects: its slug, and what the organization listing said of it (absent for a slug taken as written). */
export type ScopedProject = ListedProject;

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

const resolved = new WeakMap<object, Promise<ProjectScope>>();
const visible = new WeakMap<object, Promise<ProjectScope>>();

/**
 * The projects of this run's scope and shard: the one list the project history and the
 * per-project Insights streams read (their roots' `under`). Resolved once per client; the
 * first call logs the resolved scope.
 */
export async function scopedProjects(context: ListContext): Promise<ScopedProject[]> {
  return (await projectScope(context)).projects;
}

/**
 * This shard's share of every project the token can see: what the `project` stream (and
 * the streams under it) reads. Resolved once per client; the first call logs it.
 */
export async function visibleProjects(context: ListContext): Promise<ScopedProject[]> {
  return (await visibleScope(context)).projects;
}

/** The resolved scope with its counts (for `check` and the log line). */
export function projectScope(context: ListContext): Promise<ProjectScope> {
  return once(resolved, context, resolveScope, logScope);
}

/** The projects the token can see, with their counts (for `check` and the log line); `unmatched` is always empty. */
export function visibleScope(context: ListContext): Promise<ProjectScope> {
  return once(visible, context, resolveVisible, logVisible);
}

function once(
  cache: WeakMap<object, Promise<ProjectScope>>,
  context: ListContext,
  resolve: (context: ListContext) => Promise<ProjectScope>,
  log: (scope: ProjectScope, context: ListContext) => void,
): Promise<ProjectScope> {
  let scope = cache.get(context.client);
  if (scope === undefined) {
    scope = resolve(context).then((result) => {
      log(result, context);
      return result;
    });
    cache.set(context.client, scope);
  }
  return scope;
}

async function resolveScope(context: ListContext): Promise<ProjectScope> {
  const { projectSlugs: includes, excludeProjectSlugs: excludes } = context.config;
  const globs = includes.filter(isGlob);
  const listed = includes.length === 0 || globs.length > 0 ? await listProjects(includes, context) : { projects: [], unlisted: [] };
  const included = includes.length === 0 ? () => true : matcher(includes);
  const excluded = matcher(excludes);
  const inScope = distinct([...listed.projects, ...literals(includes)]).filter((project) => included(project.slug) && !excluded(project.slug));
  const unmatched = globs.filter((glob) => !listed.projects.some((project) => matcher([glob])(project.slug)));
  return { ...shared(inScope, context), unmatched, unlisted: listed.unlisted };
}

/** Every organization's projects, then the configured slugs no listing gave (read by slug, wherever their organization is). */
async function resolveVisible(context: ListContext): Promise<ProjectScope> {
  const listed = await listProjects([], context);
  const all = distinct([...listed.projects, ...literals(context.config.projectSlugs)]);
  return { ...shared(all, context), unmatched: [], unlisted: listed.unlisted };
}

/** The configured slugs that are not globs, as projects taken as written. */
function literals(includes: readonly string[]): ScopedProject[] {
  return includes.filter((pattern) => !isGlob(pattern)).map((slug) => ({ slug }));
}

/** The first of each slug (case ignored), in order. */
function distinct(projects: readonly ScopedProject[]): ScopedProject[] {
  const seen = new Set<string>();
  return projects.filter((project) => {
    const key = project.slug.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** This shard's share of `all`, and the counts over every shard. */
function shared(all: readonly ScopedProject[], { config }: ListContext): Pick<ProjectScope, 'projects' | 'total' | 'organizations'> {
  return {
    projects: all.filter((project) => shardOf(project.slug, config.shardCount) === config.shardIndex),
    total: all.length,
    organizations: organizationCount(all),
  };
}

/**
 * The projects of every organization of the token's user that a pattern can match (all
 * of them for an empty `includes`). An organization whose listing is refused or missing
 * (CircleCI Server, older installs) is named in `unlisted`; only a 401 or the read ending
 * stops the resolution.
 */
async function listProjects(includes: readonly string[], context: ListContext): Promise<{ projects: ScopedProject[]; unlisted: string[] }> {
  const orgMatches = includes.length === 0 ? () => true : matcher(includes.map(organizationOf));
  const projects: ScopedProject[] = [];
  const unlisted: string[] = [];
  for (const org of await organizations(context)) {
    // An organization without a readable slug cannot be ruled out.
    if (org.slug !== '' && !orgMatches(org.slug)) continue;
    const listed = await organizationProjects(org, context);
    if (listed === undefined) unlisted.push(org.slug || org.id);
    else projects.push(...listed);
  }
  return { projects, unlisted };
}

/** `42 projects in 2 organizations`, and when sharded `, 11 in shard 1 of 4 (shard_index counts from 0)`. */
export function describeScope(scope: ProjectScope, config: { shardCount: number; shardIndex: number }): string {
  const all = `${plural(scope.total, 'project')} in ${plural(scope.organizations, 'organization')}`;
  return config.shardCount === 1 ? all : `${all}, ${scope.projects.length.toLocaleString('en-US')} in shard ${config.shardIndex} of ${config.shardCount} (shard_index counts from 0)`;
}

function logScope(scope: ProjectScope, context: ListContext): void {
  context.log('INFO', `project scope: ${describeScope(scope, context.config)}${listed(scope)}`);
  if (scope.unlisted.length > 0) {
    context.log(
      'WARN',
      `CircleCI did not list organization projects (private project listing unavailable) for ${scope.unlisted.join(', ')}: ` +
        `there, the project history covers the configured project slugs only, and globs match nothing`,
    );
  }
  for (const glob of scope.unmatched) context.log('WARN', `project_slugs: ${glob} matched no project the token can see; nothing is read for it`);
}

function logVisible(scope: ProjectScope, context: ListContext): void {
  context.log('INFO', `projects the token can see (the project stream and those under it): ${describeScope(scope, context.config)}${listed(scope)}`);
  if (scope.unlisted.length > 0) {
    context.log(
      'WARN',
      `CircleCI did not list organization projects (private project listing unavailable) for ${scope.unlisted.join(', ')}: ` +
        `there, the project stream and those under it cover the configured project slugs only`,
    );
  }
}

/** ` (gh/acme/api, gh/acme/web, and 3 more)`: this shard's first projects. */
function listed(scope: ProjectScope): string {
  const shown = scope.projects.slice(0, 5).map((project) => project.slug);
  const more = scope.projects.length > shown.length ? `, and ${scope.projects.length - shown.length} more` : '';
  return shown.length > 0 ? ` (${shown.join(', ')}${more})` : '';
}

function plural(n: number, word: string): string {
  return `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;
}
