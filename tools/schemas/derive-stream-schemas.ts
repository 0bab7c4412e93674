/**
 * Derives the Airbyte stream schemas (JSON Schema draft-07) from CircleCI's OpenAPI
 * 3.0 spec and writes them to src/streams/schemas/<stream>.json.
 *
 *   node dist/tools/schemas/derive-stream-schemas.js          # (re)write the files
 *   node dist/tools/schemas/derive-stream-schemas.js --check  # exit 1 if they differ
 *
 * Conversion rules (see deriveStreamSchemas):
 * - the record schema is the 200 response of the stream's GET path: its array item,
 *   its `items` array item (paginated lists), or the whole body;
 * - $refs are inlined (Airbyte forbids $ref);
 * - allOf / anyOf / oneOf are merged into one schema: object alternatives become one
 *   object with the union of their properties (same-named properties merged the same
 *   way); alternatives of different types become a permissive schema without `type`;
 * - every object allows additional properties (`additionalProperties: true`); maps
 *   (`additionalProperties: <schema>`) become free-form objects, their value schema is
 *   dropped (it was an anyOf in every case here);
 * - every property except primary-key fields, and cursor fields that are always there
 *   (see requiredFields), is nullable
 *   (`type: [t, "null"]`): the API omits fields or sends null beyond what the spec says,
 *   and destinations need nullable columns. Array items are nullable only when the spec
 *   says so (`nullable` / `x-nullable`);
 * - `required` from the spec is dropped; the record's top level requires its
 *   primary-key fields and the cursor where it is always there;
 * - enums are dropped: CircleCI adds values over time (job statuses, trigger types,
 *   event presets...) and a closed enum would reject new records and make every
 *   addition a breaking schema change;
 * - only `format: date-time` is kept (uuid, int64 and the non-standard "integer"
 *   format carry no meaning for Airbyte); OpenAPI-only and validation-only keywords
 *   (example, title, readOnly, discriminator, x-*, minimum, ...) are dropped;
 * - fields the connector drops (a declaration's `sanitize.drop`) are left out; fields injected by the connector (`adds`) are added, then the
 *   live-API deviations below.
 * Output is deterministic: fixed keyword order, properties sorted by name.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { AddedField, AnyStreamDeclaration, Endpoint } from '../../src/streams/declaration.js';
import { STREAM_NAMES, type StreamJsonSchema, type StreamName } from '../../src/streams/schemas/types.js';
import { STREAMS } from '../../src/streams/streams.js';

export const JSON_SCHEMA_DRAFT_07 = 'http://json-schema.org/draft-07/schema#';

/** Paths relative to the repository root. */
export const SPEC_PATH = 'test/reference/circleci-openapi.json';
export const SCHEMAS_DIR = 'src/streams/schemas';

// ---------------------------------------------------------------------------------
// Stream definitions: read from the declarations (src/streams/streams.ts), where each
// stream's endpoint, keys, cursor and added fields are written once.

/** Where in the 200 response body a stream's records are. */
export type RecordLocation = 'array-item' | 'items' | 'body' | 'field';

export interface StreamSource {
  /** OpenAPI path of the GET operation. */
  path: string;
  location: RecordLocation;
  /** The body's field holding the records (location `field`). */
  field?: string;
  /** Fields the connector adds to every record. */
  injected: Readonly<Record<string, AddedField>>;
  primaryKey: readonly string[];
  cursor?: string;
  /** The field the connector puts in the cursor's place when the API leaves the cursor out (the declaration's `sanitize.fallbacks`). */
  cursorFallback?: string;
  /** Fields the connector drops (dotted paths): left out of the schema. */
  dropped: readonly string[];
}

const LOCATION: Readonly<Record<Endpoint['shape'], RecordLocation>> = { pages: 'items', array: 'array-item', single: 'body', field: 'field' };

export function streamSource(declaration: AnyStreamDeclaration): StreamSource {
  const cursorFallback = declaration.cursor === undefined ? undefined : declaration.sanitize?.fallbacks?.[declaration.cursor];
  return {
    path: declaration.endpoint.path,
    location: LOCATION[declaration.endpoint.shape],
    ...(declaration.endpoint.field !== undefined ? { field: declaration.endpoint.field } : {}),
    injected: declaration.adds ?? {},
    primaryKey: declaration.primaryKey,
    dropped: declaration.sanitize?.drop ?? [],
    ...(declaration.cursor !== undefined ? { cursor: declaration.cursor } : {}),
    ...(cursorFallback !== undefined ? { cursorFallback } : {}),
  };
}

/**
 * Streams whose records are not in the OpenAPI spec, with a schema written in code from
 * their own source of truth (usage: the export's CSV columns, src/streams/schemas/
 * usage-columns.ts). This generator neither writes nor checks them.
 */
export const HAND_WRITTEN_STREAMS = ['usage'] as const;
export type GeneratedStreamName = Exclude<StreamName, (typeof HAND_WRITTEN_STREAMS)[number]>;
export const GENERATED_STREAM_NAMES: readonly GeneratedStreamName[] = STREAM_NAMES.filter(
  (name): name is GeneratedStreamName => !(HAND_WRITTEN_STREAMS as readonly string[]).includes(name),
);

export const STREAM_SOURCES: Readonly<Record<GeneratedStreamName, StreamSource>> = Object.fromEntries(
  GENERATED_STREAM_NAMES.map((name) => [name, streamSource(STREAMS[name])]),
) as Record<GeneratedStreamName, StreamSource>;

// ---------------------------------------------------------------------------------
// Live-API deviations from the spec (test/reference/README.md). Each one is applied
// explicitly here instead of loosening the conversion rules for every stream.
//
// Deviations that the general rules already absorb, listed for the record:
// - jobs: `started_at` is null until the job runs (spec: required, not nullable);
//   approval jobs have no `job_number`. Covered by "every non-key field is nullable"
//   and "spec `required` is dropped".

export interface LiveApiDeviation {
  stream: StreamName;
  /** Property the live API sends. */
  property: string;
  /** Spec property whose (converted) schema the live property shares. */
  sameAs: string;
  why: string;
}

export const LIVE_API_DEVIATIONS: readonly LiveApiDeviation[] = [
  {
    stream: 'collaborations',
    property: 'vcs_type',
    sameAs: 'vcs-type',
    why: 'GET /me/collaborations items carry `vcs_type` in practice although the spec says (and requires) `vcs-type`; accept both, require neither.',
  },
];

// ---------------------------------------------------------------------------------
// OpenAPI input

export interface OpenApiSchema {
  $ref?: string;
  type?: string;
  format?: string;
  nullable?: boolean;
  'x-nullable'?: boolean;
  description?: string;
  properties?: Record<string, OpenApiSchema>;
  items?: OpenApiSchema;
  additionalProperties?: boolean | OpenApiSchema;
  required?: string[];
  allOf?: OpenApiSchema[];
  anyOf?: OpenApiSchema[];
  oneOf?: OpenApiSchema[];
  enum?: unknown[];
  example?: unknown;
  [keyword: string]: unknown;
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, { responses?: Record<string, { content?: Record<string, { schema?: OpenApiSchema }> }> }>>;
  components?: { schemas?: Record<string, OpenApiSchema> };
  [key: string]: unknown;
}

function lookupRef(spec: OpenApiDocument, ref: string): OpenApiSchema {
  if (!ref.startsWith('#/')) throw new Error(`unsupported $ref ${ref}`);
  let node: unknown = spec;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (node === null || typeof node !== 'object' || !(key in node)) throw new Error(`unresolvable $ref ${ref}`);
    node = (node as Record<string, unknown>)[key];
  }
  return node as OpenApiSchema;
}

/** Returns `schema` with every $ref replaced by (a copy of) its target, recursively. */
export function inlineRefs(spec: OpenApiDocument, schema: OpenApiSchema, seen: readonly string[] = []): OpenApiSchema {
  if (schema.$ref !== undefined) {
    if (seen.includes(schema.$ref)) throw new Error(`recursive $ref ${[...seen, schema.$ref].join(' -> ')}`);
    const { $ref, ...siblings } = schema;
    return inlineRefs(spec, { ...lookupRef(spec, $ref), ...siblings }, [...seen, $ref]);
  }
  const out: OpenApiSchema = {};
  for (const [keyword, value] of Object.entries(schema)) {
    if (keyword === 'properties' && value && typeof value === 'object') {
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, OpenApiSchema>).map(([name, sub]) => [name, inlineRefs(spec, sub, seen)]),
      );
    } else if ((keyword === 'items' || keyword === 'additionalProperties') && value && typeof value === 'object') {
      out[keyword] = inlineRefs(spec, value as OpenApiSchema, seen);
    } else if ((keyword === 'allOf' || keyword === 'anyOf' || keyword === 'oneOf') && Array.isArray(value)) {
      out[keyword] = (value as OpenApiSchema[]).map((sub) => inlineRefs(spec, sub, seen));
    } else {
      out[keyword] = value;
    }
  }
  return out;
}

/** The OpenAPI schema (refs inlined) of one record of `stream`, before conversion. */
export function sourceRecordSchema(spec: OpenApiDocument, stream: GeneratedStreamName): OpenApiSchema {
  const source = STREAM_SOURCES[stream];
  const body = spec.paths[source.path]?.get?.responses?.['200']?.content?.['application/json']?.schema;
  if (!body) throw new Error(`${stream}: no GET ${source.path} 200 application/json schema in the spec`);
  const resolved = inlineRefs(spec, body);
  let record: OpenApiSchema | undefined;
  switch (source.location) {
    case 'body':
      record = resolved;
      break;
    case 'array-item':
      record = resolved.items;
      break;
    case 'items':
      record = resolved.properties?.['items']?.items;
      break;
    case 'field':
      record = resolved.properties?.[source.field ?? '']?.items;
      break;
  }
  if (!record) throw new Error(`${stream}: GET ${source.path} 200 has no record schema at ${source.location}`);
  return record;
}

// ---------------------------------------------------------------------------------
// allOf / anyOf / oneOf → one schema

function schemaType(schema: OpenApiSchema): string | undefined {
  if (schema.type !== undefined) return schema.type;
  if (schema.properties !== undefined || schema.additionalProperties !== undefined) return 'object';
  if (schema.items !== undefined) return 'array';
  return undefined;
}

/** Marks a merged schema whose alternatives had different types: accept any value. */
const PERMISSIVE = 'x-permissive';

/** Merges two (ref-free, combinator-free) schemas into one that accepts both. */
function mergeTwo(first: OpenApiSchema, second: OpenApiSchema): OpenApiSchema {
  const a = flattenCombinators(first);
  const b = flattenCombinators(second);
  const out: OpenApiSchema = {};
  const description = a.description ?? b.description;
  if (description !== undefined) out.description = description;
  if (a.nullable || a['x-nullable'] || b.nullable || b['x-nullable']) out.nullable = true;

  let typeA = schemaType(a);
  let typeB = schemaType(b);
  if (typeA === 'integer' && typeB === 'number') typeA = 'number';
  if (typeA === 'number' && typeB === 'integer') typeB = 'number';
  if (a[PERMISSIVE] || b[PERMISSIVE] || typeA === undefined || typeB === undefined || typeA !== typeB) {
    out[PERMISSIVE] = true;
    return out;
  }
  out.type = typeA;
  if (a.format !== undefined && a.format === b.format) out.format = a.format;
  if (typeA === 'object') {
    if (a.properties || b.properties) {
      const properties: Record<string, OpenApiSchema> = { ...a.properties };
      for (const [name, sub] of Object.entries(b.properties ?? {})) {
        const existing = properties[name];
        properties[name] = existing === undefined ? sub : mergeTwo(existing, sub);
      }
      out.properties = properties;
    }
    if (a.additionalProperties !== undefined || b.additionalProperties !== undefined) out.additionalProperties = true;
  }
  if (typeA === 'array' && (a.items || b.items)) {
    out.items = a.items && b.items ? mergeTwo(a.items, b.items) : { [PERMISSIVE]: true };
  }
  return out;
}

function flattenCombinators(schema: OpenApiSchema): OpenApiSchema {
  const { allOf, anyOf, oneOf, ...base } = schema;
  if (!allOf && !anyOf && !oneOf) return schema;
  const alternatives = [...(allOf ?? []), ...(anyOf ?? []), ...(oneOf ?? [])].map(flattenCombinators);
  // For allOf the keywords next to the combinator constrain the same value, for
  // anyOf/oneOf they usually only describe it: merge them in only if they say more
  // than a description.
  const baseSays = Object.keys(base).some((k) => !['description', 'title', 'example', 'nullable', 'x-nullable'].includes(k));
  let merged = alternatives.reduce(mergeTwo);
  if (baseSays) merged = mergeTwo(base, merged);
  if (base.description !== undefined) merged.description = base.description;
  if (base.nullable || base['x-nullable']) merged.nullable = true;
  return merged;
}

// ---------------------------------------------------------------------------------
// OpenAPI 3.0 → JSON Schema draft-07 for Airbyte

const KEPT_FORMATS = new Set(['date-time']);

function convert(input: OpenApiSchema, nullable: boolean): StreamJsonSchema {
  const schema = flattenCombinators(input);
  const out: { -readonly [K in keyof StreamJsonSchema]: StreamJsonSchema[K] } = {};
  if (schema.description !== undefined) out.description = schema.description;
  const type = schema[PERMISSIVE] ? undefined : schemaType(schema);
  if (type === undefined) return out; // any JSON value, null included
  out.type = nullable ? [type, 'null'] : type;
  if (type === 'string' && schema.format !== undefined && KEPT_FORMATS.has(schema.format)) out.format = schema.format;
  if (type === 'object') {
    out.additionalProperties = true;
    if (schema.properties !== undefined) out.properties = convertProperties(schema.properties, new Set());
  }
  if (type === 'array') {
    const items = schema.items ?? {};
    out.items = convert(items, Boolean(items.nullable || items['x-nullable']));
  }
  return out;
}

function convertProperties(
  properties: Record<string, OpenApiSchema>,
  nonNullable: ReadonlySet<string>,
): Record<string, StreamJsonSchema> {
  return Object.fromEntries(
    Object.keys(properties)
      .sort()
      .map((name) => [name, convert(properties[name] as OpenApiSchema, !nonNullable.has(name))]),
  );
}

function sortedProperties(properties: Record<string, StreamJsonSchema>): Record<string, StreamJsonSchema> {
  return Object.fromEntries(Object.keys(properties).sort().map((name) => [name, properties[name] as StreamJsonSchema]));
}

/** Key and cursor fields of `stream`. */
export function keyFields(stream: GeneratedStreamName): readonly string[] {
  const { primaryKey, cursor } = STREAM_SOURCES[stream];
  return cursor === undefined || primaryKey.includes(cursor) ? primaryKey : [...primaryKey, cursor];
}

/** Whether the spec requires `name` in a record and does not let it be null. */
function specGuarantees(record: OpenApiSchema, name: string): boolean {
  const parts = [record, ...(record.allOf ?? [])];
  const required = parts.some((part) => part.required?.includes(name));
  const property = parts.map((part) => part.properties?.[name]).find((p) => p !== undefined);
  return required && property !== undefined && !property.nullable && !property['x-nullable'];
}

/**
 * Fields every record of `stream` has, non-null: the primary key (the connector skips
 * items without it) and the cursor where it is always there: injected by the connector,
 * guaranteed by the spec, or filled from a fallback the spec guarantees. A cursor the spec
 * may leave out stays nullable: such records are read too.
 */
export function requiredFields(spec: OpenApiDocument, stream: GeneratedStreamName): readonly string[] {
  const source = STREAM_SOURCES[stream];
  const { primaryKey, cursor, cursorFallback } = source;
  if (cursor === undefined || primaryKey.includes(cursor)) return primaryKey;
  const record = sourceRecordSchema(spec, stream);
  const always = cursor in source.injected || specGuarantees(record, cursor) || (cursorFallback !== undefined && specGuarantees(record, cursorFallback));
  return always ? [...primaryKey, cursor] : primaryKey;
}

export function deriveStreamSchema(spec: OpenApiDocument, stream: GeneratedStreamName): StreamJsonSchema {
  const source = STREAM_SOURCES[stream];
  const record = flattenCombinators(sourceRecordSchema(spec, stream));
  if (schemaType(record) !== 'object') throw new Error(`${stream}: record schema is not an object`);
  const keys = new Set(requiredFields(spec, stream));
  const properties = convertProperties(record.properties ?? {}, keys);
  for (const path of source.dropped) dropProperty(stream, properties, path.split('.'));

  for (const [name, field] of Object.entries(source.injected)) {
    properties[name] = {
      description: field.description,
      type: keys.has(name) ? (field.type ?? 'string') : [field.type ?? 'string', 'null'],
      ...(field.format !== undefined ? { format: field.format } : {}),
    };
  }
  for (const deviation of LIVE_API_DEVIATIONS.filter((d) => d.stream === stream)) {
    const same = properties[deviation.sameAs];
    if (same === undefined) throw new Error(`${stream}: deviation ${deviation.property}: no property ${deviation.sameAs}`);
    properties[deviation.property] = { ...same };
  }
  for (const name of keyFields(stream)) {
    if (properties[name] === undefined) throw new Error(`${stream}: key/cursor field ${name} is not in the record schema`);
  }

  return {
    $schema: JSON_SCHEMA_DRAFT_07,
    type: 'object',
    additionalProperties: true,
    required: [...keys],
    properties: sortedProperties(properties),
  };
}

/** Removes a field the connector drops; one the spec does not have is a mistake in the declaration. */
function dropProperty(stream: StreamName, properties: Record<string, StreamJsonSchema>, path: readonly string[]): void {
  const [head, ...rest] = path as [string, ...string[]];
  const property = properties[head];
  if (property === undefined) throw new Error(`${stream}: sanitize.drop names ${path.join('.')}, which is not in the record schema`);
  if (rest.length === 0) delete properties[head];
  else dropProperty(stream, (property.properties ?? {}) as Record<string, StreamJsonSchema>, rest);
}

/** Every stream's schema, derived from the OpenAPI document. */
export function deriveStreamSchemas(spec: OpenApiDocument): Record<GeneratedStreamName, StreamJsonSchema> {
  return Object.fromEntries(GENERATED_STREAM_NAMES.map((stream) => [stream, deriveStreamSchema(spec, stream)])) as Record<
    GeneratedStreamName,
    StreamJsonSchema
  >;
}

/** The file contents for a schema: 2-space JSON and a final newline. */
export function renderSchema(schema: StreamJsonSchema): string {
  return `${JSON.stringify(schema, null, 2)}\n`;
}

// ---------------------------------------------------------------------------------
// Files

/** The repository root: the nearest ancestor of this module holding the spec. */
export function findRepoRoot(start: string = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    if (existsSync(join(dir, SPEC_PATH))) return dir;
    if (dirname(dir) === dir) throw new Error(`no ${SPEC_PATH} above ${start}`);
  }
}

export function loadSpec(root: string = findRepoRoot()): OpenApiDocument {
  return JSON.parse(readFileSync(join(root, SPEC_PATH), 'utf8')) as OpenApiDocument;
}

/** Rendered file contents by file name (`<stream>.json`), from a fresh derivation. */
export function renderStreamSchemaFiles(spec: OpenApiDocument): Record<string, string> {
  const schemas = deriveStreamSchemas(spec);
  return Object.fromEntries(GENERATED_STREAM_NAMES.map((stream) => [`${stream}.json`, renderSchema(schemas[stream])]));
}

/** Names of files under the schemas directory that differ from a fresh derivation (or are missing / stale). */
export function diffStreamSchemaFiles(root: string = findRepoRoot(), spec: OpenApiDocument = loadSpec(root)): string[] {
  const dir = join(root, SCHEMAS_DIR);
  const expected = renderStreamSchemaFiles(spec);
  const differing = Object.entries(expected)
    .filter(([file, text]) => !existsSync(join(dir, file)) || readFileSync(join(dir, file), 'utf8') !== text)
    .map(([file]) => file);
  const stale = existsSync(dir) ? readdirSync(dir).filter((file) => file.endsWith('.json') && !(file in expected)) : [];
  return [...differing, ...stale].sort();
}

export function writeStreamSchemaFiles(root: string = findRepoRoot(), spec: OpenApiDocument = loadSpec(root)): string[] {
  const dir = join(root, SCHEMAS_DIR);
  const files = renderStreamSchemaFiles(spec);
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  return Object.keys(files).map((file) => join(SCHEMAS_DIR, file));
}

function main(argv: readonly string[]): number {
  const unknown = argv.filter((arg) => arg !== '--check');
  if (unknown.length > 0) {
    process.stderr.write(`usage: derive-stream-schemas [--check]\nunknown arguments: ${unknown.join(' ')}\n`);
    return 2;
  }
  const root = findRepoRoot();
  if (argv.includes('--check')) {
    const differing = diffStreamSchemaFiles(root);
    if (differing.length === 0) {
      process.stdout.write(`${SCHEMAS_DIR}: ${GENERATED_STREAM_NAMES.length} schemas up to date\n`);
      return 0;
    }
    process.stderr.write(
      `${SCHEMAS_DIR}: out of date (regenerate with node dist/tools/schemas/derive-stream-schemas.js):\n` +
        differing.map((file) => `  ${file}\n`).join(''),
    );
    return 1;
  }
  for (const file of writeStreamSchemaFiles(root)) process.stdout.write(`wrote ${file}\n`);
  return 0;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
