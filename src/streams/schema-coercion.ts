import type { AirbyteRecordMessageMetaChange } from '../protocol/messages.js';
import type { ApiRecord } from './declaration.js';
import type { JsonSchemaTypeName, StreamJsonSchema } from './schemas/types.js';

/**
 * Makes a record fit the JSON schema discover declares for its stream. CircleCI sends
 * values of another type than its spec says (an official example has `run_time: ""`,
 * hand-written mocks send `"number": "25"`); a typed destination would drop them
 * silently. A value is converted where nothing is lost (`""` → null for a number, boolean
 * or date-time; `"25"` → 25; 25 → "25"); otherwise it is set to null and the change is
 * recorded as the Airbyte protocol defines (AirbyteRecordMessageMetaChange).
 *
 * Each schema is compiled once into a tree of small functions, so a record costs one
 * walk over the fields its schema declares: a value of the right type is returned as it
 * is, and an object or array is copied only when something in it changed.
 */
export type FieldChange = AirbyteRecordMessageMetaChange;

/**
 * Coerces `value`; returns it unchanged when it fits. `base` is the path of the nearest
 * array element above ('' at the record). UNFIT: the value does not fit and its schema
 * does not allow null either, so the object or array holding it is nulled instead.
 */
type Coerce = (value: unknown, changes: FieldChange[], base: string) => unknown;
const UNFIT = Symbol('unfit');

/** A record's coercer: the record as it fits its schema, and what had to be nulled. */
export type RecordCoercer = (record: ApiRecord) => { record: ApiRecord; changes: FieldChange[] | undefined };

/** RFC 3339 date-time, as JSON schema's `format: date-time` means it (with or without fractions of a second). */
const DATE_TIME = /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])[Tt ](?:[01]\d|2[0-3]):[0-5]\d:(?:[0-5]\d|60)(?:\.\d+)?(?:[Zz]|[+-](?:[01]\d|2[0-3])(?::?[0-5]\d)?)$/;
/** A decimal number as JSON writes one, nothing around it. */
const NUMERIC = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** Compiles the coercer of a stream's record schema (an object at the top). */
export function compileRecordCoercer(schema: StreamJsonSchema): RecordCoercer {
  const coerce = compile(schema, '', true);
  if (coerce === undefined) return (record) => ({ record, changes: undefined });
  return (record) => {
    const changes: FieldChange[] = [];
    const out = coerce(record, changes, '') as ApiRecord;
    return { record: out, changes: changes.length > 0 ? changes : undefined };
  };
}

/** `top`: the record itself, where a field that fits in no way (a key, a required cursor) is left for the reader to judge. */
function compile(schema: StreamJsonSchema, path: string, top = false): Coerce | undefined {
  const types = schema.type === undefined ? [] : typeof schema.type === 'string' ? [schema.type] : schema.type;
  const nonNull = types.filter((type) => type !== 'null') as JsonSchemaTypeName[];
  if (nonNull.length !== 1) return undefined; // no type (any value), or a union the generator never writes
  const nullable = types.includes('null');
  const type = nonNull[0]!;
  const nulled = (value: unknown, changes: FieldChange[], base: string): unknown => {
    if (!nullable) return UNFIT;
    if (value === null) return value;
    changes.push({ field: fieldPath(base, path), change: 'NULLED', reason: 'SOURCE_SERIALIZATION_ERROR' });
    return null;
  };
  switch (type) {
    case 'string':
      return schema.format === 'date-time' ? dateTime(nullable, nulled) : text(nulled);
    case 'integer':
    case 'number':
      return numeric(type === 'integer', nullable, nulled);
    case 'boolean':
      return boolean(nullable, nulled);
    case 'object':
      return object(schema, path, nulled, top);
    case 'array':
      return array(schema, path, nulled);
    default:
      return undefined;
  }
}

type Nulled = (value: unknown, changes: FieldChange[], base: string) => unknown;

function fieldPath(base: string, path: string): string {
  return base === '' ? path : path === '' ? base : `${base}.${path}`;
}

function text(nulled: Nulled): Coerce {
  return (value, changes, base) => {
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    return nulled(value, changes, base);
  };
}

function dateTime(nullable: boolean, nulled: Nulled): Coerce {
  return (value, changes, base) => {
    if (typeof value === 'string') {
      if (DATE_TIME.test(value)) return value;
      if (value === '' && nullable) return null;
    }
    return nulled(value, changes, base);
  };
}

function numeric(integer: boolean, nullable: boolean, nulled: Nulled): Coerce {
  return (value, changes, base) => {
    if (typeof value === 'number') return !integer || Number.isInteger(value) ? value : nulled(value, changes, base);
    if (typeof value === 'string') {
      const trimmed = value.trim();
      if (trimmed === '' && nullable) return null;
      if (NUMERIC.test(trimmed)) {
        const number = Number(trimmed);
        if (Number.isFinite(number) && (!integer || Number.isInteger(number))) return number;
      }
    }
    return nulled(value, changes, base);
  };
}

function boolean(nullable: boolean, nulled: Nulled): Coerce {
  return (value, changes, base) => {
    if (typeof value === 'boolean') return value;
    if (value === 'true' || value === 'false') return value === 'true';
    if (value === '' && nullable) return null;
    return nulled(value, changes, base);
  };
}

function object(schema: StreamJsonSchema, path: string, nulled: Nulled, top: boolean): Coerce {
  const fields: Array<[name: string, coerce: Coerce]> = [];
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    const coerce = compile(property, path === '' ? name : `${path}.${name}`);
    if (coerce !== undefined) fields.push([name, coerce]);
  }
  return (value, changes, base) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return nulled(value, changes, base);
    const input = value as Record<string, unknown>;
    let out: Record<string, unknown> | undefined;
    for (const [name, coerce] of fields) {
      const field = input[name];
      if (field === undefined) continue;
      const fitted = coerce(field, changes, base);
      if (fitted === UNFIT) {
        if (top) continue;
        return nulled(value, changes, base);
      }
      if (fitted !== field) (out ??= { ...input })[name] = fitted;
    }
    return out ?? input;
  };
}

function array(schema: StreamJsonSchema, path: string, nulled: Nulled): Coerce {
  // Items are compiled with paths relative to their element; the element's index joins at run time.
  const item = schema.items === undefined ? undefined : compile(schema.items, '');
  return (value, changes, base) => {
    if (!Array.isArray(value)) return nulled(value, changes, base);
    if (item === undefined) return value;
    const prefix = fieldPath(base, path);
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const element: unknown = value[i];
      const fitted = item(element, changes, `${prefix}[${i}]`);
      if (fitted === UNFIT) return nulled(value, changes, base);
      if (fitted !== element) (out ??= [...value])[i] = fitted;
    }
    return out ?? value;
  };
}
