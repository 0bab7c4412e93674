import type { ApiRecord } from './declaration.js';

/**
 * What of an API item never leaves the connector, as a stream declares it (`redact`):
 * fields dropped whatever their value, and URL fields kept without the query parameters
 * that carry a credential (the rest of the URL still says which endpoint it is). Paths
 * are dotted (`event_source.webhook.url`) for fields inside objects.
 */
export interface Redaction {
  /** Fields removed from every item (a secret, or a masked form of one). */
  drop?: readonly string[];
  /** Fields holding a URL whose credential-bearing query parameters are removed. */
  urls?: readonly string[];
}

/** Query parameter names that carry a credential. */
const SECRET_PARAM = /secret|token|password|signature|^sig$|^key$/i;

/** `url` without the query parameters that carry a credential; a value that is not a URL is returned as is. */
export function withoutSecretParams(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url;
  }
  const names = [...new Set(parsed.searchParams.keys())].filter((name) => SECRET_PARAM.test(name));
  if (names.length === 0) return url;
  for (const name of names) parsed.searchParams.delete(name);
  return parsed.toString();
}

/** A copy of `item` with the redaction applied (`item` is not changed). */
export function redact(item: ApiRecord, redaction: Redaction): ApiRecord {
  let out = item;
  for (const path of redaction.drop ?? []) out = update(out, path.split('.'), () => undefined);
  for (const path of redaction.urls ?? []) out = update(out, path.split('.'), (value) => (typeof value === 'string' ? withoutSecretParams(value) : value));
  return out;
}

/** `record` with the field at `path` replaced by `change(value)` (removed when undefined), copying only what changes. */
function update(record: ApiRecord, path: readonly string[], change: (value: unknown) => unknown): ApiRecord {
  const [head, ...rest] = path as [string, ...string[]];
  if (!Object.hasOwn(record, head)) return record;
  const value = record[head];
  let next: unknown;
  if (rest.length === 0) next = change(value);
  else if (value !== null && typeof value === 'object' && !Array.isArray(value)) next = update(value as ApiRecord, rest, change);
  else return record;
  if (next === value) return record;
  const { [head]: _removed, ...others } = record;
  return next === undefined ? others : { ...record, [head]: next };
}
