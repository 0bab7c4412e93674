/**
 * The logic of the connector acceptance tests (airbytehq/airbyte,
 * connector_acceptance_test, CAT 3.x), ported: the spec rules, the catalogs CAT builds
 * for each test group, record validation and the choice of intermediate states. Pure
 * functions; the *.test.ts files run the connector and apply them.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

import type { Message } from '../../support/protocol.js';

// ajv-formats is CommonJS; under NodeNext its default import is module.exports.
const addFormats = addFormatsModule.default;

type Json = any;

// ---------------------------------------------------------------------------------------
// Walking JSON schemas
// ---------------------------------------------------------------------------------------

/** Keywords whose value is one schema, a list of schemas, or a map of name → schema. */
const SCHEMA_VALUED = new Set(['items', 'additionalItems', 'not', 'if', 'then', 'else', 'contains', 'additionalProperties', 'propertyNames']);
const SCHEMA_LISTS = new Set(['oneOf', 'anyOf', 'allOf', 'prefixItems', 'items']);
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', 'definitions', '$defs', 'dependentSchemas']);

export interface SchemaNode {
  /** JSON pointer-ish path from the root, e.g. /properties/api_token */
  path: string;
  node: Record<string, Json>;
  /** The property name when this node is a member of a `properties` map. */
  propertyName?: string;
  /** How many `properties` maps deep the node is (top-level properties: 1). */
  depth: number;
}

/**
 * Every schema node (the root, property schemas, items, oneOf variants, …). Keys inside a
 * `properties` map are property names, never keywords: a property called `not` is fine.
 */
export function schemaNodes(root: Json): SchemaNode[] {
  const out: SchemaNode[] = [];
  const visit = (node: Json, path: string, depth: number, propertyName?: string): void => {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return;
    out.push({ path: path || '/', node, depth, ...(propertyName !== undefined ? { propertyName } : {}) });
    for (const [key, value] of Object.entries(node)) {
      if (SCHEMA_MAPS.has(key) && value && typeof value === 'object' && !Array.isArray(value)) {
        for (const [name, child] of Object.entries(value)) visit(child, `${path}/${key}/${name}`, key === 'properties' ? depth + 1 : depth, key === 'properties' ? name : undefined);
      } else if (SCHEMA_LISTS.has(key) && Array.isArray(value)) {
        value.forEach((child, index) => visit(child, `${path}/${key}/${index}`, depth));
      } else if (SCHEMA_VALUED.has(key)) {
        visit(value, `${path}/${key}`, depth);
      }
    }
  };
  visit(root, '', 0);
  return out;
}

/** Every place a key appears anywhere in a JSON document (CAT's find_all_values_for_key_in_schema). */
export function keyOccurrences(document: Json, key: string, path = ''): string[] {
  if (document === null || typeof document !== 'object') return [];
  const found: string[] = [];
  for (const [name, value] of Object.entries(document)) {
    const here = `${path}/${name}`;
    if (name === key) found.push(here);
    found.push(...keyOccurrences(value, key, here));
  }
  return found;
}

/** A check over schema nodes: how many nodes it looked at, and what it found wrong. */
export interface CheckResult {
  visited: number;
  errors: string[];
}

const typesOf = (node: Record<string, Json>): string[] => (Array.isArray(node.type) ? node.type : typeof node.type === 'string' ? [node.type] : []);

// ---------------------------------------------------------------------------------------
// TestSpec rules
// ---------------------------------------------------------------------------------------

/** CAT's secret_property_names fixture. */
export const SECRET_PROPERTY_NAMES = [
  'client_token',
  'access_token',
  'api_token',
  'token',
  'secret',
  'client_secret',
  'password',
  'key',
  'service_account_info',
  'service_account',
  'tenant_id',
  'certificate',
  'jwt',
  'credentials',
  'app_id',
  'appid',
  'refresh_token',
];

/** test_secret_is_properly_marked, plus: nothing without a secret's name is marked. */
export function secretMarking(connectionSpecification: Json): CheckResult {
  const errors: string[] = [];
  const properties = schemaNodes(connectionSpecification).filter((n) => n.propertyName !== undefined);
  for (const { path, node, propertyName } of properties) {
    const named = SECRET_PROPERTY_NAMES.includes(propertyName!.toLowerCase());
    const types = typesOf(node);
    const canHoldSecret = types.some((t) => ['string', 'integer', 'number'].includes(t)) && !node.const;
    const marked = node.airbyte_secret === true;
    if (named && canHoldSecret && !marked) errors.push(`${path} is named like a secret but is not marked airbyte_secret`);
    if (named && marked && !canHoldSecret) errors.push(`${path} is marked airbyte_secret but cannot hold a secret (type ${JSON.stringify(node.type)})`);
    if (!named && marked) errors.push(`${path} is marked airbyte_secret but is not named like a secret`);
  }
  return { visited: properties.length, errors };
}

/** test_enum_usage: no duplicate values in an enum. */
export function duplicateEnums(schema: Json): CheckResult {
  const nodes = schemaNodes(schema);
  const errors = nodes
    .filter(({ node }) => Array.isArray(node.enum) && new Set(node.enum.map((v: Json) => JSON.stringify(v))).size !== node.enum.length)
    .map(({ path, node }) => `${path}/enum has duplicate values: ${JSON.stringify(node.enum)}`);
  return { visited: nodes.length, errors };
}

/** test_oneof_usage: oneOf groups on objects, variants with properties, exactly one common const property. */
export function oneOfUsage(schema: Json): CheckResult {
  const nodes = schemaNodes(schema);
  const errors: string[] = [];
  for (const { path, node } of nodes) {
    for (const keyword of ['oneOf', 'anyOf']) {
      const variants = node[keyword];
      if (!Array.isArray(variants)) continue;
      if (node.type !== 'object') errors.push(`${path}: a ${keyword} block must sit on type object`);
      if (!variants.every((v: Json) => v && typeof v.properties === 'object')) {
        errors.push(`${path}/${keyword}: every variant must be an object with properties`);
        continue;
      }
      const names = variants.map((v: Json) => new Set(Object.keys(v.properties)));
      const common = [...names[0]!].filter((name) => names.every((set: Set<string>) => set.has(name)));
      if (common.length === 0) errors.push(`${path}/${keyword}: the variants share no property`);
      const constant = common.filter((name) => variants.every((v: Json) => 'const' in v.properties[name]));
      if (constant.length !== 1) errors.push(`${path}/${keyword}: exactly one common property must carry const (found ${constant.length})`);
      for (const name of constant) {
        variants.forEach((v: Json, i: number) => {
          const prop = v.properties[name];
          if ('default' in prop && prop.default !== prop.const) errors.push(`${path}/${keyword}/${i}/${name}: default differs from const`);
          if ('enum' in prop && !(prop.enum.length === 1 && prop.enum[0] === prop.const)) errors.push(`${path}/${keyword}/${i}/${name}: enum other than [const]`);
        });
      }
    }
  }
  return { visited: nodes.length, errors };
}

/** test_property_type_is_not_array: a property's type is one type or [type, "null"]. */
export function propertyTypes(schema: Json): CheckResult {
  const properties = schemaNodes(schema).filter((n) => n.propertyName !== undefined);
  const errors: string[] = [];
  for (const { path, node } of properties) {
    if (!Array.isArray(node.type)) continue;
    if (node.type.length > 2 || node.type.length === 0) errors.push(`${path}/type must be one type or [type, "null"]: ${JSON.stringify(node.type)}`);
    else if (node.type.length === 2 && node.type[1] !== 'null') errors.push(`${path}/type: the second type must be "null": ${JSON.stringify(node.type)}`);
  }
  return { visited: properties.length, errors };
}

/** test_object_not_empty: every object declares properties (or oneOf). */
export function objectsNotEmpty(schema: Json): CheckResult {
  const objects = schemaNodes(schema).filter(({ node }) => typesOf(node).includes('object'));
  const errors = objects
    .filter(({ node }) => !('oneOf' in node) && (typeof node.properties !== 'object' || Object.keys(node.properties).length === 0))
    .map(({ path }) => `${path} is an object without properties or oneOf`);
  return { visited: objects.length, errors };
}

/** test_array_type: array items are one schema of type object, string, number or integer (or an enum). */
export function arrayItems(schema: Json): CheckResult {
  const arrays = schemaNodes(schema).filter(({ node }) => typesOf(node).includes('array'));
  const errors: string[] = [];
  for (const { path, node } of arrays) {
    if (node.items === undefined) continue;
    if (Array.isArray(node.items)) errors.push(`${path}/items must be a single schema, not a list`);
    else if (!['object', 'string', 'number', 'integer'].includes(node.items.type) && !('enum' in node.items)) {
      errors.push(`${path}/items must be of type object, string, number or integer, or define an enum`);
    }
  }
  return { visited: arrays.length, errors };
}

export const FORBIDDEN_SPEC_KEYWORDS = ['not', 'anyOf', 'patternProperties', 'prefixItems', 'allOf', 'if', 'then', 'else', 'dependentSchemas', 'dependentRequired'];

/** test_forbidden_complex_types (and, with other keywords, test_defined_keyword_exist_in_schema). */
export function forbiddenKeywords(schema: Json, keywords: readonly string[] = FORBIDDEN_SPEC_KEYWORDS): CheckResult {
  const nodes = schemaNodes(schema);
  const errors = nodes.flatMap(({ path, node }) => keywords.filter((k) => k in node).map((k) => `${path}/${k}`));
  return { visited: nodes.length, errors };
}

/** test_duplicate_order: `order` unique among the properties of one object (per group). */
export function duplicateOrders(schema: Json): CheckResult {
  const objects = schemaNodes(schema).filter(({ node }) => node.type === 'object' && node.properties && typeof node.properties === 'object');
  const errors: string[] = [];
  for (const { path, node } of objects) {
    const used = new Map<string, Set<unknown>>();
    for (const [name, prop] of Object.entries<Json>(node.properties)) {
      if (!prop || !('order' in prop)) continue;
      const group = String(prop.group ?? '');
      const orders = used.get(group) ?? new Set();
      if (orders.has(prop.order)) errors.push(`${path}/properties/${name} repeats order ${prop.order}`);
      orders.add(prop.order);
      used.set(group, orders);
    }
  }
  return { visited: objects.length, errors };
}

/** test_nested_group: `group` only on top-level properties. */
export function nestedGroups(schema: Json): CheckResult {
  const nodes = schemaNodes(schema);
  const errors = nodes.filter(({ node, depth, propertyName }) => 'group' in node && !(depth === 1 && propertyName !== undefined)).map(({ path }) => `${path}/group is not on a top-level property`);
  return { visited: nodes.length, errors };
}

/** test_additional_properties_is_true: additionalProperties, where present, is true. */
export function additionalPropertiesTrue(schema: Json): CheckResult {
  const nodes = schemaNodes(schema);
  const errors = nodes.filter(({ node }) => 'additionalProperties' in node && node.additionalProperties !== true).map(({ path }) => `${path}/additionalProperties is not true`);
  return { visited: nodes.length, errors };
}

// ---------------------------------------------------------------------------------------
// Catalogs CAT builds
// ---------------------------------------------------------------------------------------

/** basic_read at strictness high: the discovered catalog, each stream in its first supported sync mode. */
export function basicReadCatalog(discovered: { streams: Json[] }, emptyStreams: readonly string[] = []): { streams: Json[] } {
  return {
    streams: discovered.streams
      .filter((stream) => !emptyStreams.includes(stream.name))
      .map((stream) => ({
        stream,
        sync_mode: stream.supported_sync_modes[0],
        destination_sync_mode: 'append',
        ...(stream.default_cursor_field ? { cursor_field: stream.default_cursor_field } : {}),
        ...(stream.source_defined_primary_key ? { primary_key: stream.source_defined_primary_key } : {}),
      })),
  };
}

/** full_refresh_only_catalog: every stream that supports it, in full refresh. */
export function fullRefreshOnly(configured: { streams: Json[] }): { streams: Json[] } {
  return {
    streams: configured.streams
      .filter((s) => s.stream.supported_sync_modes.includes('full_refresh'))
      .map((s) => ({ ...s, sync_mode: 'full_refresh', destination_sync_mode: 'overwrite' })),
  };
}

/** incremental_only_catalog (+ the default cursor where the configured stream names none). */
export function incrementalOnly(configured: { streams: Json[] }): { streams: Json[] } {
  return {
    streams: configured.streams
      .filter((s) => s.stream.supported_sync_modes.includes('incremental'))
      .map((s) => ({ ...s, sync_mode: 'incremental', cursor_field: s.cursor_field ?? s.stream.default_cursor_field })),
  };
}

/** The catalog of CAT's test_airbyte_trace_message_on_failure: a stream that does not exist, sync_mode INVALID. */
export function invalidCatalog(): { streams: Json[] } {
  return {
    streams: [
      {
        stream: {
          name: '__AIRBYTE__stream_that_does_not_exist',
          json_schema: { type: 'object', properties: { f1: { type: 'string' } } },
          supported_sync_modes: ['full_refresh'],
        },
        sync_mode: 'INVALID',
        destination_sync_mode: 'INVALID',
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------

export function recordsOf(messages: Message[], stream?: string): Array<Record<string, any>> {
  return messages.filter((m) => m.type === 'RECORD' && (stream === undefined || m.record.stream === stream)).map((m) => m.record);
}

export function statesOf(messages: Message[], stream?: string): Message[] {
  return messages.filter((m) => m.type === 'STATE' && (stream === undefined || m.state.stream?.stream_descriptor?.name === stream));
}

/** The value at a primary-key path (CAT's _extract_primary_key_value). */
export function valueAt(data: Json, path: readonly string[]): Json {
  return path.reduce<Json>((value, key) => (value !== null && typeof value === 'object' && !Array.isArray(value) ? value[key] : undefined), data);
}

/** A record's identity: its primary-key values, as one string. */
export function primaryKeyOf(data: Json, primaryKey: ReadonlyArray<readonly string[]>): string {
  return JSON.stringify(primaryKey.map((path) => valueAt(data, path) ?? null));
}

/** Key-order-independent serialisation (CAT compares with make_hashable). */
export function canonical(value: Json): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * A RECORD line parsed for schema validation only: an integral number written as a float
 * literal (1.0, 2e0) is revived as a non-integer, so a field typed integer rejects it as
 * CAT's strict validator does. (JSON.parse alone cannot tell 1.0 from 1.)
 */
export function parseMarkingFloats(line: string): Json {
  const reviver = (_key: string, value: Json, context?: { source?: string }): Json =>
    typeof value === 'number' && Number.isInteger(value) && context?.source !== undefined && /[.eE]/.test(context.source) ? value + 0.5 : value;
  return JSON.parse(line, reviver as (key: string, value: Json) => Json);
}

/** Draft-07 validators with ajv-formats (date-time must parse), one per stream schema. */
export function recordValidators(streams: ReadonlyArray<{ name: string; json_schema: Json }>): Map<string, ValidateFunction> {
  // strict: false — stream schemas may carry annotations ajv does not know.
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  return new Map(streams.map((s) => [s.name, ajv.compile(s.json_schema)]));
}

/** The paths a schema describes and the paths a record has (CAT's _validate_records_structure). */
export function schemaPaths(schema: Json, prefix = ''): Set<string> {
  const out = new Set<string>();
  for (const [name, child] of Object.entries<Json>(schema?.properties ?? {})) {
    const path = `${prefix}/${name}`;
    out.add(path);
    for (const nested of schemaPaths(child, path)) out.add(nested);
    if (child?.items) for (const nested of schemaPaths(child.items, `${path}/[]`)) out.add(nested);
  }
  return out;
}

export function objectPaths(value: Json, prefix = ''): Set<string> {
  const out = new Set<string>();
  if (Array.isArray(value)) {
    for (const item of value) for (const nested of objectPaths(item, `${prefix}/[]`)) out.add(nested);
  } else if (value !== null && typeof value === 'object') {
    for (const [name, child] of Object.entries(value)) {
      out.add(`${prefix}/${name}`);
      for (const nested of objectPaths(child, `${prefix}/${name}`)) out.add(nested);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Intermediate states (test_read_sequential_slices)
// ---------------------------------------------------------------------------------------

/** CAT's MIN_BATCHES_TO_TEST: at most about this many intermediate states are read from. */
export const MIN_BATCHES_TO_TEST = 5;

export interface SelectedState {
  /** The state message (a copy; its sourceStats holds the merged count). */
  message: Message;
  /** Its index among the run's STATE messages. */
  index: number;
  /** Records the first read emitted after this state: a read from it must return at least that many. */
  expectedRecordCount: number;
}

const recordCountOf = (message: Message): number => Number(message.state.sourceStats?.recordCount ?? 0);
const streamStateOf = (message: Message): string => canonical(message.state.stream?.stream_state ?? message.state);

/**
 * CAT's _get_unique_state_messages_with_record_count and
 * _states_with_expected_record_count_batch_selector: consecutive equal states merged
 * (their counts summed), states with no records dropped, then a sample of up to about
 * MIN_BATCHES_TO_TEST of them, never the first nor the last (or only the last when fewer
 * than three remain).
 */
export function selectIntermediateStates(states: readonly Message[]): SelectedState[] {
  const copies = states.map((message, index) => ({ message: structuredClone(message), index }));
  let unique: typeof copies = [];
  if (copies.length <= 1) {
    unique = copies.filter((c) => recordCountOf(c.message) > 0);
  } else {
    let current = 0;
    while (current < copies.length - 1) {
      let next = current + 1;
      while (streamStateOf(copies[current]!.message) === streamStateOf(copies[next]!.message) && next < copies.length - 1) next++;
      const merged = copies.slice(current, next).reduce((sum, c) => sum + recordCountOf(c.message), 0);
      copies[current]!.message.state.sourceStats = { recordCount: merged };
      unique.push(copies[current]!);
      if (next === copies.length - 1 && streamStateOf(copies[current]!.message) !== streamStateOf(copies[next]!.message)) unique.push(copies[next]!);
      current = next;
    }
  }
  const nonZero = unique.filter((c) => recordCountOf(c.message) > 0);
  const total = nonZero.reduce((sum, c) => sum + recordCountOf(c.message), 0);
  let seen = 0;
  const withCounts = nonZero.map((c) => {
    seen += recordCountOf(c.message);
    return { message: c.message, index: c.index, expectedRecordCount: total - seen };
  });
  if (withCounts.length < 3) return withCounts.slice(-1);
  const sampleRate = Math.floor(withCounts.length / MIN_BATCHES_TO_TEST) || 1;
  return withCounts.filter((_, idx) => idx !== 0 && idx % sampleRate === 0 && idx !== withCounts.length - 1);
}

/** Records of a run that change between two reads? CAT's naive_diff_records: order-insensitive multiset comparison of data. */
export function sameRecordData(first: ReadonlyArray<Record<string, any>>, second: ReadonlyArray<Record<string, any>>): boolean {
  const a = first.map((r) => canonical(r.data)).sort();
  const b = second.map((r) => canonical(r.data)).sort();
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

/** The per-stream state list CAT passes to the next read (construct_latest_state_from_messages). */
export function latestStateInput(states: readonly Message[]): Array<Record<string, any>> {
  const latest = new Map<string, Record<string, any>>();
  for (const message of states) {
    const name = message.state.stream.stream_descriptor.name as string;
    latest.set(name, { type: 'STREAM', stream: { stream_descriptor: { name }, stream_state: message.state.stream.stream_state ?? {} } });
  }
  return [...latest.values()];
}
