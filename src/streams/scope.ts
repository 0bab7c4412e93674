import type { Config } from '../config/config.js';
import type { ApiRecord } from './declaration.js';

/**
 * The projects whose history and Insights are read: one `{slug}` record per project in
 * scope. Every project-level root lists under it, so a change of the project set applies
 * to all of them.
 */
export function projectsInScope(config: Config): ApiRecord[] {
  return config.projectSlugs.map((projectSlug) => ({ slug: projectSlug }));
}
