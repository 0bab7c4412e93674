/**
 * check and discover through `dispatch` (in-process, msw for the API), and the built CLI
 * as a child process for --help, --version and the paths that end in a TRACE ERROR.
 * `spec` is tested once, on the built connector and the image: test/acceptance/spec.test.ts.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from '@jest/globals';
import { HttpResponse, http, passthrough } from 'msw';

import type { Command } from '../../src/cli/args.js';
import { dispatch } from '../../src/commands/dispatch.js';
import { ConfigError } from '../../src/errors.js';
import { Emitter } from '../../src/protocol/emitter.js';
import { USER_AGENT } from '../../src/version.js';
import { TEST_API, TEST_TOKEN, useMockApi } from '../support/http.js';
import { CapturingStream, REPO_ROOT, assertProtocolLines, ofType, type Message } from '../support/protocol.js';

const api = useMockApi();

const dir = mkdtempSync(join(tmpdir(), 'commands-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileCount = 0;
function inputFile(content: unknown): string {
  const path = join(dir, `input-${(fileCount += 1)}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const config = {
  api_token: TEST_TOKEN,
  project_slugs: ['gh/acme/web-app', 'github/acme/api'],
  start_date: '2025-01-01',
  api_url: TEST_API,
};

async function run(command: Command): Promise<{ exitCode: number; messages: Message[]; text: string }> {
  const out = new CapturingStream();
  const exitCode = await dispatch(command, new Emitter(out));
  return { exitCode, messages: assertProtocolLines(out.text), text: out.text };
}

function onlyConnectionStatus(messages: Message[]): { status: string; message?: string } {
  expect(messages.map((m) => m.type)).toEqual(['CONNECTION_STATUS']);
  return messages[0]!.connectionStatus;
}

const me = () => http.get(`${TEST_API}/api/v2/me`, () => HttpResponse.json({ id: 'u1', login: 'alice', name: 'Alice' }));
const projects = (missing: string[] = []) =>
  http.get(`${TEST_API}/api/v2/project/:vcs/:org/:repo`, ({ params }) => {
    const slug = `${String(params.vcs)}/${String(params.org)}/${String(params.repo)}`;
    if (missing.includes(slug)) return HttpResponse.json({ message: 'Project not found' }, { status: 404 });
    return HttpResponse.json({ slug, id: `id-${slug}`, organization_id: 'org-1' });
  });

/** The user's one organization, gh/acme, listing the configured projects and one more. */
const organization = () => [
  http.get(`${TEST_API}/api/v2/me/collaborations`, () => HttpResponse.json([{ id: 'org-1', slug: 'gh/acme', name: 'acme', vcs_type: 'github' }])),
  http.get(`${TEST_API}/api/private/project`, () =>
    HttpResponse.json({ items: ['web-app', 'api', 'docs'].map((repo) => ({ slug: `gh/acme/${repo}`, id: `id-${repo}` })), next_page_token: null }),
  ),
];

describe('check', () => {
  it('SUCCEEDED when the token authenticates and every project is visible', async () => {
    api.server.use(me(), projects(), ...organization());
    const { exitCode, messages } = await run({ name: 'check', config: inputFile(config) });
    expect(exitCode).toBe(0);
    // Slugs only: the scope is what they say; the project stream and those under it cover every project the token can see.
    expect(onlyConnectionStatus(messages)).toEqual({
      status: 'SUCCEEDED',
      message:
        'Project scope (pipelines, insights_workflows, flaky_tests and the streams under them): 2 projects in 1 organization; ' +
        'every project the token can see (project and the streams under it): 3 projects in 1 organization',
    });
    expect(api.requests.map((r) => r.url.pathname)).toEqual(['/api/v2/me', '/api/v2/project/gh/acme/web-app', '/api/v2/project/gh/acme/api', '/api/v2/me/collaborations', '/api/private/project']);
    for (const request of api.requests) {
      expect(request.headers.get('circle-token')).toBe(TEST_TOKEN);
      expect(request.headers.get('user-agent')).toBe(USER_AGENT);
    }
  });

  it('FAILED for 401: the token is invalid or expired, a personal API token is required; token redacted', async () => {
    api.server.use(
      http.get(`${TEST_API}/api/v2/me`, () => HttpResponse.json({ message: `Invalid token ${TEST_TOKEN}` }, { status: 401 })),
    );
    const { exitCode, messages, text } = await run({ name: 'check', config: inputFile(config) });
    expect(exitCode).toBe(0);
    const status = onlyConnectionStatus(messages);
    expect(status.status).toBe('FAILED');
    expect(status.message).toMatch(/token is invalid or expired/);
    expect(status.message).toMatch(/personal API token is required/);
    expect(text).not.toContain(TEST_TOKEN);
    expect(api.requests).toHaveLength(1);
  });

  it('FAILED for a slug answering 404: names the slug, says project tokens do not work with API v2', async () => {
    api.server.use(me(), projects(['gh/acme/api']));
    const { exitCode, messages } = await run({ name: 'check', config: inputFile(config) });
    expect(exitCode).toBe(0);
    const status = onlyConnectionStatus(messages);
    expect(status.status).toBe('FAILED');
    expect(status.message).toContain('Some configured projects were not found (404) with this token: gh/acme/api.');
    expect(status.message).not.toContain('web-app');
    expect(status.message).toContain('Project API tokens do not work with CircleCI API v2');
  });

  it('FAILED naming every slug when all of them answer 404', async () => {
    api.server.use(me(), projects(['gh/acme/web-app', 'gh/acme/api']));
    const { exitCode, messages } = await run({ name: 'check', config: inputFile(config) });
    expect(exitCode).toBe(0);
    const status = onlyConnectionStatus(messages);
    expect(status.status).toBe('FAILED');
    expect(status.message).toContain('None of the configured projects was found (404) with this token: gh/acme/web-app, gh/acme/api.');
    expect(api.requestsTo('/api/v2/project/gh/acme/web-app')).toHaveLength(1);
    expect(api.requestsTo('/api/v2/project/gh/acme/api')).toHaveLength(1);
  });

  it('FAILED for a start_date in the future, saying what it would do, before any request', async () => {
    const { exitCode, messages } = await run({ name: 'check', config: inputFile({ ...config, start_date: '2999-01-01' }) });
    expect(exitCode).toBe(0);
    const status = onlyConnectionStatus(messages);
    expect(status.status).toBe('FAILED');
    expect(status.message).toContain('start_date 2999-01-01T00:00:00.000Z is in the future');
    for (const stream of ['deploy', 'jobs', 'pipelines', 'schedule', 'workflows']) expect(status.message).toContain(stream);
    expect(api.requests).toHaveLength(0);
  });

  it('FAILED when /me answers 404: the URL is not a CircleCI API', async () => {
    api.server.use(http.get(`${TEST_API}/api/v2/me`, () => new HttpResponse('Not Found', { status: 404 })));
    const status = onlyConnectionStatus((await run({ name: 'check', config: inputFile(config) })).messages);
    expect(status.status).toBe('FAILED');
    expect(status.message).toContain(`${TEST_API} answered 404 for /api/v2/me`);
    expect(status.message).toContain('api_url');
  });

  it.each([
    ['a missing token', { ...config, api_token: undefined }, 'api_token'],
    ['a malformed slug', { ...config, project_slugs: ['acme/web-app'] }, 'project_slugs'],
    ['a bad start date', { ...config, start_date: '2025-02-30' }, 'start_date'],
    ['http:// to a remote host', { ...config, api_url: 'http://circleci.com' }, 'api_url'],
    ['max_concurrency 0', { ...config, max_concurrency: 0 }, 'max_concurrency'],
  ])('FAILED for an invalid config (%s): names the field, no request made', async (_name, raw, field) => {
    const { exitCode, messages } = await run({ name: 'check', config: inputFile(raw) });
    expect(exitCode).toBe(0);
    const status = onlyConnectionStatus(messages);
    expect(status.status).toBe('FAILED');
    expect(status.message).toContain(field);
    expect(api.requests).toEqual([]);
  });

  it('FAILED for an empty config: one status naming every required field', async () => {
    const status = onlyConnectionStatus((await run({ name: 'check', config: inputFile({}) })).messages);
    expect(status.status).toBe('FAILED');
    for (const field of ['api_token', 'start_date']) expect(status.message).toContain(`${field} is required`);
    expect(api.requests).toEqual([]);
  });

  it('FAILED for an unreachable host: names the host', async () => {
    // A closed loopback port: the connection is refused. msw lets it through to the real
    // network. The client's backoff sleeps (0.5–30 s) are shortened to 1 ms so the five
    // attempts take no time; shorter timers (bottleneck spacing) and got's 60 s request
    // timeout are left alone.
    api.server.use(http.get('http://127.0.0.1:9/*', () => passthrough()));
    const realSetTimeout = globalThis.setTimeout;
    const waits: number[] = [];
    globalThis.setTimeout = ((handler: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
      const shorten = ms !== undefined && ms >= 500 && ms <= 30_000;
      if (shorten) waits.push(ms);
      return realSetTimeout(handler, shorten ? 1 : ms, ...args);
    }) as typeof setTimeout;
    let result: Awaited<ReturnType<typeof run>>;
    try {
      result = await run({ name: 'check', config: inputFile({ ...config, api_url: 'http://127.0.0.1:9' }) });
    } finally {
      globalThis.setTimeout = realSetTimeout;
    }
    expect(result.exitCode).toBe(0);
    const connectionStatus = ofType(result.messages, 'CONNECTION_STATUS');
    expect(connectionStatus).toHaveLength(1);
    const status = connectionStatus[0]!.connectionStatus;
    expect(status.status).toBe('FAILED');
    expect(status.message).toContain('Could not reach 127.0.0.1:9');
    expect(status.message).toContain('ECONNREFUSED');
    expect(status.message).toContain('api_url');
    expect(waits).toHaveLength(4); // five attempts
    // The retries were logged as WARN lines before the status.
    expect(ofType(result.messages, 'LOG').every((m) => m.log.level === 'WARN')).toBe(true);
    expect(result.messages.at(-1)!.type).toBe('CONNECTION_STATUS');
  });
});

describe('discover', () => {
  const expected: Record<string, { pk: string[]; modes: string[]; cursor?: string }> = {
    collaborations: { pk: ['id'], modes: ['full_refresh'] },
    context: { pk: ['id', 'organization_id'], modes: ['full_refresh'] },
    deploy: { pk: ['id', 'organization_id'], modes: ['full_refresh', 'incremental'], cursor: 'updated_at' },
    groups: { pk: ['id', 'organization_id'], modes: ['full_refresh'] },
    jobs: { pk: ['id', '_workflow_id'], modes: ['full_refresh', 'incremental'], cursor: '_workflow_created_at' },
    job_details: { pk: ['_job_id'], modes: ['full_refresh', 'incremental'], cursor: '_workflow_created_at' },
    tests: { pk: ['_job_id', '_test_key'], modes: ['full_refresh', 'incremental'], cursor: '_workflow_created_at' },
    pipeline_definition: { pk: ['id', 'project_id', 'organization_id'], modes: ['full_refresh'] },
    pipelines: { pk: ['id'], modes: ['full_refresh', 'incremental'], cursor: 'updated_at' },
    project: { pk: ['id', 'organization_id'], modes: ['full_refresh'] },
    schedule: { pk: ['id', 'project-slug'], modes: ['full_refresh', 'incremental'], cursor: 'updated-at' },
    trigger: { pk: ['id', 'project_id', 'pipeline_definition_id', 'organization_id'], modes: ['full_refresh'] },
    workflows: { pk: ['id'], modes: ['full_refresh', 'incremental'], cursor: 'created_at' },
    usage: { pk: ['job_id'], modes: ['full_refresh', 'incremental'], cursor: 'job_run_started_at' },
    deploy_components: { pk: ['id', 'organization_id'], modes: ['full_refresh'] },
    deploy_component_versions: { pk: ['component_id', 'environment_id', 'name'], modes: ['full_refresh'] },
    project_env_vars: { pk: ['project_id', 'name'], modes: ['full_refresh'] },
    project_checkout_keys: { pk: ['project_id', 'fingerprint'], modes: ['full_refresh'] },
    context_env_vars: { pk: ['context_id', 'variable'], modes: ['full_refresh'] },
    webhooks: { pk: ['id'], modes: ['full_refresh'] },
    insights_workflows: { pk: ['project_slug', 'name', '_reporting_window', '_synced_at'], modes: ['full_refresh'] },
    insights_jobs: { pk: ['project_slug', 'workflow_name', 'name', '_reporting_window', '_synced_at'], modes: ['full_refresh'] },
    insights_workflow_runs: { pk: ['id'], modes: ['full_refresh', 'incremental'], cursor: 'created_at' },
    flaky_tests: { pk: ['project_slug', '_flake_key', '_synced_at'], modes: ['full_refresh'] },
    insights_org_summary: { pk: ['organization_id', '_reporting_window', '_synced_at'], modes: ['full_refresh'] },
  };

  async function catalog(): Promise<Message[]> {
    const { exitCode, messages, text } = await run({ name: 'discover', config: inputFile(config) });
    expect(exitCode).toBe(0);
    expect(messages.map((m) => m.type)).toEqual(['CATALOG']);
    expect(text).not.toContain(TEST_TOKEN);
    return messages[0]!.catalog.streams;
  }

  it('prints one CATALOG with every stream, names exact, without calling the API', async () => {
    const streams = await catalog();
    expect(streams.map((s) => s.name).sort()).toEqual(Object.keys(expected).sort());
    expect(new Set(streams.map((s) => s.name)).size).toBe(Object.keys(expected).length);
    expect(api.requests).toEqual([]);
  });

  it('primary keys, cursors and sync modes are the agreed ones', async () => {
    const actual = Object.fromEntries(
      (await catalog()).map((s) => [
        s.name,
        {
          pk: (s.source_defined_primary_key as string[][]).map((path) => {
            expect(path).toHaveLength(1);
            return path[0];
          }),
          modes: s.supported_sync_modes,
          ...(s.default_cursor_field ? { cursor: (s.default_cursor_field as string[]).join('.') } : {}),
        },
      ]),
    );
    expect(actual).toEqual(expected);
  });

  it('incremental streams declare a source-defined cursor and are resumable; the others do not', async () => {
    for (const stream of await catalog()) {
      const incremental = expected[stream.name]!.cursor !== undefined;
      expect([stream.name, stream.source_defined_cursor ?? false, stream.is_resumable]).toEqual([stream.name, incremental, incremental]);
      if (!incremental) expect(stream.default_cursor_field).toBeUndefined();
    }
  });

  it('every key and cursor exists in the schema properties and is not an object or array', async () => {
    for (const stream of await catalog()) {
      const properties = stream.json_schema.properties as Record<string, { type?: string | string[] }>;
      const fields = [...(stream.source_defined_primary_key as string[][]).flat(), ...((stream.default_cursor_field as string[] | undefined) ?? [])];
      for (const field of fields) {
        const property = properties[field];
        expect([stream.name, field, property !== undefined]).toEqual([stream.name, field, true]);
        const types = [property!.type ?? []].flat();
        expect(types.length).toBeGreaterThan(0);
        expect([stream.name, field, types.filter((t) => t === 'object' || t === 'array')]).toEqual([stream.name, field, []]);
      }
    }
  });

  it('an invalid config is a ConfigError naming the field (main turns it into a TRACE ERROR)', async () => {
    const out = new CapturingStream();
    const promise = dispatch({ name: 'discover', config: inputFile({ ...config, start_date: 'soon' }) }, new Emitter(out));
    await expect(promise).rejects.toThrow(ConfigError);
    await expect(promise).rejects.toThrow(/start_date/);
    expect(out.text).toBe('');
  });
});

describe('the built CLI', () => {
  const node = join(REPO_ROOT, 'node_modules', '.bin', 'node');
  const main = join(REPO_ROOT, 'dist', 'src', 'main.js');

  function exec(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      execFile(node, [main, ...args], { cwd: REPO_ROOT, timeout: 30_000 }, (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') reject(error);
        else resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
      });
    });
  }

  /** A run of one of the four commands: stdout must be protocol lines only. */
  async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string; messages: Message[] }> {
    const result = await exec(...args);
    return { ...result, messages: assertProtocolLines(result.stdout) };
  }

  function onlyTraceError(messages: Message[]): Message {
    expect(messages.map((m) => `${m.type}:${m.trace?.type ?? ''}`)).toEqual(['TRACE:ERROR']);
    return messages[0]!.trace.error;
  }

  it('--help: usage as plain text on stdout, exit 0; every command and file is explained', async () => {
    for (const args of [['--help'], ['read', '--help']]) {
      const { code, stdout, stderr } = await exec(...args);
      expect(code).toBe(0);
      expect(stderr).toBe('');
      expect(stdout).toMatch(/^source-circleci \d+\.\d+\.\d+: /);
      for (const line of ['spec', 'check    --config CONFIG', 'discover --config CONFIG', 'read     --config CONFIG --catalog CATALOG [--state STATE]']) {
        expect(stdout).toContain(`source-circleci ${line}`);
      }
      for (const file of ['CONFIG ', 'CATALOG ', 'STATE ']) expect(stdout).toContain(`\n  ${file}`);
      // Not a protocol message: nothing on stdout parses as one.
      for (const text of stdout.split('\n')) expect(text.startsWith('{')).toBe(false);
    }
  });

  it('--version: the package version, exit 0', async () => {
    const { code, stdout } = await exec('--version');
    expect(code).toBe(0);
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
    expect(stdout).toBe(`${pkg.name} ${pkg.version}\n`);
  });

  it('an unknown command: one TRACE ERROR config_error, non-zero exit', async () => {
    const { code, messages } = await cli('sync', '--config', 'x.json');
    expect(code).not.toBe(0);
    const error = onlyTraceError(messages);
    expect(error.failure_type).toBe('config_error');
    expect(error.message).toContain('Unknown command "sync"');
  });

  it('no command at all: one TRACE ERROR config_error, non-zero exit', async () => {
    const { code, messages } = await cli();
    expect(code).not.toBe(0);
    expect(onlyTraceError(messages).message).toContain('No command given');
  });

  it('check without --config: one TRACE ERROR config_error, non-zero exit', async () => {
    const { code, messages } = await cli('check');
    expect(code).not.toBe(0);
    const error = onlyTraceError(messages);
    expect(error.failure_type).toBe('config_error');
    expect(error.message).toContain('check needs --config FILE');
  });

  it('a config file that is not JSON: one TRACE ERROR naming the file, non-zero exit', async () => {
    const path = inputFile('api_token = "abc"');
    for (const command of ['check', 'discover']) {
      const { code, messages } = await cli(command, '--config', path);
      expect(code).not.toBe(0);
      const error = onlyTraceError(messages);
      expect(error.failure_type).toBe('config_error');
      expect(error.message).toContain(`The config file ${path} is not valid JSON`);
    }
  });

  it('a config file that does not exist: one TRACE ERROR naming the file', async () => {
    const path = join(dir, 'missing.json');
    const { code, messages } = await cli('discover', `--config=${path}`);
    expect(code).not.toBe(0);
    expect(onlyTraceError(messages).message).toBe(`The config file ${path} does not exist`);
  });

  it('check with an invalid config: one CONNECTION_STATUS FAILED, exit 0', async () => {
    const { code, messages } = await cli('check', '--config', inputFile({ ...config, project_slugs: ['acme/web-app'] }));
    expect(code).toBe(0);
    expect(messages.map((m) => m.type)).toEqual(['CONNECTION_STATUS']);
    expect(messages[0]!.connectionStatus.status).toBe('FAILED');
    expect(messages[0]!.connectionStatus.message).toContain('project_slugs');
  });

  it('discover: one CATALOG, exit 0, the token nowhere in the output', async () => {
    const { code, messages, stdout, stderr } = await cli('discover', '--config', inputFile(config));
    expect(code).toBe(0);
    expect(messages.map((m) => m.type)).toEqual(['CATALOG']);
    expect(stdout + stderr).not.toContain(TEST_TOKEN);
  });
});
