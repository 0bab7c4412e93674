import type { AnyStreamDeclaration, Partition } from './declaration.js';
import type { StreamName } from './schemas/types.js';

/**
 * The parent → child relations between declarations, as the readers and the state code
 * ask about them. Built from a registry that validate.ts has checked (no cycles, parents
 * exist).
 */
export class StreamGraph {
  readonly names: readonly StreamName[];

  constructor(readonly streams: Readonly<Record<StreamName, AnyStreamDeclaration>>) {
    this.names = Object.keys(streams) as StreamName[];
  }

  get(name: StreamName): AnyStreamDeclaration {
    return this.streams[name];
  }

  children(name: StreamName): StreamName[] {
    return this.names.filter((child) => this.streams[child].parent === name);
  }

  /** The stream and its ancestors, itself first, its root last. */
  lineage(name: StreamName): StreamName[] {
    const out: StreamName[] = [];
    for (let current: StreamName | null = name; current !== null; current = this.streams[current].parent) out.push(current);
    return out;
  }

  root(name: StreamName): StreamName {
    return this.lineage(name).at(-1)!;
  }

  roots(): StreamName[] {
    return this.names.filter((name) => this.streams[name].parent === null);
  }

  /** The streams of one root's tree, the root included. */
  members(root: StreamName): StreamName[] {
    return this.names.filter((name) => this.root(name) === root);
  }

  /** Whether `name` is `ancestor` or below it. */
  within(name: StreamName, ancestor: StreamName): boolean {
    return this.lineage(name).includes(ancestor);
  }

  descendants(name: StreamName): StreamName[] {
    return this.children(name).flatMap((child) => [child, ...this.descendants(child)]);
  }

  /** Where a stream's bookmarks are kept: its own partition, or the nearest ancestor's. */
  partition(name: StreamName): { owner: StreamName; partition: Partition } | undefined {
    for (const owner of this.lineage(name)) {
      const partition = this.streams[owner].partition;
      if (partition) return { owner, partition };
    }
    return undefined;
  }

  /** Whether the stream belongs to a newest-first history (its root is listed newest first). */
  inHistory(name: StreamName): boolean {
    return this.streams[this.root(name)].newestFirst !== undefined;
  }

  /**
   * The stream whose records decide whether this one is read, in a history: the nearest
   * followed stream at or above it (a workflow decides for its jobs), else the root.
   */
  unit(name: StreamName): StreamName {
    return this.lineage(name).find((s) => this.streams[s].follow !== undefined) ?? this.root(name);
  }

  /** Whether the stream's records are per project of the scope (it or an ancestor is declared `scoped`): shards split it. */
  scoped(name: StreamName): boolean {
    return this.lineage(name).some((s) => this.streams[s].scoped === true);
  }

  /** Whether the stream's state follows unfinished records (its unit is followed). */
  follows(name: StreamName): boolean {
    return this.streams[this.unit(name)].follow !== undefined;
  }
}
