/**
 * The pure parts of the project scope: slug globs and the shard of a slug.
 */
import { describe, expect, it } from '@jest/globals';

import { shardOf } from '../../src/scope/shard.js';
import { isGlob, matcher, organizationOf } from '../../src/scope/slug-pattern.js';

describe('slug globs', () => {
  it.each([
    ['gh/acme/*', 'gh/acme/api', true],
    ['gh/acme/*', 'gh/acme2/api', false],
    ['gh/acme/api-*', 'gh/acme/api-gateway', true],
    ['gh/acme/api-*', 'gh/acme/web', false],
    ['gh/acme/api-?', 'gh/acme/api-1', true],
    ['gh/acme/api-?', 'gh/acme/api-12', false],
    ['gh/*/web', 'gh/acme/web', true],
    ['gh/*', 'gh/acme/web', false], // `*` never crosses a `/`
    ['gh/ACME/Web', 'gh/acme/web', true], // case is ignored, as GitHub and Bitbucket ignore it
    ['gh/acme/a.b', 'gh/acme/axb', false], // only * and ? are special
    ['bb/acme/*', 'gh/acme/web', false],
  ])('%s ~ %s: %s', (pattern, slug, matches) => {
    expect(matcher([pattern])(slug)).toBe(matches);
  });

  it('tells globs from slugs, and names the organization part', () => {
    expect([isGlob('gh/acme/*'), isGlob('gh/acme/api-?'), isGlob('gh/acme/api')]).toEqual([true, true, false]);
    expect(organizationOf('circleci/0b4a0c2e-9c7a-4f0e-8f7b-1d2c3e4f5a6b/*')).toBe('circleci/0b4a0c2e-9c7a-4f0e-8f7b-1d2c3e4f5a6b');
  });
});

describe('the shard of a slug', () => {
  it('is FNV-1a (32 bits) of the lowercased slug: the published test vectors', () => {
    // Changing the hash would move every project to another shard: these pin it.
    expect(shardOf('', 2 ** 32)).toBe(0x811c9dc5);
    expect(shardOf('a', 2 ** 32)).toBe(0xe40c292c);
    expect(shardOf('foobar', 2 ** 32)).toBe(0xbf9cf968);
  });

  it('ignores case, and every slug falls in exactly one shard of any count', () => {
    expect(shardOf('GH/Acme/Web', 7)).toBe(shardOf('gh/acme/web', 7));
    const slugs = Array.from({ length: 200 }, (_, i) => `gh/acme/repo-${i}`);
    for (const count of [1, 2, 3, 8, 1024]) {
      const shards = slugs.map((slug) => shardOf(slug, count));
      expect(shards.every((shard) => Number.isInteger(shard) && shard >= 0 && shard < count)).toBe(true);
    }
    // Spread: with 4 shards, none is empty or holds most of 200 slugs.
    const counts = [0, 1, 2, 3].map((shard) => slugs.filter((slug) => shardOf(slug, 4) === shard).length);
    expect(Math.min(...counts)).toBeGreaterThan(20);
  });
});
