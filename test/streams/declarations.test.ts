import { describe, expect, it } from '@jest/globals';
import type { AnyStreamDeclaration } from '../../src/streams/declaration.js';
import { STREAM_NAMES } from '../../src/streams/schemas/index.js';
import { STREAM_GRAPH, STREAMS } from '../../src/streams/streams.js';
import { declarationProblems, validateStreams } from '../../src/streams/validate.js';

/** The registry with one declaration added or replaced. */
function registryWith(declaration: Partial<AnyStreamDeclaration> & { name: string }): Record<string, AnyStreamDeclaration> {
  const base: AnyStreamDeclaration = { name: 'x' as never, primaryKey: ['id'], parent: null, endpoint: { path: '/x', shape: 'pages' } };
  return { ...STREAMS, [declaration.name]: { ...base, ...(STREAMS as Record<string, AnyStreamDeclaration>)[declaration.name], ...declaration } as AnyStreamDeclaration };
}

describe('stream declarations', () => {
  it('the registry declares every stream name once and passes validation', () => {
    expect(Object.keys(STREAMS).sort()).toEqual([...STREAM_NAMES].sort());
    expect(declarationProblems(STREAMS)).toEqual([]);
  });

  it('the project history and the per-project Insights roots list under the same projects (one scope)', () => {
    const perProject = STREAM_NAMES.filter((name) => STREAMS[name].under !== undefined);
    expect(perProject.sort()).toEqual(['flaky_tests', 'insights_workflows', 'pipelines']);
    for (const name of perProject) expect([name, STREAMS[name].under === STREAMS.pipelines.under]).toEqual([name, true]);
  });

  it('every stream reaches a root, and each newest-first history has exactly one root', () => {
    for (const name of STREAM_NAMES) expect(STREAM_GRAPH.get(STREAM_GRAPH.root(name)).parent).toBeNull();
    const histories = STREAM_GRAPH.roots().filter((root) => STREAM_GRAPH.get(root).newestFirst);
    expect(histories).toEqual(['pipelines']);
  });

  it.each([
    ['a parent that is not declared', { name: 'sub', parent: 'nope' as never }, /sub: parent nope is not a declared stream/],
    ['a cycle', { name: 'collaborations', parent: 'context' as never }, /collaborations: its parents form a cycle/],
    ['an incremental stream without a partition', { name: 'sub', parent: 'collaborations' as never, cursor: 'updated_at' }, /sub: is incremental .* no partition/],
    ['placeholders without params', { name: 'sub', parent: 'collaborations' as never, endpoint: { path: '/x/{id}', shape: 'pages' as const } }, /sub: endpoint \/x\/\{id\} has placeholders \(id\) but no params/],
    ['a followed stream outside a history', { name: 'sub', parent: 'collaborations' as never, cursor: 'c', partition: { kind: 'organizations' as const, key: (): string => 'k' }, follow: { isFinal: () => true, reread: '/x/{id}', lookbackMs: () => 0 } }, /sub: only a stream of a newest-first history can follow/],
    ['a followed stream below a followed stream', { name: 'sub', parent: 'workflows' as never, cursor: 'c', follow: { isFinal: () => true, reread: '/x/{id}', lookbackMs: () => 0 } }, /sub: is below workflows, which is followed already/],
    ['newest first below a root', { name: 'sub', parent: 'collaborations' as never, newestFirst: { changedAt: () => 0, position: () => 0 } }, /sub: only a root can be listed newest first/],
    ['a partition inside a history', { name: 'sub', parent: 'jobs' as never, cursor: 'c', partition: { kind: 'projects' as const, key: (): string => 'k' } }, /sub: a stream of a newest-first history keeps the partitions of pipelines/],
    ['a redaction that drops a key field', { name: 'sub', parent: 'collaborations' as never, sanitize: { drop: ['id'] } }, /sub: sanitize.drop removes id, a key or cursor field/],
    ['an empty 403 text', { name: 'sub', parent: 'collaborations' as never, forbidden: ' ' }, /sub: `forbidden` is the text a 403 fails with/],
    ['a 403 text inside a history', { name: 'sub', parent: 'jobs' as never, forbidden: 'needs x; do y' }, /sub: `forbidden` is worded by the tree reader/],
    ['adds without enrich', { name: 'sub', parent: 'collaborations' as never, adds: { a: { description: 'a' } } }, /sub: declares one of adds and enrich without the other/],
  ])('rejects %s, naming the stream', (_what, declaration, message) => {
    const registry = registryWith(declaration as Partial<AnyStreamDeclaration> & { name: string });
    expect(() => validateStreams(registry as never)).toThrow(message);
  });
});
