// Both adapters (node:http server and msw) over the same route table, and the CLI.

import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setupServer } from 'msw/node';
import { parseConfig } from '../../src/config/config.js';
import { parseCli } from '../../tools/fake-circleci/cli.js';
import { FaultController } from '../../tools/fake-circleci/faults.js';
import { fakeCircleCiHandlers } from '../../tools/fake-circleci/msw.js';
import { startFakeCircleCi, type RunningFake } from '../../tools/fake-circleci/server.js';
import { createWorld, type JsonObject } from '../../tools/fake-circleci/world.js';

const MSW_BASE = 'https://circleci.fake.test';

const world = createWorld({ preset: 'tiny', seed: 21 });
const slug = world.projectSlugs()[2] as string; // circleci/<org>/<project>
const org = world.collaborations()[0]?.id as string;
const wf = world.truth('workflows')[0] as JsonObject;
const job = world.truth('jobs').find((j) => j.project_slug === slug && j.job_number !== undefined) as JsonObject;
const test = world.testsTruth().next().value as JsonObject;

const serverFaults = new FaultController();
const mswFaults = new FaultController();
const msw = fakeCircleCiHandlers({ world, faults: mswFaults, baseUrl: MSW_BASE });
const mswServer = setupServer(...msw.handlers);
let fake: RunningFake;

beforeAll(async () => {
  fake = await startFakeCircleCi({ world, faults: serverFaults });
  mswServer.listen({ onUnhandledFrame: 'bypass' }); // loopback requests reach the real server
});

afterAll(async () => {
  msw.release();
  mswServer.close();
  await fake.close();
});

async function fetchBoth(path: string, init: RequestInit = {}): Promise<[Response, Response]> {
  const headers = { 'Circle-Token': world.token, ...(init.headers as Record<string, string> | undefined) };
  return Promise.all([
    fetch(`${fake.url}${path}`, { ...init, headers }),
    fetch(`${MSW_BASE}${path}`, { ...init, headers }),
  ]);
}

describe('server and msw adapters', () => {
  it('answer the same status, content type and bytes for the same requests', async () => {
    const [s1, m1] = await fetchBoth(`/api/v2/project/${slug}/pipeline`);
    expect(await m1.text()).toBe(await s1.clone().text());
    const first = (await s1.json()) as { next_page_token: string };
    const paths = [
      '/api/v2/me',
      '/api/v2/me/collaborations',
      `/api/v2/context?owner-id=${org}&owner-type=organization`,
      `/api/v2/organizations/${org}/groups?limit=1`,
      `/api/v2/deploy/environments?org-id=${org}&page-size=2`,
      `/api/private/project?organization-id=${org}&page-size=50`,
      `/api/private/project?organization-id=${org}&page-size=51`,
      `/api/v2/project/${slug}`,
      `/api/v2/project/${encodeURIComponent(slug)}/pipeline`,
      `/api/v2/project/${slug}/pipeline?page-token=${first.next_page_token}`,
      `/api/v2/project/${slug}/pipeline?page-token=bogus`,
      `/api/v2/pipeline/${world.listingPipelineId(wf)}/workflow`,
      `/api/v2/workflow/${wf.id as string}`,
      `/api/v2/workflow/${wf.id as string}/job`,
      '/api/v2/workflow/6f1a3c2e-0d4b-4e8f-9a7c-5b2d1e0f3a4c',
      `/api/v2/project/${slug}/job/${job.job_number as number}`,
      `/api/v2/project/${encodeURIComponent(slug)}/job/${job.job_number as number}`,
      `/api/v2/project/${slug}/job/999999999`,
      `/api/v2/project/${test.project_slug as string}/${test._job_number as number}/tests`,
      `/api/v2/project/${encodeURIComponent(test.project_slug as string)}/${test._job_number as number}/tests`,
      '/api/v2/nowhere',
    ];
    const statuses = new Set<number>();
    for (const path of paths) {
      const [a, b] = await fetchBoth(path);
      const [ta, tb] = [await a.text(), await b.text()];
      expect([path, b.status, b.headers.get('content-type'), tb]).toEqual([path, a.status, a.headers.get('content-type'), ta]);
      statuses.add(a.status);
    }
    expect(statuses).toEqual(new Set([200, 400, 404, 500]));
    const [a, b] = await fetchBoth('/api/v2/me', { headers: { 'Circle-Token': 'wrong' } });
    expect([b.status, await b.text()]).toEqual([a.status, await a.text()]);
    expect(a.status).toBe(401);
    expect(fake.stats.count('me')).toBeGreaterThan(0);
    expect(msw.stats.snapshot().byRoute).toEqual(fake.stats.snapshot().byRoute);
  });

  it('the msw adapter honours a base URL with a path prefix and leaves other hosts alone', async () => {
    const prefixed = fakeCircleCiHandlers({ world, baseUrl: 'https://ci.example.test/circle' });
    mswServer.use(...prefixed.handlers);
    const r = await fetch('https://ci.example.test/circle/api/v2/me', { headers: { 'Circle-Token': world.token } });
    expect(r.status).toBe(200);
    expect(((await r.json()) as JsonObject).login).toBe(world.me().login);
    expect(prefixed.stats.total).toBe(1);
    mswServer.resetHandlers();
  });

  it('rate-limit headers travel through both adapters', async () => {
    serverFaults.set({ rateLimit: { requestsPerMinute: 1 } });
    mswFaults.set({ rateLimit: { requestsPerMinute: 1 } });
    try {
      await fetchBoth('/api/v2/me');
      const [a, b] = await fetchBoth('/api/v2/me');
      for (const r of [a, b]) {
        expect(r.status).toBe(429);
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect(r.headers.get('ratelimit-limit')).toBe('1');
        expect(r.headers.get('x-ratelimit-remaining')).toBe('0');
        expect(await r.json()).toEqual({ message: 'Rate limit exceeded.' });
      }
    } finally {
      serverFaults.set({});
      mswFaults.set({});
    }
  });

  it('connection reset: the server destroys the socket, msw answers a network error', async () => {
    serverFaults.set({ resets: { route: 'me', times: 1 } });
    mswFaults.set({ resets: { route: 'me', times: 1 } });
    try {
      const [a, b] = await Promise.allSettled([
        fetch(`${fake.url}/api/v2/me`, { headers: { 'Circle-Token': world.token } }),
        fetch(`${MSW_BASE}/api/v2/me`, { headers: { 'Circle-Token': world.token } }),
      ]);
      expect(a.status).toBe('rejected');
      expect(b.status).toBe('rejected');
      expect(String((a as PromiseRejectedResult).reason)).toMatch(/fetch failed/);
      const [c, d] = await fetchBoth('/api/v2/me');
      expect([c.status, d.status]).toEqual([200, 200]);
    } finally {
      serverFaults.set({});
      mswFaults.set({});
    }
  });

  it('hang: no answer until the client times out; close() does not wait for it', async () => {
    serverFaults.set({ hangs: { route: 'pipelines' } });
    mswFaults.set({ hangs: { route: 'pipelines' } });
    try {
      const [a, b] = await Promise.allSettled([
        fetch(`${fake.url}/api/v2/project/${slug}/pipeline`, { headers: { 'Circle-Token': world.token }, signal: AbortSignal.timeout(80) }),
        fetch(`${MSW_BASE}/api/v2/project/${slug}/pipeline`, { headers: { 'Circle-Token': world.token }, signal: AbortSignal.timeout(80) }),
      ]);
      expect(a.status).toBe('rejected');
      expect(b.status).toBe('rejected');
      expect(((a as PromiseRejectedResult).reason as Error).name).toBe('TimeoutError');
      expect(((b as PromiseRejectedResult).reason as Error).name).toBe('TimeoutError');
      expect(fake.stats.byStatus.hang).toBeGreaterThanOrEqual(1);
      // a hanging request does not block closing a server: the request never ends on its
      // own, so close() resolving at all shows it did not wait, and the client is cut off
      const other = await startFakeCircleCi({ world, faults: { hangs: {} } });
      let settled = false;
      const pending = fetch(`${other.url}/api/v2/me`, { headers: { 'Circle-Token': world.token } })
        .catch((e: unknown) => e)
        .finally(() => {
          settled = true;
        });
      while (other.stats.byStatus.hang === undefined && !settled) await new Promise((r) => setImmediate(r));
      expect(settled).toBe(false);
      await other.close();
      expect(String(await pending)).toMatch(/fetch failed|terminated|other side closed/i);
    } finally {
      serverFaults.set({});
      mswFaults.set({});
    }
  });

  it('truncated body: Content-Length matches the cut body, JSON parsing fails', async () => {
    serverFaults.set({ truncated: { route: 'me', times: 1 } });
    mswFaults.set({ truncated: { route: 'me', times: 1 } });
    try {
      const [a, b] = await fetchBoth('/api/v2/me');
      const [ta, tb] = [await a.text(), await b.text()];
      expect(tb).toBe(ta);
      expect(a.status).toBe(200);
      expect(Number(a.headers.get('content-length'))).toBe(Buffer.byteLength(ta));
      expect(() => JSON.parse(ta) as unknown).toThrow();
    } finally {
      serverFaults.set({});
      mswFaults.set({});
    }
  });

  it('HTML 502 through both adapters', async () => {
    serverFaults.set({ htmlErrors: { times: 1 } });
    mswFaults.set({ htmlErrors: { times: 1 } });
    try {
      const [a, b] = await fetchBoth('/api/v2/me/collaborations');
      expect([a.status, b.status]).toEqual([502, 502]);
      expect(a.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await b.text()).toBe(await a.text());
    } finally {
      serverFaults.set({});
      mswFaults.set({});
    }
  });
});

/** Whether a process runs (signal 0 checks without sending). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('cli', () => {
  const cli = fileURLToPath(new URL('../../tools/fake-circleci/cli.js', import.meta.url));

  it('prints one line with URL and token, serves, logs with --verbose to stderr, exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, [cli, '--port', '0', '--size', 'tiny', '--seed', '21', '--verbose'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (stdout.includes('\n')) resolve(stdout.split('\n')[0] as string);
      });
      child.on('exit', (code) => reject(new Error(`cli exited ${code}: ${stderr}`)));
    });
    const info = JSON.parse(line) as { url: string; api_url: string; token: string; project_slugs: string[] };
    expect(info.token).toBe(world.token);
    expect(info.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(info.api_url).toBe(`${info.url}/api/v2`);
    expect(info.project_slugs).toEqual(world.projectSlugs());
    const me = await fetch(`${info.api_url}/me`, { headers: { 'Circle-Token': info.token } });
    expect(await me.json()).toEqual(world.me());
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain('GET /api/v2/me -> 200 [me]');
  });

  it('writes a config for itself with --config-out, and stops when the process that started it is killed', async () => {
    const configPath = join(mkdtempSync(join(tmpdir(), 'fake-cli-')), 'secrets', 'config.json');
    // A stand-in for npm: starts the server, prints its pid and the server's first line,
    // then is SIGKILLed, which passes no signal on.
    const starter = `const c = require('node:child_process').spawn(process.execPath, ${JSON.stringify([cli, '--port', '0', '--size', 'tiny', '--seed', '21', '--config-out', configPath])}, { stdio: ['ignore', 'pipe', 'inherit'] });
      c.stdout.once('data', (d) => process.stdout.write(JSON.stringify({ pid: c.pid, line: d.toString() }) + '\\n'));`;
    const parent = spawn(process.execPath, ['-e', starter], { stdio: ['ignore', 'pipe', 'inherit'] });
    let server: number | undefined;
    try {
      const started = await new Promise<{ pid: number; line: string }>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(JSON.parse(d.toString()) as { pid: number; line: string })));
      server = started.pid;
      const info = JSON.parse(started.line) as { api_url: string };
      const config = parseConfig(JSON.parse(readFileSync(configPath, 'utf8')));
      expect(config.apiUrl).toBe(info.api_url.replace(/\/api\/v2$/, ''));
      expect(config.projectSlugs).toEqual(world.projectSlugs());
      const me = await fetch(`${info.api_url}/me`, { headers: { 'Circle-Token': config.apiToken } });
      expect(me.status).toBe(200);

      parent.kill('SIGKILL');
      while (alive(started.pid)) await new Promise((resolve) => setTimeout(resolve, 50));
      await expect(fetch(`${info.api_url}/me`)).rejects.toThrow();
    } finally {
      // A failed assertion must not leave either process serving past the test.
      parent.kill('SIGKILL');
      if (server !== undefined && alive(server)) process.kill(server, 'SIGKILL');
    }
  });

  it('maps flags to world and fault options', () => {
    const parsed = parseCli([
      '--size', 'tiny', '--seed', '4', '--pipelines', '7', '--page-size', '3',
      '--latency-ms', '20', '--jitter-ms', '10', '--rpm', '100', '--max-concurrency', '4', '--bare-429',
      '--error-rate', '0.2', '--error-status', '503', '--error-burst', '3',
      '--reset-rate', '0.1', '--fault-route', 'pipelines,workflow_jobs', '--fault-times', '2',
      '--not-found-ids', 'a,b', '--forbidden-group-orgs', 'o1', '--revoke-after', '50', '--repeat-token-route', 'pipelines',
    ]);
    expect(parsed.port).toBe(8080);
    expect(createWorld(parsed.world).options).toMatchObject({ seed: 4, pipelinesPerProject: 7, pageSize: 3, projectsPerOrg: 1 });
    const target = { route: ['pipelines', 'workflow_jobs'], times: 2, after: undefined };
    expect(parsed.faults).toEqual({
      seed: 1,
      latency: { fixedMs: 20, jitterMs: 10 },
      rateLimit: { requestsPerMinute: 100, maxConcurrent: 4, windowMs: undefined, retryAfterSeconds: undefined, headers: false },
      serverErrors: { rate: 0.2, ...target, status: 503, burst: 3 },
      resets: { rate: 0.1, ...target },
      notFoundIds: ['a', 'b'],
      forbiddenGroupOrgs: ['o1'],
      revokeTokenAfter: 50,
      repeatPageToken: 'pipelines',
    });
  });

  it('--jobs-target sizes the world to about that many jobs, keeping the preset\'s other options', () => {
    const preset = createWorld(parseCli(['--size', 'tiny']).world).options;
    for (const target of [2_000, 8_000]) {
      const sized = createWorld(parseCli(['--size', 'tiny', '--jobs-target', String(target)]).world);
      // The sizing is an estimate (see benchmarkOptions); a fifth either way is its measured spread and more.
      expect(Math.abs(sized.counts().jobs - target)).toBeLessThan(target / 5);
      expect(sized.options.pageSize).toBe(preset.pageSize);
      expect(sized.options.contextsPerOrg).toBe(preset.contextsPerOrg);
    }
    // An explicit size flag still wins over the target's.
    const pinned = createWorld(parseCli(['--jobs-target', '8000', '--pipelines', '2']).world);
    expect(pinned.options.pipelinesPerProject).toBe(2);
    expect(pinned.counts().jobs).toBeLessThan(8_000 / 10);
  });

  it('rejects unknown flags with exit code 2', async () => {
    const child = spawn(process.execPath, [cli, '--no-such-flag'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(2);
  });
});
