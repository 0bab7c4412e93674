/** An API item as JSON: redaction needs nothing more of the declarations (they import this module). */
type ApiRecord = Record<string, unknown>;

/**
 * No secret leaves the connector. What of an API item carries one is declared per stream
 * (`sanitize.drop`, `sanitize.urls`) as data, so the schema generator can leave dropped
 * fields out of the schemas too. Paths are dotted (`event_source.webhook.url`) for fields
 * inside objects. A dropped field is removed whatever its value (an env var's masked value,
 * a webhook's signing secret); a URL field keeps its endpoint and loses the query
 * parameters that carry a credential: CircleCI's spec gives a trigger's webhook URL as
 * `https://some-webhook.invalid/some-endpoint?secret=some-secret` (anyone holding that URL
 * can start pipelines).
 */
export interface Redaction {
  /** Fields removed from every item. */
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

/** A copy of `item` with the redaction applied (`item` itself when nothing changes; it is never modified). */
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
