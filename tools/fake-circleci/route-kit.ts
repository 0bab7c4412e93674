// What every route module of the fake answers with: the request and response shapes, error
// and page helpers. Kept apart from the route table (routes.ts) so that the route modules
// it gathers (insights, inventory, usage export) import these without importing the table.

import { hashStr, mac } from './hash.js';
import type { Json, JsonObject, World } from './world.js';

export interface RouteRequest {
  method: string;
  /** Path params, URL-decoded. */
  params: Record<string, string>;
  query: URLSearchParams;
  /** Lower-cased header names. */
  headers: Record<string, string | undefined>;
  /** The request body as text (POST). */
  body?: string;
  /** Host root the client reached the fake at (e.g. http://127.0.0.1:41234), for URLs the fake hands out. */
  baseUrl: string;
}

export interface RouteResponse {
  status: number;
  headers?: Record<string, string>;
  body: Json;
  /** A body sent as these bytes instead of `body` as JSON (headers then set Content-Type). */
  raw?: Buffer;
}

export function errorBody(message: string): JsonObject {
  return { message };
}

export function err(status: number, message: string): RouteResponse {
  return { status, body: errorBody(message) };
}

export function ok(body: Json): RouteResponse {
  return { status: 200, body };
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}

/**
 * Text of at least this many bytes encodes to a token of at least 140 characters: CircleCI's
 * page tokens are opaque strings of ~140 characters (live API, test/reference/README.md).
 */
const TOKEN_TEXT_BYTES = 105;

/** Encode an opaque, signed page token: scope + cursor + issue time (world clock), padded to CircleCI's length. */
export function makePageToken(world: World, scope: string, cursor: string): string {
  const payload = `${hashStr(scope).toString(36)}~${cursor}~${world.nowMs.toString(36)}`;
  const text = `${payload}~${mac(world.pageTokenSecret, payload)}`.padEnd(TOKEN_TEXT_BYTES, '~');
  return Buffer.from(text, 'utf8').toString('base64url');
}

type TokenResult = { ok: true; cursor: string | undefined } | { ok: false; response: RouteResponse };

/** Read the `page-token` query parameter for a scope. */
export function readPageToken(world: World, scope: string, query: URLSearchParams): TokenResult {
  const token = query.get('page-token');
  if (token === null || token === '') return { ok: true, cursor: undefined };
  let text: string;
  try {
    text = Buffer.from(token, 'base64url').toString('utf8');
  } catch {
    return { ok: false, response: err(400, 'Invalid page-token.') };
  }
  const parts = text.replace(/~+$/, '').split('~');
  if (parts.length !== 4) return { ok: false, response: err(400, 'Invalid page-token.') };
  const [scopeHash, cursor, issued, sig] = parts as [string, string, string, string];
  if (mac(world.pageTokenSecret, `${scopeHash}~${cursor}~${issued}`) !== sig) {
    return { ok: false, response: err(400, 'Invalid page-token.') };
  }
  if (scopeHash !== hashStr(scope).toString(36)) {
    return { ok: false, response: err(400, 'Invalid page-token.') };
  }
  const ttl = world.options.pageTokenTtlMs;
  if (ttl !== undefined && world.nowMs - parseInt(issued, 36) > ttl) {
    return { ok: false, response: err(404, 'Page token not found or expired.') };
  }
  return { ok: true, cursor };
}

/**
 * One page of a fully materialized (small) list, keyset-paginated, as the API answers it:
 * `{items, next_page_token}`. The key of an item may use its position (lists with repeats).
 */
export function paginate<T extends Json>(
  world: World,
  scope: string,
  query: URLSearchParams,
  items: T[],
  keyOf: (t: T, index: number) => string,
  size: number,
): RouteResponse {
  const tok = readPageToken(world, scope, query);
  if (!tok.ok) return tok.response;
  let from = 0;
  if (tok.cursor !== undefined) {
    const at = items.findIndex((t, i) => keyOf(t, i) === tok.cursor);
    if (at < 0) return err(404, 'Page token not found or expired.');
    from = at + 1;
  }
  const page = items.slice(from, from + size);
  const last = page[page.length - 1];
  const next =
    from + size < items.length && last !== undefined ? makePageToken(world, scope, keyOf(last, from + page.length - 1)) : null;
  return ok({ items: page, next_page_token: next });
}

export function isResponse(x: unknown): x is RouteResponse {
  return typeof x === 'object' && x !== null && 'status' in x && 'body' in x;
}

export function parsePositiveInt(
  query: URLSearchParams,
  name: string,
  fallback: number | undefined,
): number | RouteResponse | undefined {
  const raw = query.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) return err(400, `Invalid ${name}: must be a positive integer.`);
  return Number(raw);
}

