import type { ApiRecord } from './declaration.js';

/**
 * An `enrich` that fills `field` from `fallback` where CircleCI left it out or null, e.g.
 * a pipeline's `updated_at` (not required by the spec) from its `created_at`: a pipeline
 * never updated was last changed when it was created, and its record then has a cursor
 * that orders and bookmarks it like the others.
 */
export function filledFrom(field: string, fallback: string): (item: ApiRecord) => ApiRecord {
  return (item) => (item[field] == null && item[fallback] != null ? { ...item, [field]: item[fallback] } : item);
}
