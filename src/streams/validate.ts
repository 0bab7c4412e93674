import { placeholdersOf, type AnyStreamDeclaration } from './declaration.js';
import { StreamGraph } from './graph.js';
import type { StreamName } from './schemas/types.js';

/**
 * Checks that the shared readers can read every declaration as declared, so that a
 * mistake stops the connector at startup (and fails the unit test) instead of reading
 * a silently empty stream. Returns the registry unchanged; throws listing every problem.
 */
export function validateStreams<R extends Readonly<Record<StreamName, AnyStreamDeclaration>>>(streams: R): R {
  const problems = declarationProblems(streams);
  if (problems.length > 0) throw new Error(`invalid stream declarations:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return streams;
}

export function declarationProblems(streams: Readonly<Record<string, AnyStreamDeclaration>>): string[] {
  const problems: string[] = [];
  const names = Object.keys(streams);
  for (const [key, decl] of Object.entries(streams)) {
    const say = (problem: string) => problems.push(`${key}: ${problem}`);
    if (decl.name !== key) say(`declared under the key ${key} but named ${decl.name}`);
    if (decl.parent !== null && !names.includes(decl.parent)) say(`parent ${decl.parent} is not a declared stream`);
    if (decl.primaryKey.length === 0) say('has no primary key');
    // Which params fill which placeholders is checked by the type of defineStream.
    const placeholders = placeholdersOf(decl.endpoint.path);
    if (!decl.list && !decl.asyncExport && decl.params === undefined && placeholders.length > 0) say(`endpoint ${decl.endpoint.path} has placeholders (${placeholders.join(', ')}) but no params`);
    if ((decl.adds === undefined) !== (decl.enrich === undefined)) say('declares one of adds and enrich without the other');
    if (decl.parent === null && decl.when) say('a root has no parent for `when` to look at');
    if (decl.parent !== null && decl.under) say('`under` is for roots only');
    const keys = [...decl.primaryKey, ...(decl.cursor ? [decl.cursor] : [])];
    for (const path of decl.sanitize?.drop ?? []) if (keys.includes(path.split('.')[0]!)) say(`sanitize.drop removes ${path}, a key or cursor field`);
    if ((decl.endpoint.shape === 'field') !== (decl.endpoint.field !== undefined)) say('an endpoint of shape `field` names its field, and only it');
    if (decl.forbidden !== undefined && decl.forbidden.trim() === '') say('`forbidden` is the text a 403 fails with: it says what access the stream needs and what to do');
  }
  if (problems.length > 0) return problems;
  // Cycles: every lineage must reach a root.
  for (const key of names) {
    const seen = new Set<string>();
    for (let current: string | null = key; current !== null; current = streams[current]!.parent) {
      if (seen.has(current)) {
        problems.push(`${key}: its parents form a cycle (${[...seen, current].join(' → ')})`);
        break;
      }
      seen.add(current);
    }
  }
  if (problems.length > 0) return problems;

  const graph = new StreamGraph(streams as Record<StreamName, AnyStreamDeclaration>);
  for (const name of graph.names) {
    const decl = graph.get(name);
    const say = (problem: string) => problems.push(`${name}: ${problem}`);
    const history = graph.inHistory(name);
    if (decl.newestFirst) {
      if (decl.parent !== null) say('only a root can be listed newest first');
      if (!decl.cursor) say('a newest-first root needs a cursor (its bookmarks stop the listing)');
      if (!decl.partition) say('a newest-first root needs a partition (each is walked and bookmarked on its own)');
    }
    if (history && decl.parent !== null && decl.partition) say(`a stream of a newest-first history keeps the partitions of ${graph.root(name)}`);
    if (decl.follow) {
      if (!history) say('only a stream of a newest-first history can follow unfinished records');
      if (!decl.cursor) say('a followed stream needs a cursor');
      if (decl.primaryKey.length !== 1) say('a followed stream needs a one-field primary key (its records are read again by id)');
      if (decl.enrich) say('a followed stream is read again without its parent, so it cannot add fields from it');
      if (!placeholdersOf(decl.follow.reread).includes('id')) say(`follow.reread ${decl.follow.reread} has no {id}`);
      const above = graph.lineage(name).slice(1).find((s) => graph.get(s).follow);
      if (above) say(`is below ${above}, which is followed already; nested followed streams are not supported`);
    }
    if (decl.asyncExport) {
      if (history) say('an export is read by the tree reader; it cannot be part of a newest-first history');
      if (!decl.cursor || !decl.partition) say('an export needs a cursor and a partition of its own (its bookmark and pending job are kept per partition)');
      if (graph.children(name).length > 0) say('an export has no child streams');
    }
    if (history && decl.forbidden !== undefined) say('`forbidden` is worded by the tree reader; a 403 in a newest-first history fails its partition with CircleCI\'s own refusal');
    if (decl.since && (history || !decl.cursor)) say('`since` (a server-side cursor filter) is for incremental streams outside a newest-first history');
    if (decl.cursor && !history && !graph.partition(name)) {
      say('is incremental (has a cursor) but has no partition to keep its bookmarks under');
    }
  }
  return problems;
}
