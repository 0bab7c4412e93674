import type { ApiRecord } from './declaration.js';

/**
 * Webhook secrets never leave the connector. CircleCI's spec documents one secret-bearing
 * field in what this connector reads: a trigger's `event_source.webhook.url`, whose
 * example is `https://some-webhook.invalid/some-endpoint?secret=some-secret` (anyone
 * holding that URL can start pipelines). Query parameters whose name says they carry a
 * credential are removed; the rest of the URL stays, so the destination still shows
 * which endpoint a trigger listens on. `signing-secret` (webhooks, masked by CircleCI) is
 * dropped wherever it appears, should a trigger ever carry one.
 */

/** Query parameter names that carry a credential. */
const SECRET_PARAM = /secret|token|password|signature|^sig$|^key$/i;
/** Record fields that are secret whatever their value. */
const SECRET_FIELDS = new Set(['signing-secret', 'signing_secret', 'secret']);

/** `url` without the query parameters that carry a credential; a value that is not a URL is returned as is. */
export function withoutSecretParams(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url;
  }
  const names = [...new Set([...parsed.searchParams.keys()])].filter((name) => SECRET_PARAM.test(name));
  if (names.length === 0) return url;
  for (const name of names) parsed.searchParams.delete(name);
  return parsed.toString();
}

/**
 * A copy of `value` with secret fields dropped and credential query parameters removed from
 * every URL-looking string (pure: `value` is not changed).
 */
export function redactSecrets<T>(value: T): T {
  if (typeof value === 'string') return (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? withoutSecretParams(value) : value) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => redactSecrets(item)) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: ApiRecord = {};
  for (const [key, field] of Object.entries(value as ApiRecord)) {
    if (SECRET_FIELDS.has(key.toLowerCase())) continue;
    out[key] = redactSecrets(field);
  }
  return out as T;
}
