/**
 * Secret hygiene. The API token must never appear in any output, in any spelling, on
 * any failure path (got's errors carry the request options, headers included), and must
 * travel only to the configured api_url host over https (or loopback http).
 */

import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { HttpResponse, http } from 'msw';

import { dispatch } from '../../src/commands/dispatch.js';
import { TRANSIENT_MAX_ATTEMPTS } from '../../src/http/retry-policy.js';
import { ConfigError } from '../../src/errors.js';
import { Emitter } from '../../src/protocol/emitter.js';
import { createWorld, startFakeCircleCi, type FaultOptions, type RunningFake } from '../../tools/fake-circleci/index.js';
import { catalogOf, fakeConfig, runRead, writeJson } from '../support/connector.js';
import { TEST_API, useMockApi } from '../support/http.js';
import { CapturingStream, ofType } from '../support/protocol.js';
import { assertNoSecret, findSecret, secretForms } from '../support/secrets.js';
import { assertCleanOutput, runCli, serveFake, type CliRun } from './harness.js';
import { closedPort } from '../support/closed-port.js';

const world = createWorld({ preset: 'tiny', seed: 33 });
const TOKEN = world.token;
const slug = world.projects[0]!.slug;
const START = '2026-08-01T00:00:00Z';

describe('assertNoSecret', () => {
  it.each(secretForms(TOKEN).map((form) => [form.name, form.value] as const))('catches %s inside other text', (_, value) => {
    const text = `{"type":"LOG","log":{"level":"WARN","message":"header was Basic ${value}; retrying"}}`;
    expect(findSecret(text, TOKEN)).toBeDefined();
    expect(() => assertNoSecret(text, TOKEN)).toThrow(/contains/);
  });

  it('passes text without the token, and refuses a token too short to search for', () => {
    expect(() => assertNoSecret('CircleCI rejected the API token (401 on GET /api/v2/me)', TOKEN)).not.toThrow();
    expect(() => assertNoSecret('anything', 'abc')).toThrow(/too short|ordinary text/);
  });
});


describe('failure paths of the built CLI never print the token (stdout and stderr, every line)', () => {
  interface Failure {
    name: string;
    faults?: FaultOptions;
    /** An api_url other than a fake's. */
    apiUrl?: () => Promise<string>;
    failureType: string;
    says: RegExp;
    /** A short request timeout, only where the answers hang: under load (these CLIs run in parallel) a 500 can take longer. */
    shortTimeout?: boolean;
  }
  const fakes: RunningFake[] = [];
  const results = new Map<string, { read: CliRun; check: CliRun }>();
  const FAILURES: Failure[] = [
    { name: 'network error (connection refused)', apiUrl: async () => `http://127.0.0.1:${await closedPort()}`, failureType: 'transient_error', says: /ECONNREFUSED/ },
    { name: 'timeout (every response hangs)', faults: { hangs: { route: '*' } }, failureType: 'transient_error', says: /ETIMEDOUT/, shortTimeout: true },
    { name: '401 (token rejected)', faults: { revokeTokenAfter: 0 }, failureType: 'config_error', says: /invalid or expired/ },
    { name: '500 burst beyond the retry policy', faults: { serverErrors: { status: 500 } }, failureType: 'transient_error', says: /500/ },
  ];

  beforeAll(async () => {
    await Promise.all(
      FAILURES.map(async (failure) => {
        let apiUrl: string;
        if (failure.apiUrl) apiUrl = await failure.apiUrl();
        else {
          const fake = await startFakeCircleCi({ world, faults: failure.faults });
          fakes.push(fake);
          apiUrl = fake.url;
        }
        const config = writeJson(fakeConfig(world, apiUrl, { project_slugs: [slug], start_date: START }));
        const runOptions = failure.shortTimeout ? { requestTimeoutMs: 300 } : undefined;
        const [read, check] = await Promise.all([
          runCli(['read', '--config', config, '--catalog', writeJson(catalogOf({ collaborations: 'full_refresh' }))], { runOptions, timeoutMs: 60_000 }),
          runCli(['check', '--config', config], { runOptions, timeoutMs: 60_000 }),
        ]);
        results.set(failure.name, { read, check });
      }),
    );
  }, 90_000);
  afterAll(async () => {
    await Promise.all(fakes.map((fake) => fake.close()));
  });

  it.each(FAILURES.map((f) => [f.name, f] as const))('%s: read ends in a TRACE ERROR without the token', (name, failure) => {
    const { read } = results.get(name)!;
    const messages = assertCleanOutput(read, TOKEN, `${name} read`);
    expect(read.exitCode).not.toBe(0);
    const errors = ofType(messages, 'TRACE', 'ERROR');
    expect(errors.length).toBeGreaterThan(0);
    for (const error of errors) {
      expect(error.trace.error.failure_type).toBe(failure.failureType);
      expect(error.trace.error.message).toMatch(failure.says);
    }
  });

  it.each(FAILURES.map((f) => [f.name, f] as const))('%s: check answers FAILED without the token', (name, failure) => {
    const { check } = results.get(name)!;
    const messages = assertCleanOutput(check, TOKEN, `${name} check`);
    expect(check.exitCode).toBe(0);
    // Retry warnings may come first; the answer is one CONNECTION_STATUS.
    expect(messages.filter((m) => m.type !== 'LOG').map((m) => m.type)).toEqual(['CONNECTION_STATUS']);
    const status = messages[messages.length - 1]!.connectionStatus;
    expect(status.status).toBe('FAILED');
    expect(status.message).toMatch(failure.says);
  });

  it('the retries before giving up were logged, also without the token', () => {
    const { read } = results.get('500 burst beyond the retry policy')!;
    // The part that failed is said too, once (not a retry).
    const warnings = ofType(assertCleanOutput(read, TOKEN), 'LOG').filter((m) => m.log.level === 'WARN' && !/ incomplete: /.test(m.log.message));
    expect(warnings.length).toBe(TRANSIENT_MAX_ATTEMPTS - 1);
  });
});

describe('the token goes only to the configured api_url host', () => {
  const api = useMockApi();
  const OTHER_HOST = 'https://collector.elsewhere.test';
  const otherHostRequests: string[] = [];
  const config = fakeConfig(world, TEST_API, { project_slugs: [slug], start_date: START });

  afterEach(() => {
    otherHostRequests.length = 0;
  });

  /** The fake at TEST_API, a recorder at OTHER_HOST, and `overrides` in front of both. */
  function serve(...overrides: Parameters<typeof api.server.use>): void {
    const recorder = http.all(`${OTHER_HOST}/*`, ({ request }) => {
      otherHostRequests.push(`${request.method} ${request.url} token=${request.headers.get('circle-token') === TOKEN}`);
      return HttpResponse.json({ items: [], next_page_token: null });
    });
    serveFake(api, world, ...overrides, recorder);
  }

  it.each([301, 302, 307, 308])('a %d redirect to another host is not followed; the stream fails saying so', async (status) => {
    serve(http.get(`${TEST_API}/api/v2/me/collaborations`, () => new HttpResponse(null, { status, headers: { Location: `${OTHER_HOST}/steal` } })));
    const run = await runRead({ config, streams: { collaborations: 'full_refresh' } });
    assertNoSecret(run.lines.join('\n'), TOKEN);
    expect(otherHostRequests).toEqual([]);
    expect(api.requests.every((r) => r.url.origin === TEST_API)).toBe(true);
    expect(run.exitCode).not.toBe(0);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]!.message).toContain(String(status));
    expect(run.errors[0]!.message).toMatch(/redirect/i);
    expect(run.errors[0]!.message).toContain('api_url');
  });

  it('check: a redirect of /me is a FAILED status, and nothing reaches the other host', async () => {
    serve(http.get(`${TEST_API}/api/v2/me`, () => new HttpResponse(null, { status: 302, headers: { Location: `${OTHER_HOST}/me` } })));
    const out = new CapturingStream();
    expect(await dispatch({ name: 'check', config: writeJson(config) }, new Emitter(out))).toBe(0);
    assertNoSecret(out.text, TOKEN);
    expect(otherHostRequests).toEqual([]);
    const status = out.messages.find((m) => m.type === 'CONNECTION_STATUS')!.connectionStatus;
    expect(status.status).toBe('FAILED');
    expect(status.message).toMatch(/redirect/i);
  });

  it.each(['http://circleci.com', 'http://10.0.0.8:8080', 'http://circleci.internal.example'])('http:// to %s is refused before any request', async (apiUrl) => {
    serve(http.all(`${apiUrl}/*`, ({ request }) => {
      otherHostRequests.push(`${request.method} ${request.url}`);
      return HttpResponse.json({});
    }));
    await expect(runRead({ config: { ...config, api_url: apiUrl }, streams: { collaborations: 'full_refresh' } })).rejects.toThrow(ConfigError);
    await expect(runRead({ config: { ...config, api_url: apiUrl }, streams: { collaborations: 'full_refresh' } })).rejects.toThrow(/https:\/\//);
    expect(api.requests).toEqual([]);
    expect(otherHostRequests).toEqual([]);
  });
});
