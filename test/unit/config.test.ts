/**
 * parseConfig: what it accepts and how it normalises it, what it rejects (always naming
 * the field), and that it stays in step with spec.json.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from '@jest/globals';

import { normaliseSlug, parseConfig, type Config } from '../../src/config/config.js';
import { parseApiTime, parseUserDate } from '../../src/config/dates.js';
import { loadSpec } from '../../src/config/spec.js';
import { ConfigError } from '../../src/errors.js';
import { configValidator } from '../support/config-validator.js';
import { REPO_ROOT } from '../support/protocol.js';

interface SpecProperty {
  type: string;
  order?: number;
  group?: string;
  pattern?: string;
  pattern_descriptor?: string;
  items?: { pattern?: string; pattern_descriptor?: string };
  default?: unknown;
  minimum?: number;
  maximum?: number;
  examples?: unknown[];
}
const specFile = JSON.parse(readFileSync(join(REPO_ROOT, 'spec.json'), 'utf8')) as {
  connectionSpecification: { required: string[]; groups: Array<{ id: string; title?: string }>; properties: Record<string, SpecProperty> };
};
const connectionSpecification = specFile.connectionSpecification;

const SLUG_HELP_TEXT = 'expected gh/<org>/<repo>, bb/<workspace>/<repo> or circleci/<org-id>/<project-id> (globs such as gh/<org>/* allowed)';

const UUID_A = '0b4a0c2e-9c7a-4f0e-8f7b-1d2c3e4f5a6b';
const UUID_B = 'f1e2d3c4-b5a6-4978-8695-a4b3c2d1e0f9';

const base = { api_token: 'CCIPAT_token_value_1234567890', project_slugs: ['gh/acme/web-app'], start_date: '2025-01-01' };

function parsed(overrides: Record<string, unknown>): Config {
  return parseConfig({ ...base, ...overrides });
}

/** The ConfigError message for a config; fails the test if the config is accepted. */
function rejection(raw: unknown): string {
  try {
    parseConfig(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).failureType).toBe('config_error');
    return (error as Error).message;
  }
  throw new Error(`config was accepted: ${JSON.stringify(raw)}`);
}

/** spec.json property name → Config field. */
const FIELD: Record<string, keyof Config> = {
  api_token: 'apiToken',
  project_slugs: 'projectSlugs',
  start_date: 'startDate',
  api_url: 'apiUrl',
  max_concurrency: 'maxConcurrency',
  requests_per_minute: 'requestsPerMinute',
  page_size: 'pageSize',
  workflow_lookback_hours: 'workflowLookbackHours',
  max_retry_after_seconds: 'maxRetryAfterSeconds',
  usage_export_max_wait_minutes: 'usageExportMaxWaitMinutes',
  exclude_project_slugs: 'excludeProjectSlugs',
  shard_count: 'shardCount',
  shard_index: 'shardIndex',
};

/** Fields a value of `name` needs beside it to be valid: a shard_index needs a shard_count above it. */
const partners = (name: string): Record<string, unknown> => (name === 'shard_index' ? { shard_count: 1024 } : {});

describe('valid configs', () => {
  it('a minimal config gets every default', () => {
    expect(parseConfig(base)).toEqual({
      apiToken: 'CCIPAT_token_value_1234567890',
      projectSlugs: ['gh/acme/web-app'],
      excludeProjectSlugs: [],
      shardCount: 1,
      shardIndex: 0,
      startDate: '2025-01-01T00:00:00.000Z',
      apiUrl: 'https://circleci.com',
      maxConcurrency: 8,
      requestsPerMinute: undefined,
      maxRetryAfterSeconds: 600,
      pageSize: 100,
      workflowLookbackHours: 24,
      usageExportMaxWaitMinutes: 5,
    });
  });

  it('trims the token', () => {
    expect(parsed({ api_token: '  tok-123456  ' }).apiToken).toBe('tok-123456');
  });

  it('takes slugs as a list', () => {
    expect(parsed({ project_slugs: ['gh/acme/web-app', 'bb/acme/api'] }).projectSlugs).toEqual(['gh/acme/web-app', 'bb/acme/api']);
  });

  it('takes slugs as one space- or comma-separated string', () => {
    expect(parsed({ project_slugs: 'gh/acme/web-app bb/acme/api' }).projectSlugs).toEqual(['gh/acme/web-app', 'bb/acme/api']);
    expect(parsed({ project_slugs: ' gh/acme/web-app,\n bb/acme/api ' }).projectSlugs).toEqual(['gh/acme/web-app', 'bb/acme/api']);
  });

  it('normalises github/ to gh/ and bitbucket/ to bb/', () => {
    expect(parsed({ project_slugs: ['github/acme/web-app', 'bitbucket/acme/api'] }).projectSlugs).toEqual(['gh/acme/web-app', 'bb/acme/api']);
    expect(normaliseSlug(' github/a/b ')).toBe('gh/a/b');
    expect(normaliseSlug('gitlab/a/b')).toBeUndefined();
  });

  it('accepts circleci/<org-uuid>/<project-uuid> slugs', () => {
    expect(parsed({ project_slugs: [`circleci/${UUID_A}/${UUID_B}`] }).projectSlugs).toEqual([`circleci/${UUID_A}/${UUID_B}`]);
  });

  it.each([
    ['absent', undefined],
    ['an empty list', []],
    ['an empty string', '  '],
  ])('project_slugs %s: every project the token can see', (_name, project_slugs) => {
    expect(parsed({ project_slugs }).projectSlugs).toEqual([]);
  });

  it('takes globs in project_slugs and exclude_project_slugs, normalised', () => {
    const config = parsed({ project_slugs: ['github/acme/*', 'gh/acme/api-?', `circleci/${UUID_A}/*`], exclude_project_slugs: 'bitbucket/acme/sandbox-*' });
    expect(config.projectSlugs).toEqual(['gh/acme/*', 'gh/acme/api-?', `circleci/${UUID_A}/*`]);
    expect(config.excludeProjectSlugs).toEqual(['bb/acme/sandbox-*']);
  });

  it('takes a shard of a split', () => {
    expect(parsed({ shard_count: 4, shard_index: 3 })).toMatchObject({ shardCount: 4, shardIndex: 3 });
  });

  it('drops duplicates, also across spellings, keeping the first order', () => {
    expect(parsed({ project_slugs: ['gh/a/b', 'bb/c/d', 'github/a/b', ' gh/a/b', 'bb/c/d'] }).projectSlugs).toEqual(['gh/a/b', 'bb/c/d']);
  });

  it.each([
    ['2025-01-01', '2025-01-01T00:00:00.000Z'],
    ['2025-01-01T10:00:00Z', '2025-01-01T10:00:00.000Z'],
    ['2025-01-01T10:00:00', '2025-01-01T10:00:00.000Z'],
    ['2025-01-01 10:00', '2025-01-01T10:00:00.000Z'],
    ['2025-01-01T10:00:00.250Z', '2025-01-01T10:00:00.250Z'],
    ['2025-01-01T10:00:00+02:00', '2025-01-01T08:00:00.000Z'],
    ['2025-01-01T01:00:00+02:00', '2024-12-31T23:00:00.000Z'],
    ['2025-01-01T10:00:00-0530', '2025-01-01T15:30:00.000Z'],
    ['01/31/2025', '2025-01-31T00:00:00.000Z'],
    ['2024-02-29', '2024-02-29T00:00:00.000Z'],
    [' 2025-01-01 ', '2025-01-01T00:00:00.000Z'],
  ])('start_date %s → %s (UTC)', (input, expected) => {
    expect(parsed({ start_date: input }).startDate).toBe(expected);
    expect(parseUserDate(input)).toBe(expected);
  });

  it.each([
    [undefined, 'https://circleci.com'],
    ['https://circleci.com/', 'https://circleci.com'],
    ['https://circleci.com/api/v2', 'https://circleci.com'],
    ['https://circleci.com/api/v2/', 'https://circleci.com'],
    ['https://circleci.example.com:8443/', 'https://circleci.example.com:8443'],
    ['https://example.com/circleci/api/v2', 'https://example.com/circleci'],
    ['http://127.0.0.1:8080', 'http://127.0.0.1:8080'],
    ['http://localhost:3000/', 'http://localhost:3000'],
    ['http://[::1]:4000', 'http://[::1]:4000'],
    ['  https://CircleCI.com  ', 'https://circleci.com'],
  ])('api_url %s → %s', (input, expected) => {
    expect(parsed(input === undefined ? {} : { api_url: input }).apiUrl).toBe(expected);
  });

  it('accepts the bounds of every integer field', () => {
    expect(parsed({ max_concurrency: 1 }).maxConcurrency).toBe(1);
    expect(parsed({ max_concurrency: 64 }).maxConcurrency).toBe(64);
    expect(parsed({ requests_per_minute: 100_000 }).requestsPerMinute).toBe(100_000);
    expect(parsed({ page_size: 1 }).pageSize).toBe(1);
    expect(parsed({ workflow_lookback_hours: 0 }).workflowLookbackHours).toBe(0);
    expect(parsed({ workflow_lookback_hours: 720 }).workflowLookbackHours).toBe(720);
  });

  it('ignores unknown fields (the spec allows additional properties)', () => {
    expect(parsed({ something_else: true }).projectSlugs).toEqual(['gh/acme/web-app']);
  });
});

describe('invalid configs name the field', () => {
  const cases: Array<[string, unknown, string, RegExp?]> = [
    ['token missing', { ...base, api_token: undefined }, 'api_token', /required/],
    ['token empty', { ...base, api_token: '' }, 'api_token', /empty/],
    ['token blank', { ...base, api_token: '   ' }, 'api_token', /empty/],
    ['token not a string', { ...base, api_token: 12345 }, 'api_token', /string/],
    ['token null', { ...base, api_token: null }, 'api_token'],
    ['exclude slug malformed', { ...base, exclude_project_slugs: ['acme/*'] }, 'exclude_project_slugs', /"acme\/\*" is not a project slug/],
    ['excludes a number', { ...base, exclude_project_slugs: 7 }, 'exclude_project_slugs'],
    ['shard_count 0', { ...base, shard_count: 0 }, 'shard_count', /at least 1/],
    ['shard_count 2.5', { ...base, shard_count: 2.5 }, 'shard_count', /whole number/],
    ['shard_index -1', { ...base, shard_index: -1 }, 'shard_index', /at least 0/],
    ['shard_index "1"', { ...base, shard_index: '1' }, 'shard_index', /whole number/],
    ['shard_index equal to shard_count', { ...base, shard_count: 4, shard_index: 4 }, 'shard_index', /shard_index 4 is out of range for shard_count 4: shards are numbered from 0 to 3/],
    ['shard_index without shard_count', { ...base, shard_index: 1 }, 'shard_index', /out of range for shard_count 1/],
    ['slug with two parts', { ...base, project_slugs: ['gh/acme'] }, 'project_slugs', /"gh\/acme" is not a project slug/],
    ['slug with four parts', { ...base, project_slugs: ['gh/acme/web/app'] }, 'project_slugs', /not a project slug/],
    ['slug of an unknown vcs', { ...base, project_slugs: ['gitlab/acme/app'] }, 'project_slugs', /not a project slug/],
    ['slug that is a URL', { ...base, project_slugs: ['https://app.circleci.com/pipelines/gh/acme/app'] }, 'project_slugs', /not a project slug/],
    ['second slug malformed', { ...base, project_slugs: ['gh/acme/app', 'acme/app'] }, 'project_slugs', /"acme\/app"/],
    ['slug not a string', { ...base, project_slugs: ['gh/a/b', 5] }, 'project_slugs', /string/],
    ['slugs a number', { ...base, project_slugs: 5 }, 'project_slugs'],
    ['start_date missing', { ...base, start_date: undefined }, 'start_date', /required/],
    ['start_date 2025-02-30', { ...base, start_date: '2025-02-30' }, 'start_date', /"2025-02-30" is not a valid date/],
    ['start_date 13/01/2025', { ...base, start_date: '13/01/2025' }, 'start_date', /not a valid date/],
    ['start_date 2025-13-01', { ...base, start_date: '2025-13-01' }, 'start_date', /not a valid date/],
    ['start_date 2025-02-30T10:00:00Z', { ...base, start_date: '2025-02-30T10:00:00Z' }, 'start_date', /not a valid date/],
    ['start_date 2025-02-30T10:00:00+02:00', { ...base, start_date: '2025-02-30T10:00:00+02:00' }, 'start_date', /not a valid date/],
    ['start_date 2025-01-01T10:61:00', { ...base, start_date: '2025-01-01T10:61:00' }, 'start_date', /not a valid date/],
    ['start_date 2025-01-01T25:00:00Z', { ...base, start_date: '2025-01-01T25:00:00Z' }, 'start_date', /not a valid date/],
    ['start_date "yesterday"', { ...base, start_date: 'yesterday' }, 'start_date', /not a valid date/],
    ['start_date empty', { ...base, start_date: '' }, 'start_date', /not a valid date/],
    ['start_date a number', { ...base, start_date: 20250101 }, 'start_date', /string/],
    ['api_url http:// remote host', { ...base, api_url: 'http://circleci.com' }, 'api_url', /https/],
    ['api_url ftp://', { ...base, api_url: 'ftp://circleci.com' }, 'api_url', /https/],
    ['api_url with credentials', { ...base, api_url: 'https://user:pass@circleci.com' }, 'api_url', /user name or password/],
    ['api_url not a URL', { ...base, api_url: 'circleci.com' }, 'api_url', /not a URL/],
    ['api_url a number', { ...base, api_url: 443 }, 'api_url'],
    ['max_concurrency 0', { ...base, max_concurrency: 0 }, 'max_concurrency', /at least 1/],
    ['max_concurrency 65', { ...base, max_concurrency: 65 }, 'max_concurrency', /at most 64/],
    ['max_concurrency 1.5', { ...base, max_concurrency: 1.5 }, 'max_concurrency', /whole number/],
    ['max_concurrency "8"', { ...base, max_concurrency: '8' }, 'max_concurrency', /whole number/],
    ['max_concurrency null', { ...base, max_concurrency: null }, 'max_concurrency'],
    ['requests_per_minute 0', { ...base, requests_per_minute: 0 }, 'requests_per_minute', /at least 1/],
    ['requests_per_minute 100001', { ...base, requests_per_minute: 100_001 }, 'requests_per_minute', /at most 100000/],
    ['page_size 0', { ...base, page_size: 0 }, 'page_size', /at least 1/],
    ['page_size 101', { ...base, page_size: 101 }, 'page_size', /at most 100/],
    ['workflow_lookback_hours -1', { ...base, workflow_lookback_hours: -1 }, 'workflow_lookback_hours', /at least 0/],
    ['workflow_lookback_hours 721', { ...base, workflow_lookback_hours: 721 }, 'workflow_lookback_hours', /at most 720/],
    ['usage_export_max_wait_minutes 241', { ...base, usage_export_max_wait_minutes: 241 }, 'usage_export_max_wait_minutes', /at most 240/],
  ];

  // Every row gets all four values: jest would take a missing fourth argument for `done`.
  it.each(cases.map(([name, raw, field, detail]) => [name, raw, field, detail ?? null] as const))('%s', (_name, raw, field, detail) => {
    const message = rejection(raw);
    expect(message).toContain(field);
    if (detail) expect(message).toMatch(detail);
  });

  it('never echoes the token in an error about another field', () => {
    const message = rejection({ ...base, max_concurrency: 0 });
    expect(message).not.toContain(base.api_token);
  });

  it.each([
    ['null', null],
    ['an array', [base]],
    ['a string', 'config'],
    ['a number', 42],
  ])('a config that is %s is rejected as not an object', (_name, raw) => {
    expect(rejection(raw)).toMatch(/must be a JSON object/);
  });

  it('a config without any field names every required field at once', () => {
    const message = rejection({});
    expect(message).toMatch(/^Invalid config \(2 problems\): /);
    for (const field of connectionSpecification.required) expect(message).toContain(`${field} is required`);
  });

  it('every wrong field is named at once, each once, in one config_error', () => {
    const message = rejection({
      api_token: '',
      project_slugs: ['gh/acme/web-app'],
      start_date: 'soon',
      api_url: 'http://circleci.com',
      max_concurrency: -1.5,
      page_size: 101,
    });
    expect(message).toMatch(/^Invalid config \(5 problems\): /);
    for (const field of ['api_token is empty', 'start_date "soon"', 'api_url "http://circleci.com"', 'max_concurrency', 'page_size must be at most 100']) {
      expect(message).toContain(field);
    }
    // -1.5 breaks two rules of max_concurrency; the field is still named once.
    expect(message.match(/max_concurrency/g)).toHaveLength(1);
    expect(message).not.toContain('project_slugs');
  });

  it('every malformed slug is named, not only the first', () => {
    const message = rejection({ ...base, project_slugs: ['gh/acme/app', 'acme/app', 'gitlab/a/b'] });
    expect(message).toBe(`Invalid config: project_slugs: "acme/app", "gitlab/a/b" are not project slugs; ${SLUG_HELP_TEXT}`);
  });
});

describe('spec.json and parseConfig stay in step', () => {
  const properties = Object.entries(connectionSpecification.properties);

  it('every spec property maps to a Config field, and every Config field to a spec property', () => {
    expect(Object.keys(connectionSpecification.properties).sort()).toEqual(Object.keys(FIELD).sort());
    expect(Object.keys(parseConfig(base)).sort()).toEqual(Object.values(FIELD).sort());
  });

  /** A valid value for a property that differs from its default. */
  function sampleFor(name: string, property: SpecProperty): unknown {
    if (property.type === 'integer') {
      const min = property.minimum ?? 0;
      return property.default === min + 1 ? min + 2 : min + 1;
    }
    const samples: Record<string, unknown> = {
      api_token: 'another-token-value',
      project_slugs: ['bb/other/repo'],
      exclude_project_slugs: ['gh/acme/sandbox-*'],
      start_date: '2024-06-01',
      api_url: 'https://circleci.example.com',
    };
    if (!(name in samples)) throw new Error(`no sample for new spec property ${name}: add one here`);
    return samples[name];
  }

  it.each(properties)('%s is read by parseConfig', (name, property) => {
    const field = FIELD[name]!;
    const value = sampleFor(name, property);
    expect(parsed({ ...partners(name), [name]: value })[field]).not.toEqual(parseConfig(base)[field]);
  });

  it('the defaults in spec.json equal the parser’s defaults', () => {
    const defaults = parseConfig(base);
    const withDefault = properties.filter(([, property]) => property.default !== undefined);
    expect(withDefault.map(([name]) => name).sort()).toEqual(['api_url', 'max_concurrency', 'max_retry_after_seconds', 'page_size', 'shard_count', 'shard_index', 'usage_export_max_wait_minutes', 'workflow_lookback_hours']);
    for (const [name, property] of withDefault) expect([name, defaults[FIELD[name]!]]).toEqual([name, property.default]);
  });

  it('the spec’s required fields are the parser’s required fields', () => {
    for (const name of Object.keys(connectionSpecification.properties)) {
      const without: Record<string, unknown> = { ...base };
      delete without[name];
      if (connectionSpecification.required.includes(name)) expect(rejection(without)).toContain(name);
      else expect(() => parseConfig(without)).not.toThrow();
    }
  });

  it('integer bounds in spec.json equal the parser’s bounds', () => {
    for (const [name, property] of properties.filter(([, p]) => p.type === 'integer')) {
      expect(() => parsed({ ...partners(name), [name]: property.minimum })).not.toThrow();
      expect(() => parsed({ ...partners(name), [name]: property.maximum })).not.toThrow();
      expect(rejection({ ...base, ...partners(name), [name]: property.minimum! - 1 })).toContain(name);
      expect(rejection({ ...base, ...partners(name), [name]: property.maximum! + 1 })).toContain(name);
    }
  });

  it('configs valid for spec.json (ajv, draft-07) parse', () => {
    const validate = configValidator(loadSpec().connectionSpecification);
    const configs: Array<Record<string, unknown>> = [
      base,
      { ...base, project_slugs: ['gh/acme/web-app', 'bb/acme/api', 'github/acme/x', 'bitbucket/acme/y', `circleci/${UUID_A}/${UUID_B}`] },
      { api_token: base.api_token, start_date: base.start_date },
      { ...base, project_slugs: [], exclude_project_slugs: ['gh/acme/sandbox-*'], shard_count: 4, shard_index: 3 },
      ...(connectionSpecification.properties.project_slugs!.examples as string[][]).map((project_slugs) => ({ ...base, project_slugs })),
      ...(connectionSpecification.properties.start_date!.examples as string[]).map((start_date) => ({ ...base, start_date })),
      ...(connectionSpecification.properties.api_url!.examples as string[]).map((api_url) => ({ ...base, api_url })),
      { ...base, api_url: 'https://circleci.example.com:8443/' },
      { ...base, api_url: 'http://127.0.0.1:9999' },
      {
        ...base,
        start_date: '2025-01-01T10:00:00+02:00',
        max_concurrency: 64,
        requests_per_minute: 1,
        page_size: 1,
        workflow_lookback_hours: 0,
      },
    ];
    for (const config of configs) {
      expect([JSON.stringify(config), validate(config), validate.errors ?? []]).toEqual([JSON.stringify(config), true, []]);
      expect(() => parseConfig(config)).not.toThrow();
    }
    // …and the spec already rejects what it can express: the parser agrees.
    for (const bad of [{ ...base, shard_index: -1 }, { ...base, max_concurrency: 0 }, { ...base, api_token: '' }, { ...base, start_date: '2025/01/01' }]) {
      expect(validate(bad)).toBe(false);
      expect(() => parseConfig(bad)).toThrow(ConfigError);
    }
  });
});

describe('parseApiTime', () => {
  it('reads API timestamps and rejects what is not one', () => {
    expect(parseApiTime('2025-01-01T00:00:00.000Z')).toBe(Date.UTC(2025, 0, 1));
    expect(parseApiTime('')).toBeUndefined();
    expect(parseApiTime('not a date')).toBeUndefined();
    expect(parseApiTime(123)).toBeUndefined();
    expect(parseApiTime(undefined)).toBeUndefined();
  });
});

describe('spec.json as the Airbyte UI shows it', () => {
  const validate = configValidator(loadSpec().connectionSpecification);
  const withApiUrl = (api_url: string) => ({ ...base, api_url });

  // What users paste: the host, the host with a slash, the API root; the fake prints the last form.
  it.each([
    ['https://circleci.com', 'https://circleci.com'],
    ['https://circleci.com/', 'https://circleci.com'],
    ['https://circleci.com/api/v2', 'https://circleci.com'],
    ['https://circleci.com/api/v2/', 'https://circleci.com'],
    ['https://circleci.example.com:8443', 'https://circleci.example.com:8443'],
    ['https://example.com/circleci/api/v2', 'https://example.com/circleci'],
    ['http://127.0.0.1:8080/api/v2', 'http://127.0.0.1:8080'],
    ['http://localhost:3000/', 'http://localhost:3000'],
    ['http://[::1]:4000', 'http://[::1]:4000'],
  ])('api_url %s: the spec accepts it, the connector uses %s', (input, normal) => {
    expect([input, validate(withApiUrl(input)), validate.errors ?? []]).toEqual([input, true, []]);
    expect(parsed({ api_url: input }).apiUrl).toBe(normal);
  });

  it.each([
    ['http:// to a remote host', 'http://circleci.com'],
    ['http:// to a host named like loopback', 'http://localhost.example.com'],
    ['no scheme', 'circleci.com'],
    ['another scheme', 'ftp://circleci.com'],
    ['credentials', 'https://user:secret@circleci.com'],
    ['a query', 'https://circleci.com/?x=1'],
    ['a fragment', 'https://circleci.com/#top'],
    ['no host', 'https://'],
  ])('api_url with %s: the spec refuses it, and so does the connector', (_name, input) => {
    expect([input, validate(withApiUrl(input))]).toEqual([input, false]);
    expect(rejection(withApiUrl(input))).toContain('api_url');
  });

  it.each([
    ['2025-01-01', true],
    ['2025-01-01T10:00:00Z', true],
    ['2025-01-01 10:00', true],
    ['2025-01-01T10:00:00+02:00', true],
    ['01/31/2025', true],
    ['2025/01/31', false],
    ['31.01.2025', false],
    ['yesterday', false],
  ])('start_date %s: the spec says %s, the connector agrees', (start_date, valid) => {
    expect([start_date, validate({ ...base, start_date })]).toEqual([start_date, valid]);
    if (valid) expect(() => parsed({ start_date })).not.toThrow();
    else expect(rejection({ ...base, start_date })).toContain('start_date');
  });

  it.each([
    [['gh/acme/web-app', 'github/acme/api', 'bb/acme/x', 'bitbucket/acme/y', 'circleci/org-id/project-id'], true],
    [['gh/acme/*', 'gh/acme/api-*', 'circleci/org-id/*', 'bb/*/web-?'], true],
    [[], true],
    [['acme/web-app'], false],
    [['gh/acme'], false],
    [['gitlab/acme/app'], false],
    [['https://app.circleci.com/pipelines/gh/acme/app'], false],
  ])('project_slugs %j: the spec says %s, the connector agrees', (project_slugs, valid) => {
    expect([project_slugs, validate({ ...base, project_slugs })]).toEqual([project_slugs, valid]);
    if (valid) expect(() => parsed({ project_slugs })).not.toThrow();
    else expect(rejection({ ...base, project_slugs })).toContain('project_slugs');
  });

  it('every patterned field describes its pattern in words (the UI shows pattern_descriptor, not the regex)', () => {
    const patterned: string[] = [];
    for (const [name, property] of Object.entries(connectionSpecification.properties)) {
      for (const [where, node] of [[name, property], [`${name}.items`, property.items ?? {}]] as const) {
        if (node.pattern === undefined) continue;
        patterned.push(where);
        expect([where, typeof node.pattern_descriptor]).toEqual([where, 'string']);
      }
    }
    expect(patterned.sort()).toEqual(['api_url', 'exclude_project_slugs.items', 'project_slugs.items', 'start_date']);
  });

  it('fields come in the order a first-time user fills them in: the required ones first, then which projects, the advanced knobs after', () => {
    const byOrder = Object.entries(connectionSpecification.properties).sort(([, a], [, b]) => a.order! - b.order!);
    expect(byOrder.slice(0, 3).map(([name]) => name)).toEqual(['api_token', 'start_date', 'project_slugs']);
    const groups = connectionSpecification.groups.map((g) => g.id);
    const scope = ['project_slugs', 'exclude_project_slugs', 'shard_count', 'shard_index'];
    for (const [name, property] of byOrder) {
      const required = connectionSpecification.required.includes(name);
      expect([name, property.group]).toEqual([name, required ? groups[0] : scope.includes(name) ? groups[1] : groups[2]]);
    }
    // Each group is a card in the UI, in this order; every property is in one that is declared.
    expect(groups).toEqual(['circleci', 'projects', 'advanced']);
    expect(byOrder.map(([, property]) => groups.indexOf(property.group!))).toEqual(byOrder.map(([, property]) => groups.indexOf(property.group!)).sort());
  });
});
