// Request and spec-check helpers of the inventory and usage export suites: any method with
// a body, and validation of a JSON answer against the closed spec schema of its route.

import { expect } from '@jest/globals';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FakeCircleCiCore } from '../../tools/fake-circleci/dispatch.js';
import { routeByName, type RouteName } from '../../tools/fake-circleci/routes.js';
import type { Response } from './helpers.js';
import { responseSchema } from './openapi.js';

const ajv = new Ajv({ strict: false, allErrors: true });
addFormatsModule.default(ajv);
const compiled = new Map<string, ValidateFunction>();

export async function send(
  core: FakeCircleCiCore,
  method: string,
  path: string,
  options: { token?: string | null; body?: unknown; headers?: Record<string, string>; baseUrl?: string } = {},
): Promise<Response> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  const token = options.token === undefined ? core.world.token : options.token;
  if (token !== null) headers['circle-token'] = token;
  const body = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  if (body !== undefined) headers['content-type'] = 'application/json';
  const out = await core.handle({ method, path, headers, body, baseUrl: options.baseUrl });
  if (out.kind !== 'response') throw new Error(`expected a response for ${method} ${path}, got ${out.kind}`);
  return out;
}

/** Throw unless the JSON answer matches the spec's closed schema for its route and status. */
export function expectConforms(res: Response): void {
  const route = routeByName(res.route as RouteName);
  if (!route.specPath) throw new Error(`route ${route.name} is not in the spec`);
  expect(res.headers['Content-Type']).toBe('application/json; charset=utf-8');
  const key = `${route.name}:${res.status}`;
  let fn = compiled.get(key);
  if (!fn) {
    fn = ajv.compile(responseSchema(route.specPath, route.method, res.status));
    compiled.set(key, fn);
  }
  if (!fn(JSON.parse(res.body))) {
    throw new Error(`${key} does not match the spec:\n${ajv.errorsText(fn.errors, { separator: '\n' })}\n${res.body.slice(0, 600)}`);
  }
}
