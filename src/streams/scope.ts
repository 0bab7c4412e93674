import type { Config } from '../config/config.js';
import type { ApiRecord, StreamDeclaration } from './declaration.js';

/**
 * The projects whose history and Insights are read: one `{slug}` record per project in
 * scope.
 */
export function projectsInScope(config: Config): ApiRecord[] {
  return config.projectSlugs.map((projectSlug) => ({ slug: projectSlug }));
}

/**
 * What every per-project root declares (pipelines, insights_workflows, flaky_tests): its
 * parents are the projects in scope. One declaration, spread into each, so the project
 * history and Insights always cover the same projects, and a change of how the scope is
 * resolved (or of what a per-project root must declare) is made here once.
 */
export const PER_PROJECT_ROOT = { under: projectsInScope } as const satisfies Pick<StreamDeclaration, 'under'>;
