import { scopedProjects } from '../scope/scope.js';
import type { StreamDeclaration } from './declaration.js';

/**
 * What every per-project root declares (pipelines, insights_workflows, flaky_tests): its
 * parents are the projects in scope (src/scope/scope.ts: the configured slugs and globs,
 * less the excludes, this shard's share), and it is `scoped` (each shard reads its own
 * projects; organization streams are read by shard 0 only). One declaration, spread into
 * each, so the project history and Insights always cover the same projects. The project
 * stream is `scoped` too but lists every project the token can see (`visibleProjects`),
 * whatever the scope says: it and the streams under it are organization streams.
 */
export const PER_PROJECT_ROOT = { under: scopedProjects, scoped: true } as const satisfies Pick<StreamDeclaration, 'under' | 'scoped'>;
