// The OpenAPI document as JSON Schema for ajv, shared by the conformance suites. See the
// header of conformance.test.ts for how schemas are converted (refs inlined, nullable
// allowed, objects closed).

import { readFileSync } from 'node:fs';

export type Schema = Record<string, unknown>;

export const spec = JSON.parse(
  readFileSync(new URL('../../../test/reference/circleci-openapi.json', import.meta.url), 'utf8'),
) as Schema;

export function resolveRef(ref: string): unknown {
  if (!ref.startsWith('#/')) throw new Error(`external $ref ${ref}`);
  let node: unknown = spec;
  for (const part of ref.slice(2).split('/')) node = (node as Schema)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  if (node === undefined) throw new Error(`dangling $ref ${ref}`);
  return node;
}

/** OpenAPI 3.0 schema -> closed JSON Schema (see header comment). */
export function toJsonSchema(node: unknown, depth = 0): unknown {
  if (depth > 40) throw new Error('schema too deep (cyclic $ref?)');
  if (Array.isArray(node)) return node.map((n) => toJsonSchema(n, depth + 1));
  if (node === null || typeof node !== 'object') return node;
  const src = node as Schema;
  if (typeof src.$ref === 'string') return toJsonSchema(resolveRef(src.$ref), depth + 1);
  const out: Schema = {};
  for (const [k, v] of Object.entries(src)) {
    if (k === 'nullable' || k === 'x-nullable' || k === 'example' || k === 'examples' || k.startsWith('x-')) continue;
    if (k === 'properties') {
      out.properties = Object.fromEntries(Object.entries(v as Schema).map(([pk, pv]) => [pk, toJsonSchema(pv, depth + 1)]));
    } else out[k] = toJsonSchema(v, depth + 1);
  }
  if ((src.nullable === true || src['x-nullable'] === true) && typeof out.type === 'string') {
    out.type = [out.type, 'null'];
    if (Array.isArray(out.enum)) out.enum = [...(out.enum as unknown[]), null];
  }
  if (out.properties !== undefined && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

export const ERROR_SCHEMA: Schema = {
  type: 'object',
  properties: { message: { type: 'string' } },
  required: ['message'],
  additionalProperties: false,
};

/**
 * The closed JSON Schema of a response of an operation (`specPath` without /api/v2): the
 * spec's schema for that status (or `default`), or the {message} error shape where the
 * spec documents none; error bodies must also be exactly {message: string}.
 */
export function responseSchema(specPath: string, method: string, status: number): Schema {
  const op = ((spec.paths as Schema)[specPath] as Schema | undefined)?.[method.toLowerCase()] as Schema | undefined;
  if (!op) throw new Error(`the spec has no ${method} ${specPath}`);
  const responses = op.responses as Schema;
  let resp = (responses[String(status)] ?? responses.default) as Schema | undefined;
  if (resp?.$ref) resp = resolveRef(resp.$ref as string) as Schema;
  const media = (resp?.content as Schema | undefined)?.['application/json'] as Schema | undefined;
  const schema = media?.schema ? (toJsonSchema(media.schema) as Schema) : ERROR_SCHEMA;
  return status >= 400 ? { allOf: [schema, ERROR_SCHEMA] } : schema;
}
