/**
 * Hostile and broken input. Bad configs, catalogs and states go through the BUILT CLI as a
 * child process: stdout must stay pure protocol, hold exactly one TRACE ERROR of the right
 * failure_type whose message names the field or stream (config_error for user input), and
 * the exit code is non-zero for discover/read; `check` answers an invalid config with one
 * CONNECTION_STATUS FAILED naming the field, exit 0. API responses of unexpected shapes go
 * through msw in-process: the fake's handlers with narrower ones of ours in front.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { HttpResponse, http } from 'msw';

import { createWorld, startFakeCircleCi, type RunningFake, type World } from '../../tools/fake-circleci/index.js';
import { allStreams, catalogOf, fakeConfig, runRead } from '../support/connector.js';
import { TEST_API, useMockApi } from '../support/http.js';
import { ofType, type Message } from '../support/protocol.js';
import { assertCleanOutput, assertCleanRun, inParallel, runCli, serveFake, type CliRun } from './harness.js';

const START = '2026-08-01T00:00:00Z';
const world: World = createWorld({ preset: 'tiny', seed: 21 });
const slug = world.projects[0]!.slug;
const dir = mkdtempSync(join(tmpdir(), 'hostile-input-'));
let fake: RunningFake;

type Command = 'check' | 'discover' | 'read';
type Input = unknown | { raw: string | Buffer } | { bytes: number };

interface Case {
  name: string;
  command: Command;
  config?: Input;
  catalog?: Input;
  state?: Input;
  /** `error`: one TRACE ERROR; `failed`: one CONNECTION_STATUS FAILED; `ok`: success. */
  expect: 'error' | 'failed' | 'ok';
  failureType?: 'config_error' | 'system_error' | 'transient_error';
  /** What the message must name (the field, stream or file). */
  names?: Array<string | RegExp>;
  /** What the output must not contain. */
  never?: string[];
  /** Further checks on a successful run. */
  then?: (messages: Message[]) => void;
}

const validConfig = (): Record<string, unknown> => fakeConfig(world, fake.url, { project_slugs: [slug], start_date: START });
const without = (field: string) => () => {
  const config = validConfig();
  delete config[field];
  return config;
};
const withField = (field: string, value: unknown) => () => ({ ...validConfig(), [field]: value });
const pipelinesCatalog = catalogOf({ pipelines: 'incremental' });
const stateOf = (stream: string, streamState: unknown) => [{ type: 'STREAM', stream: { stream_descriptor: { name: stream }, stream_state: streamState } }];
const configuredEntry = (name: string, mode: string) => ({ stream: { name, json_schema: {}, supported_sync_modes: ['full_refresh'] }, sync_mode: mode, destination_sync_mode: 'overwrite' });

/** Config problems: through `check` a FAILED status (exit 0), through discover or read a TRACE ERROR. */
const CONFIG_PROBLEMS: Array<{ name: string; config: () => unknown; names: Array<string | RegExp>; never?: string[] }> = [
  { name: 'api_token missing', config: without('api_token'), names: ['api_token', 'required'] },
  { name: 'api_token empty', config: withField('api_token', ''), names: ['api_token', 'empty'] },
  { name: 'api_token only spaces', config: withField('api_token', '   '), names: ['api_token'] },
  { name: 'api_token a number', config: withField('api_token', 1234567890), names: ['api_token', 'string'] },
  { name: 'shard_index beyond shard_count', config: withField('shard_index', 3), names: ['shard_index', 'shard_count'] },
  { name: 'exclude slug malformed', config: withField('exclude_project_slugs', ['acme/*']), names: ['exclude_project_slugs', 'acme/*'] },
  { name: 'project_slugs an object', config: withField('project_slugs', { slug }), names: ['project_slugs'] },
  { name: 'project slug without vcs', config: withField('project_slugs', ['acme/web-app']), names: ['project_slugs', 'acme/web-app'] },
  { name: 'project slug with 4 parts', config: withField('project_slugs', ['gh/acme/web/extra']), names: ['project_slugs', 'gh/acme/web/extra'] },
  { name: 'project slug a number', config: withField('project_slugs', [42]), names: ['project_slugs', 'slug'] },
  { name: 'project slug unknown vcs', config: withField('project_slugs', ['svn/acme/web']), names: ['project_slugs', 'svn/acme/web'] },
  { name: 'start_date missing', config: without('start_date'), names: ['start_date', 'required'] },
  { name: 'start_date 2025-02-30', config: withField('start_date', '2025-02-30'), names: ['start_date', '2025-02-30'] },
  { name: 'start_date words', config: withField('start_date', 'yesterday'), names: ['start_date', 'yesterday'] },
  { name: 'start_date a number', config: withField('start_date', 20250101), names: ['start_date', 'string'] },
  { name: 'api_url http:// remote host', config: withField('api_url', 'http://circleci.example.com'), names: ['api_url', 'https://'] },
  { name: 'api_url ftp://', config: withField('api_url', 'ftp://circleci.com'), names: ['api_url', 'https://'] },
  { name: 'api_url not a URL', config: withField('api_url', 'circle ci'), names: ['api_url', 'not a URL'] },
  { name: 'api_url http:// with a password', config: withField('api_url', 'http://me:hunter2-secret@circleci.example.com'), names: ['api_url', 'password'], never: ['hunter2-secret'] },
  { name: 'api_url with a query', config: withField('api_url', 'https://circleci.com/?circle-token=abc'), names: ['api_url', 'query'], never: ['circle-token=abc'] },
  // Validation messages quote the bad value: a token pasted into the wrong field must still not be printed.
  { name: 'the token pasted as a project slug', config: () => ({ ...validConfig(), project_slugs: [world.token] }), names: ['project_slugs', 'not a project slug'] },
  { name: 'the token pasted as the start date', config: () => ({ ...validConfig(), start_date: world.token }), names: ['start_date', 'not a valid date'] },
  { name: 'max_concurrency 0', config: withField('max_concurrency', 0), names: ['max_concurrency', 'at least 1'] },
  { name: 'page_size as a string', config: withField('page_size', '100'), names: ['page_size'] },
  { name: 'requests_per_minute negative', config: withField('requests_per_minute', -5), names: ['requests_per_minute'] },
  { name: 'workflow_lookback_hours fractional', config: withField('workflow_lookback_hours', 1.5), names: ['workflow_lookback_hours', 'whole number'] },
  { name: 'config JSON null', config: () => null, names: ['config', 'JSON object'] },
  { name: 'config an array', config: () => [validConfig()], names: ['config', 'JSON object'] },
  { name: 'config a string', config: () => 'api_token=abc', names: ['config', 'JSON object'] },
];

/** Each config problem goes through one command, in turn: check, discover, read. */
const COMMANDS: Command[] = ['check', 'discover', 'read'];

const CASES: Case[] = [
  ...CONFIG_PROBLEMS.map((problem, i): Case => {
    const command = COMMANDS[i % COMMANDS.length]!;
    return command === 'check'
      ? { name: `check: ${problem.name}`, command, config: problem.config, expect: 'failed', names: problem.names, never: problem.never }
      : { name: `${command}: ${problem.name}`, command, config: problem.config, catalog: catalogOf(allStreams()), expect: 'error', failureType: 'config_error', names: problem.names, never: problem.never };
  }),
  // Files that are not a config at all.
  { name: 'discover: a config file over 50 MB', command: 'discover', config: { bytes: 51 * 1024 * 1024 }, expect: 'error', failureType: 'config_error', names: ['config file', 'too large'] },
  { name: 'read: a binary config file', command: 'read', config: { raw: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0xfe, 0x01]) }, catalog: pipelinesCatalog, expect: 'error', failureType: 'config_error', names: ['config file', 'not valid JSON'] },
  { name: 'check: an empty config file', command: 'check', config: { raw: '' }, expect: 'error', failureType: 'config_error', names: ['config file', 'empty'] },
  {
    name: 'discover: a config saved with a byte-order mark is accepted',
    command: 'discover',
    config: () => ({ raw: `\ufeff${JSON.stringify(validConfig())}` }),
    expect: 'ok',
    then: (messages) => expect(ofType(messages, 'CATALOG')).toHaveLength(1),
  },
  {
    // V8's JSON errors quote the first characters of the input: here, the token.
    name: 'read: a config file holding just the token does not echo it',
    command: 'read',
    config: () => ({ raw: `${world.token}\n` }),
    catalog: pipelinesCatalog,
    expect: 'error',
    failureType: 'config_error',
    names: ['config file', 'not valid JSON'],
    never: [world.token.slice(0, 8)],
  },
  // Catalogs.
  { name: 'read: catalog null', command: 'read', catalog: null, expect: 'error', failureType: 'config_error', names: ['catalog', 'streams'] },
  { name: 'read: catalog an array', command: 'read', catalog: [configuredEntry('pipelines', 'full_refresh')], expect: 'error', failureType: 'config_error', names: ['catalog', 'streams'] },
  { name: 'read: catalog with no streams', command: 'read', catalog: { streams: [] }, expect: 'error', failureType: 'config_error', names: ['catalog', 'no streams'] },
  { name: 'read: an unknown stream', command: 'read', catalog: { streams: [configuredEntry('builds', 'full_refresh')] }, expect: 'error', failureType: 'config_error', names: ['builds', 'pipelines'] },
  { name: 'read: sync_mode INVALID', command: 'read', catalog: { streams: [configuredEntry('pipelines', 'INVALID')] }, expect: 'error', failureType: 'config_error', names: ['pipelines', 'sync_mode'] },
  { name: 'read: sync_mode missing', command: 'read', catalog: { streams: [{ stream: { name: 'jobs' } }] }, expect: 'error', failureType: 'config_error', names: ['jobs', 'sync_mode'] },
  { name: 'read: incremental for a full-refresh stream', command: 'read', catalog: catalogOf({ collaborations: 'incremental' }), expect: 'error', failureType: 'config_error', names: ['collaborations', 'full_refresh'] },
  { name: 'read: a stream listed twice', command: 'read', catalog: { streams: [configuredEntry('groups', 'full_refresh'), configuredEntry('groups', 'full_refresh')] }, expect: 'error', failureType: 'config_error', names: ['groups', 'twice'] },
  { name: 'read: a catalog entry without a name', command: 'read', catalog: { streams: [{ stream: {}, sync_mode: 'full_refresh' }] }, expect: 'error', failureType: 'config_error', names: ['streams[0]', 'stream.name'] },
  { name: 'read: a catalog that is not JSON', command: 'read', catalog: { raw: '{"streams": [' }, expect: 'error', failureType: 'config_error', names: ['catalog file', 'not valid JSON'] },
  // States.
  { name: "read: another connector's state", command: 'read', catalog: pipelinesCatalog, state: stateOf('pipelines', { updated_at: '2020-01-01' }), expect: 'error', failureType: 'config_error', names: ['pipelines', 'state'] },
  { name: 'read: LEGACY state (an object)', command: 'read', catalog: pipelinesCatalog, state: { pipelines: { updated_at: '2020-01-01' } }, expect: 'error', failureType: 'config_error', names: ['state', 'LEGACY'] },
  { name: 'read: LEGACY state message', command: 'read', catalog: pipelinesCatalog, state: [{ type: 'LEGACY', data: { pipelines: {} } }], expect: 'error', failureType: 'config_error', names: ['State', 'LEGACY'] },
  { name: 'read: GLOBAL state', command: 'read', catalog: pipelinesCatalog, state: [{ type: 'GLOBAL', global: { shared_state: {}, stream_states: [] } }], expect: 'error', failureType: 'config_error', names: ['State', 'GLOBAL'] },
  { name: 'read: state with an unparsable date', command: 'read', catalog: pipelinesCatalog, state: () => stateOf('pipelines', { projects: { [slug]: { updated_at: 'last tuesday' } } }), expect: 'error', failureType: 'config_error', names: ['pipelines', 'updated_at', 'date'] },
  { name: 'read: state without a stream name', command: 'read', catalog: pipelinesCatalog, state: [{ type: 'STREAM', stream: { stream_state: {} } }], expect: 'error', failureType: 'config_error', names: ['State', 'stream_descriptor'] },
  { name: 'read: state a string', command: 'read', catalog: pipelinesCatalog, state: 'pipelines=2020', expect: 'error', failureType: 'config_error', names: ['state'] },
  {
    name: 'read: state with cursors in the future is accepted and yields no records',
    command: 'read',
    catalog: pipelinesCatalog,
    state: () => stateOf('pipelines', { projects: { [slug]: { updated_at: '2099-01-01T00:00:00.000Z' } }, currently_syncing: null }),
    expect: 'ok',
    then: (messages) => {
      expect(ofType(messages, 'RECORD')).toEqual([]);
      expect(ofType(messages, 'STATE').length).toBeGreaterThan(0);
    },
  },
  {
    name: 'read: an empty state list is accepted',
    command: 'read',
    catalog: catalogOf({ collaborations: 'full_refresh' }),
    state: [],
    expect: 'ok',
    then: (messages) => expect(ofType(messages, 'RECORD').length).toBe(world.collaborations().length),
  },
];

/** Writes one input file; `undefined` input means "the valid one". */
function inputFile(name: string, input: Input, fallback: () => unknown): string {
  const value = typeof input === 'function' ? (input as () => unknown)() : input === undefined ? fallback() : input;
  const path = join(dir, `${name.replace(/[^a-z0-9]+/gi, '-')}-${Math.random().toString(36).slice(2)}.json`);
  if (value !== null && typeof value === 'object' && 'bytes' in value) {
    // A JSON object padded past the limit: big, but not what a config is.
    const padding = (value as { bytes: number }).bytes;
    writeFileSync(path, `{"api_token": "${world.token}", "padding": "${'x'.repeat(padding)}"}`);
  } else if (value !== null && typeof value === 'object' && 'raw' in value) {
    writeFileSync(path, (value as { raw: string | Buffer }).raw);
  } else {
    writeFileSync(path, JSON.stringify(value));
  }
  return path;
}

async function runCase(c: Case): Promise<CliRun> {
  const args: string[] = [c.command, '--config', inputFile(`${c.name}-config`, c.config, validConfig)];
  if (c.command === 'read') args.push('--catalog', inputFile(`${c.name}-catalog`, c.catalog, () => pipelinesCatalog));
  if (c.state !== undefined) args.push('--state', inputFile(`${c.name}-state`, c.state, () => []));
  return runCli(args, { timeoutMs: 30_000 });
}

const runs = new Map<string, CliRun | Error>();

beforeAll(async () => {
  fake = await startFakeCircleCi({ world });
  const results = await inParallel(CASES, 3, runCase);
  CASES.forEach((c, i) => runs.set(c.name, results[i]!));
}, 170_000);

afterAll(async () => {
  await fake?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A Node stack frame: "    at fn (file:line:col)". */
const STACK_FRAME = /^\s+at .+:\d+:\d+\)?$/m;

describe('bad configs, catalogs and states through the built CLI', () => {
  it(`covers at least 30 cases (${CASES.length})`, () => expect(CASES.length).toBeGreaterThanOrEqual(30));

  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const run = runs.get(c.name);
    if (run === undefined) throw new Error('did not run');
    if (run instanceof Error) throw run;
    const messages = assertCleanOutput(run, world.token, c.name);
    const output = run.stdout + run.stderr;
    for (const text of c.never ?? []) expect(output).not.toContain(text);
    // Whatever happens, it is said in protocol messages, not as a bare stack trace.
    expect(messages.length).toBeGreaterThan(0);
    expect(run.stderr).not.toMatch(STACK_FRAME);
    const errors = ofType(messages, 'TRACE', 'ERROR');
    if (c.expect === 'error') {
      expect(run.exitCode).not.toBe(0);
      expect(errors).toHaveLength(1);
      const error = errors[0]!.trace.error;
      expect(error.failure_type).toBe(c.failureType);
      for (const part of c.names ?? []) expect(error.message).toMatch(part);
      expect(ofType(messages, 'RECORD')).toEqual([]);
    } else if (c.expect === 'failed') {
      expect(run.exitCode).toBe(0);
      expect(errors).toEqual([]);
      expect(messages.map((m) => m.type)).toEqual(['CONNECTION_STATUS']);
      const status = messages[0]!.connectionStatus;
      expect(status.status).toBe('FAILED');
      for (const part of c.names ?? []) expect(status.message).toMatch(part);
    } else {
      expect(errors).toEqual([]);
      expect(run.exitCode).toBe(0);
      c.then?.(messages);
    }
  });
});

describe('API responses of unexpected shapes (msw: the fake plus narrower handlers in front)', () => {
  const api = useMockApi();
  const config = fakeConfig(world, TEST_API, { project_slugs: [slug], start_date: START });
  const pipelinePath = `${TEST_API}/api/v2/project/${slug}/pipeline`;

  async function read(streams: Parameters<typeof runRead>[0]['streams']) {
    const run = await runRead({ config, streams });
    assertCleanRun(run, world.token);
    return run;
  }

  it('a page without "items": a system_error naming the route and the stream', async () => {
    serveFake(api, world, http.get(`${TEST_API}/api/v2/context`, () => HttpResponse.json({ next_page_token: null, data: [] })));
    const run = await read({ context: 'full_refresh', collaborations: 'full_refresh' });
    expect(run.exitCode).not.toBe(0);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]!.failure_type).toBe('system_error');
    expect(run.errors[0]!.message).toContain('GET /api/v2/context');
    expect(run.errors[0]!.message).toContain('"items"');
    expect(run.errors[0]!.message).toContain('context');
    // The sibling stream is unaffected.
    expect(run.records.get('collaborations')).toHaveLength(world.collaborations().length);
  });

  it('null where a string is expected, and fields the schema does not know: passed through as records', async () => {
    const served = world.truth('pipelines', { projectSlugs: [slug] }).map((p, i) => ({
      ...p,
      state: null,
      trigger: { ...(p.trigger as object), type: null },
      vcs: i === 0 ? null : p.vcs,
      brand_new_field: { nested: [1, 'two', null] },
    }));
    serveFake(api, world, http.get(pipelinePath, () => HttpResponse.json({ items: served, next_page_token: null })));
    const run = await read({ pipelines: 'full_refresh' });
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(run.records.get('pipelines')).toEqual(served);
  });

  it('an enormous page (5,000 items): every record emitted, once', async () => {
    const org = world.collaborations()[0]!;
    const items = Array.from({ length: 5000 }, (_, i) => ({ id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, name: `context-${i}`, created_at: '2026-01-01T00:00:00Z' }));
    serveFake(
      api,
      world,
      http.get(`${TEST_API}/api/v2/context`, ({ request }) =>
        new URL(request.url).searchParams.get('owner-id') === org.id ? HttpResponse.json({ items, next_page_token: null }) : HttpResponse.json({ items: [], next_page_token: null }),
      ),
    );
    const run = await read({ context: 'full_refresh' });
    expect(run.exitCode).toBe(0);
    const records = run.records.get('context') ?? [];
    expect(records).toHaveLength(5000);
    expect(new Set(records.map((r) => r.id)).size).toBe(5000);
    expect(records.every((r) => r.organization_id === org.id)).toBe(true);
  });

  it('items without their primary key: skipped with one WARN naming the stream and the key, counted in the final line', async () => {
    const served = world.truth('pipelines', { projectSlugs: [slug] });
    expect(served.length).toBeGreaterThan(2);
    const { id: _dropped, ...withoutId } = served[1]!;
    const items = [served[0], withoutId, { ...served[2], id: null }, ...served.slice(3)];
    serveFake(api, world, http.get(pipelinePath, () => HttpResponse.json({ items, next_page_token: null })));
    const run = await read({ pipelines: 'full_refresh' });
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(run.records.get('pipelines')).toEqual([served[0], ...served.slice(3)]);
    const warnings = run.logs.filter((log) => log.level === 'WARN' && log.message.includes('without its key field'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toContain('pipelines');
    expect(warnings[0]!.message).toContain('"id"');
    expect(run.logs.at(-1)!.message).toContain('skipped without a primary key: pipelines 2');
  });
});
