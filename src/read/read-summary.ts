import { ConfigError } from '../errors.js';
import type { AirbyteRecordMessageMetaChange } from '../protocol/messages.js';
import type { AnyStreamDeclaration, ApiRecord } from '../streams/declaration.js';
import type { StreamName } from '../streams/schemas/index.js';

/**
 * What a read passed over without failing, for the end-of-read summary: items CircleCI
 * sent without their primary key (skipped: a destination cannot deduplicate them),
 * values nulled because they could not take their schema's type, and configured
 * projects that answered 404.
 */
export class ReadSummary {
  private readonly keyless = new Map<StreamName, number>();
  private readonly nulledValues = new Map<StreamName, number>();
  private readonly notFound = new Set<string>();

  constructor(private readonly log: (level: 'WARN', message: string) => void) {}

  /**
   * Whether `record` (the item sanitized and enriched, so keys taken from the parent
   * count) carries its key fields. One that does not is counted, and the first of each
   * stream is said with the field names of the API `item`, never their values.
   */
  hasKey(decl: AnyStreamDeclaration, record: ApiRecord, item: ApiRecord): boolean {
    const missing = decl.primaryKey.find((key) => !isKeyValue(record[key]));
    if (missing === undefined) return true;
    const count = (this.keyless.get(decl.name) ?? 0) + 1;
    this.keyless.set(decl.name, count);
    if (count === 1) {
      // Field names only: values may be anything, secrets included.
      this.log(
        'WARN',
        `${decl.name}: CircleCI sent an item without its key field "${missing}" (fields: ${Object.keys(item).sort().join(', ') || 'none'}); ` +
          `skipped, as are any further ones (counted at the end of the read)`,
      );
    }
    return false;
  }

  /**
   * Values of one record nulled to fit the stream's schema (they are in the record's
   * meta.changes). Counted; the first of each stream is said with its field names.
   */
  nulled(stream: StreamName, changes: readonly AirbyteRecordMessageMetaChange[]): void {
    const before = this.nulledValues.get(stream) ?? 0;
    this.nulledValues.set(stream, before + changes.length);
    if (before === 0) {
      this.log(
        'WARN',
        `${stream}: CircleCI sent values that do not fit the stream's schema and cannot be converted (${changes.map((c) => c.field).join(', ')}); ` +
          `they are nulled and named in the record's meta.changes, as are any further ones (counted at the end of the read)`,
      );
    }
  }

  /** Values nulled to fit the schema, per stream. */
  get nulledToFitSchema(): ReadonlyMap<StreamName, number> {
    return this.nulledValues;
  }

  /** A configured project answered 404. */
  projectNotFound(slug: string): void {
    this.notFound.add(slug);
  }

  /** Items skipped for a missing key, per stream. */
  get skippedWithoutKey(): ReadonlyMap<StreamName, number> {
    return this.keyless;
  }

  /** Configured projects that answered 404, in the order of `configured`. */
  projectsNotFound(configured: readonly string[]): string[] {
    return configured.filter((slug) => this.notFound.has(slug));
  }

  /**
   * The error for a read where every configured project answered 404: nothing of the
   * project history can be read, which is a wrong config, not an empty account.
   */
  noProjectFound(configured: readonly string[]): ConfigError | undefined {
    if (configured.length === 0 || this.projectsNotFound(configured).length < configured.length) return undefined;
    return new ConfigError(
      `None of the configured projects was found (404): ${configured.join(', ')}. Check project_slugs (vcs-type/org/repo, as in ` +
        `the project's pipeline URL) and that the token's user can see the projects; project API tokens do not work with API v2.`,
    );
  }

  /** The part of the final log line that reports these, or '' when there is nothing to say. */
  line(configured: readonly string[]): string {
    const parts: string[] = [];
    const missing = this.projectsNotFound(configured);
    if (missing.length > 0) parts.push(`projects not found (404): ${missing.join(', ')}`);
    if (this.keyless.size > 0) parts.push(`skipped without a primary key: ${[...this.keyless].map(([stream, n]) => `${stream} ${n}`).join(', ')}`);
    if (this.nulledValues.size > 0) parts.push(`values nulled to fit the schema: ${[...this.nulledValues].map(([stream, n]) => `${stream} ${n}`).join(', ')}`);
    return parts.length === 0 ? '' : `; ${parts.join('; ')}`;
  }
}

function isKeyValue(value: unknown): boolean {
  return value !== undefined && value !== null && typeof value !== 'object';
}

/** `1 page`, `2 pages`; `plural` where adding an s is wrong (`retries`). */
export function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? singular : plural}`;
}
