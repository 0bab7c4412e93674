import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { parseUserDate } from './dates.js';

/**
 * The connector's configuration after validation and normalisation. spec.json is what the
 * Airbyte UI renders; this schema is what the code trusts. They describe the same fields
 * (a test keeps them in step); this one is more lenient where the spec cannot be
 * (project_slugs as one space-separated string).
 */
export interface Config {
  apiToken: string;
  /** Project slugs and slug globs (`gh/acme/*`), normalised; empty: every project the token can see (src/scope). */
  projectSlugs: string[];
  /** Slugs and globs taken out of the scope. */
  excludeProjectSlugs: string[];
  /** The projects are split into this many shards by a hash of the slug (src/scope/shard.ts); this run reads `shardIndex`. */
  shardCount: number;
  shardIndex: number;
  startDate: string;
  apiUrl: string;
  maxConcurrency: number;
  /** A ceiling on the request rate; undefined: none (the governor finds the server's limit). */
  requestsPerMinute: number | undefined;
  maxRetryAfterSeconds: number;
  pageSize: number;
  workflowLookbackHours: number;
  /** How long one sync waits for a usage export job before leaving it in the state for the next sync. */
  usageExportMaxWaitMinutes: number;
}

const SLUG = /^(gh|github|bb|bitbucket|circleci)\/([^/\s]+)\/([^/\s]+)$/;
const VCS_ALIASES: Record<string, string> = { github: 'gh', bitbucket: 'bb' };
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** Normalises `github/org/repo` to `gh/org/repo` (the spelling CircleCI returns), or undefined if not a slug. */
export function normaliseSlug(slug: string): string | undefined {
  const match = SLUG.exec(slug.trim());
  if (!match) return undefined;
  const [, vcs, org, repo] = match as unknown as [string, string, string, string];
  return `${VCS_ALIASES[vcs] ?? vcs}/${org}/${repo}`;
}

const SLUG_HELP = 'expected gh/<org>/<repo>, bb/<workspace>/<repo> or circleci/<org-id>/<project-id> (globs such as gh/<org>/* allowed)';

/** Zod error option: `missing` when the field is absent, `wrongType` when it holds something else. */
const requiredAs = (missing: string, wrongType: string) => ({
  error: (issue: { input?: unknown }) => (issue.input === undefined ? missing : wrongType),
});

const wholeNumber = (name: string, min: number, max: number) =>
  z
    .number({ error: `${name} must be a whole number from ${min} to ${max}` })
    .int({ error: `${name} must be a whole number from ${min} to ${max}` })
    .min(min, { error: `${name} must be at least ${min}` })
    .max(max, { error: `${name} must be at most ${max}` });

const integerIn = (name: string, min: number, max: number, fallback: number) => wholeNumber(name, min, max).default(fallback);

/** More connections than this would each read a handful of projects; the bound catches typos. */
const MAX_SHARDS = 1024;

/**
 * A list of project slugs or slug globs (`*` and `?` within the org and repo parts:
 * `gh/acme/*`, `gh/acme/api-*`), as a list or one space- or comma-separated string;
 * normalised (`github/` → `gh/`) and deduplicated. Empty is allowed: what it means is the
 * field's (every project, no exclusion).
 */
const slugList = (field: string) =>
  z
    .union(
      [z.array(z.string({ error: `each entry of ${field} must be a string; ${SLUG_HELP}` })), z.string()],
      { error: `${field} must be a list of project slug strings (${SLUG_HELP})` },
    )
    .transform((value, ctx) => {
      const raw = (Array.isArray(value) ? value : value.split(/[\s,]+/)).map((s) => s.trim()).filter((s) => s !== '');
      const slugs: string[] = [];
      const wrong: string[] = [];
      for (const slug of raw) {
        const normal = normaliseSlug(slug);
        if (normal === undefined) wrong.push(`"${slug}"`);
        else if (!slugs.includes(normal)) slugs.push(normal);
      }
      if (wrong.length > 0) {
        const subject = wrong.length === 1 ? `${wrong[0]} is not a project slug` : `${wrong.join(', ')} are not project slugs`;
        ctx.addIssue({ code: 'custom', message: `${field}: ${subject}; ${SLUG_HELP}` });
        return z.NEVER;
      }
      return slugs;
    });

const ConfigInput = z.object({
  api_token: z
    .string(requiredAs('api_token is required: a CircleCI personal API token', 'api_token must be a string: a CircleCI personal API token'))
    .trim()
    .min(1, { error: 'api_token is empty: a CircleCI personal API token is required' }),
  project_slugs: slugList('project_slugs').optional(),
  exclude_project_slugs: slugList('exclude_project_slugs').optional(),
  start_date: z
    .string(
      requiredAs('start_date is required: a date such as 2025-01-01 (or 01/31/2025)', 'start_date must be a string such as 2025-01-01 (or 01/31/2025)'),
    )
    .transform((value, ctx) => {
      const iso = parseUserDate(value);
      if (iso === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `start_date "${value}" is not a valid date; use YYYY-MM-DD, an ISO 8601 date-time, or MM/DD/YYYY`,
        });
        return z.NEVER;
      }
      return iso;
    }),
  api_url: z
    .string({ error: 'api_url must be a URL such as https://circleci.com' })
    .default('https://circleci.com')
    .transform((value, ctx) => {
      const normal = normaliseApiUrl(value);
      if (typeof normal !== 'string') {
        ctx.addIssue({ code: 'custom', message: normal.error });
        return z.NEVER;
      }
      return normal;
    }),
  max_concurrency: integerIn('max_concurrency', 1, 64, 8),
  requests_per_minute: wholeNumber('requests_per_minute', 1, 100_000).optional(),
  page_size: integerIn('page_size', 1, 100, 100),
  workflow_lookback_hours: integerIn('workflow_lookback_hours', 0, 720, 24),
  max_retry_after_seconds: integerIn('max_retry_after_seconds', 1, 86_400, 600),
  usage_export_max_wait_minutes: integerIn('usage_export_max_wait_minutes', 0, 240, 5),
  shard_count: integerIn('shard_count', 1, MAX_SHARDS, 1),
  shard_index: integerIn('shard_index', 0, MAX_SHARDS - 1, 0),
}).superRefine((config, ctx) => {
  if (config.shard_index >= config.shard_count) {
    ctx.addIssue({
      code: 'custom',
      path: ['shard_index'],
      message: `shard_index ${config.shard_index} is out of range for shard_count ${config.shard_count}: shards are numbered from 0 to ${config.shard_count - 1}`,
    });
  }
});

function normaliseApiUrl(value: string): string | { error: string } {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return { error: `api_url "${value}" is not a URL; expected something like https://circleci.com` };
  }
  // Checked first, and the URL is quoted without them from here on: a message must not repeat a password.
  if (url.username || url.password) return { error: 'api_url must not contain a user name or password' };
  const shown = `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return { error: `api_url "${shown}" must start with https://` };
  }
  if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname)) {
    return { error: `api_url "${shown}" uses http:// for a remote host; the API token must travel over https://` };
  }
  if (url.search || url.hash) return { error: `api_url "${shown}" must not have a query or fragment; give the API host, such as https://circleci.com` };
  // Users paste the API root too (https://circleci.com/api/v2); the client adds that part itself.
  const path = url.pathname.replace(/\/+$/, '').replace(/\/api\/v2$/, '');
  return `${url.protocol}//${url.host}${path}`;
}

/**
 * Validates a parsed config.json; throws one ConfigError naming every bad field, so that
 * a user fixing a config by hand (or a first `{}`) learns all that is wrong in one run.
 */
export function parseConfig(raw: unknown): Config {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError('The config must be a JSON object with api_token and start_date');
  }
  const result = ConfigInput.safeParse(raw);
  if (!result.success) {
    // One problem per field: a value can break several rules of the same field at once.
    const byField = new Map<string, string>();
    for (const issue of result.error.issues) {
      const field = issue.path.map(String).join('.');
      const top = field.split('.')[0] ?? '';
      if (byField.has(top)) continue;
      byField.set(top, top !== '' && issue.message.startsWith(top) ? issue.message : `${field}: ${issue.message}`);
    }
    const problems = [...byField.values()];
    const heading = problems.length === 1 ? 'Invalid config' : `Invalid config (${problems.length} problems)`;
    throw new ConfigError(`${heading}: ${problems.join('; ')}`);
  }
  const c = result.data;
  return {
    apiToken: c.api_token,
    projectSlugs: c.project_slugs ?? [],
    excludeProjectSlugs: c.exclude_project_slugs ?? [],
    shardCount: c.shard_count,
    shardIndex: c.shard_index,
    startDate: c.start_date,
    apiUrl: c.api_url,
    maxConcurrency: c.max_concurrency,
    requestsPerMinute: c.requests_per_minute,
    maxRetryAfterSeconds: c.max_retry_after_seconds,
    pageSize: c.page_size,
    workflowLookbackHours: c.workflow_lookback_hours,
    usageExportMaxWaitMinutes: c.usage_export_max_wait_minutes,
  };
}
