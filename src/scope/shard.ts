/**
 * Which shard a project belongs to: FNV-1a (32 bits) of its lowercased slug, modulo the
 * shard count. It depends on nothing but the slug and the count, so the shards are
 * disjoint, together cover every project, and a project stays in its shard for as long
 * as `shard_count` is unchanged, whatever else joins or leaves the organization.
 */
export function shardOf(slug: string, shardCount: number): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(slug.toLowerCase())) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % shardCount;
}
