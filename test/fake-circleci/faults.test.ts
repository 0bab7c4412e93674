import { describe, it, expect, jest } from '@jest/globals';
import { createCore, type FakeCircleCiCore } from '../../tools/fake-circleci/dispatch.js';
import { FaultController, type FaultOptions } from '../../tools/fake-circleci/faults.js';
import { createWorld, type JsonObject } from '../../tools/fake-circleci/world.js';
import { body, get, walkList, withParam } from './helpers.js';

const world = createWorld({ preset: 'tiny', seed: 1 });
const slug = world.projectSlugs()[0] as string;
const PIPELINES = `/api/v2/project/${slug}/pipeline`;
const ME = '/api/v2/me';

function core(faults: FaultOptions): FakeCircleCiCore {
  return createCore({ world, faults });
}

async function statuses(c: FakeCircleCiCore, path: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await get(c, path)).status);
  return out;
}

/**
 * Run with a fake clock and fake timers (Date, setTimeout, performance), so delays and
 * rate-limit windows are checked exactly, however loaded the machine is. Promise
 * plumbing (nextTick, microtasks, setImmediate) stays real.
 */
async function withFakeClock<T>(fn: () => Promise<T>): Promise<T> {
  jest.useFakeTimers({ now: FAKE_NOW, doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] });
  try {
    return await fn();
  } finally {
    jest.useRealTimers();
  }
}

const FAKE_NOW = Date.parse('2026-11-01T00:00:00.000Z');

describe('faults', () => {
  it('latency: fixed delay, seeded jitter, route targeting', async () => {
    await withFakeClock(async () => {
      const c = core({ latency: { fixedMs: 60, route: 'pipelines' } });
      let answered = false;
      const slow = get(c, PIPELINES).then((r) => {
        answered = true;
        return r;
      });
      expect(jest.getTimerCount()).toBe(1);
      await jest.advanceTimersByTimeAsync(59);
      expect(answered).toBe(false);
      await jest.advanceTimersByTimeAsync(1);
      expect(answered).toBe(true);
      expect((await slow).status).toBe(200);
      // another route waits for no timer at all
      const fast = get(c, ME);
      expect(jest.getTimerCount()).toBe(0);
      expect((await fast).status).toBe(200);
    });
    const a = new FaultController({ seed: 3, latency: { fixedMs: 10, jitterMs: 50 } });
    const b = new FaultController({ seed: 3, latency: { fixedMs: 10, jitterMs: 50 } });
    const seqA = Array.from({ length: 50 }, () => a.latencyMs('me'));
    expect(Array.from({ length: 50 }, () => b.latencyMs('me'))).toEqual(seqA);
    expect(Math.min(...seqA)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...seqA)).toBeLessThan(60);
    expect(new Set(seqA).size).toBeGreaterThan(10);
  });

  it('rate limit: requests per window answer 429 with Retry-After and RateLimit/X-RateLimit headers', async () => {
    await withFakeClock(async () => {
      const c = core({ rateLimit: { requestsPerMinute: 3 } });
      const ok = [await get(c, ME), await get(c, ME), await get(c, ME)];
      expect(ok.map((r) => r.status)).toEqual([200, 200, 200]);
      expect(ok.map((r) => r.headers['RateLimit-Remaining'])).toEqual(['2', '1', '0']);
      const limited = await get(c, ME);
      expect(limited.status).toBe(429);
      expect(body(limited)).toEqual({ message: 'Rate limit exceeded.' });
      // the clock stood still: the window resets a full minute from now
      expect(limited.headers).toEqual({
        'Content-Type': 'application/json; charset=utf-8',
        Date: 'Sun, 01 Nov 2026 00:00:00 GMT', // the world's clock
        'Retry-After': '60',
        'RateLimit-Limit': '3',
        'RateLimit-Remaining': '0',
        'RateLimit-Reset': '60',
        'X-RateLimit-Limit': '3',
        'X-RateLimit-Remaining': '0',
        'X-RateLimit-Reset': String(Math.ceil(FAKE_NOW / 1000) + 60),
      });
      // 20 s later the same window has 40 s left
      jest.advanceTimersByTime(20_000);
      expect((await get(c, ME)).headers['Retry-After']).toBe('40');
      expect(c.stats.rateLimited).toBe(2);
      expect(c.stats.byStatus['429']).toBe(2);
    });
  });

  it('rate limit: the window frees up exactly when it has passed', async () => {
    await withFakeClock(async () => {
      const c = core({ rateLimit: { requestsPerMinute: 2, windowMs: 60 } });
      expect(await statuses(c, ME, 3)).toEqual([200, 200, 429]);
      jest.advanceTimersByTime(59);
      expect(await statuses(c, ME, 1)).toEqual([429]);
      jest.advanceTimersByTime(1);
      expect(await statuses(c, ME, 3)).toEqual([200, 200, 429]);
    });
  });

  it('rate limit: bare mode sends 429 with no Retry-After and no rate-limit headers', async () => {
    const c = core({ rateLimit: { requestsPerMinute: 1, headers: false } });
    const ok = await get(c, ME);
    expect(ok.headers).toEqual({ 'Content-Type': 'application/json; charset=utf-8', Date: new Date(c.world.nowMs).toUTCString() });
    const limited = await get(c, ME);
    expect(limited.status).toBe(429);
    expect(limited.headers).toEqual({ 'Content-Type': 'application/json; charset=utf-8', Date: new Date(c.world.nowMs).toUTCString() });
    expect(body(limited)).toEqual({ message: 'Rate limit exceeded.' });
  });

  it('rate limit: max concurrency answers 429 to requests beyond it; stats track peak concurrency', async () => {
    await withFakeClock(async () => {
      const c = core({ latency: { fixedMs: 40 }, rateLimit: { maxConcurrent: 2 } });
      const pending = Promise.all(Array.from({ length: 5 }, () => get(c, ME)));
      // the two admitted requests wait out their latency; the other three were refused at once
      expect(c.stats.inFlight).toBe(2);
      expect(c.stats.rateLimited).toBe(3);
      await jest.advanceTimersByTimeAsync(40);
      const res = await pending;
      expect(res.map((r) => r.status).sort()).toEqual([200, 200, 429, 429, 429]);
      for (const r of res.filter((x) => x.status === 429)) expect(r.headers['Retry-After']).toBe('1');
      expect(c.stats.peakInFlight).toBe(3); // two admitted + each rejected one, momentarily
      expect(c.stats.inFlight).toBe(0);
      expect(c.stats.rateLimited).toBe(3);
      // after they finish, capacity is back
      const again = get(c, ME);
      await jest.advanceTimersByTimeAsync(40);
      expect((await again).status).toBe(200);
    });
  });

  it('5xx: the first N requests of a route (transient), other routes untouched', async () => {
    const c = core({ serverErrors: { route: 'pipelines', times: 2, status: 503 } });
    expect(await statuses(c, ME, 1)).toEqual([200]);
    const r = await get(c, PIPELINES);
    expect(r.status).toBe(503);
    expect(body(r)).toEqual({ message: 'Internal server error.' });
    expect(await statuses(c, PIPELINES, 3)).toEqual([503, 200, 200]);
    expect(c.stats.byStatus['503']).toBe(2);
  });

  it('5xx: seeded rate, reproducible; `after` lets requests through first', async () => {
    const run = async (seed: number): Promise<number[]> => statuses(core({ seed, serverErrors: { rate: 0.3 } }), ME, 200);
    const a = await run(1);
    const fails = a.filter((s) => s === 500).length;
    expect(fails).toBeGreaterThan(35);
    expect(fails).toBeLessThan(85);
    expect(await run(1)).toEqual(a);
    expect(await run(2)).not.toEqual(a);
    expect(await statuses(core({ serverErrors: { after: 2, times: 1, status: 502 } }), ME, 4)).toEqual([200, 200, 502, 200]);
  });

  it('5xx: bursts fail several requests in a row', async () => {
    const s = await statuses(core({ seed: 4, serverErrors: { rate: 0.05, burst: 4 } }), ME, 300);
    const runs: number[] = [];
    let run = 0;
    for (const x of s) {
      if (x === 500) run++;
      else if (run > 0) {
        runs.push(run);
        run = 0;
      }
    }
    expect(runs.length).toBeGreaterThan(2);
    for (const r of runs) expect(r).toBeGreaterThanOrEqual(4);
  });

  it('HTML error pages: a 502 text/html body', async () => {
    const c = core({ htmlErrors: { route: 'me', times: 1 } });
    const r = await get(c, ME);
    expect(r.status).toBe(502);
    expect(r.headers['Content-Type']).toBe('text/html; charset=utf-8');
    expect(r.body).toMatch(/^<html>/);
    expect(r.body).toContain('502 Bad Gateway');
    expect(() => JSON.parse(r.body) as unknown).toThrow();
    expect((await get(c, ME)).status).toBe(200);
  });

  it('connection resets are reported to the adapter', async () => {
    const c = core({ resets: { route: 'pipelines', times: 1 } });
    const out = await c.handle({ method: 'GET', path: PIPELINES, headers: { 'circle-token': world.token } });
    expect(out.kind).toBe('reset');
    expect(c.stats.byStatus.reset).toBe(1);
    expect((await get(c, PIPELINES)).status).toBe(200);
  });

  it('hangs are reported to the adapter', async () => {
    const c = core({ hangs: { route: 'me', times: 1 } });
    const out = await c.handle({ method: 'GET', path: ME, headers: { 'circle-token': world.token } });
    expect(out.kind).toBe('hang');
    expect(c.stats.byStatus.hang).toBe(1);
    expect(c.stats.inFlight).toBe(0);
  });

  it('truncated JSON: a 200 whose body is a prefix of the real one', async () => {
    const full = (await get(core({}), PIPELINES)).body;
    const c = core({ truncated: { route: 'pipelines', times: 1 } });
    const r = await get(c, PIPELINES);
    expect(r.status).toBe(200);
    expect(r.body.length).toBeLessThan(full.length);
    expect(full.startsWith(r.body)).toBe(true);
    expect(() => JSON.parse(r.body) as unknown).toThrow();
    expect((await get(c, PIPELINES)).body).toBe(full);
  });

  it('404 for chosen pipeline and workflow ids', async () => {
    const [p1, p2] = world.truth('pipelines').filter((p) => (p.errors as unknown[]).length === 0) as [JsonObject, JsonObject];
    const wf = world.truth('workflows').find((w) => world.listingPipelineId(w) === p2.id) as JsonObject;
    const c = core({ notFoundIds: [p1.id as string, wf.id as string] });
    const gone = await get(c, `/api/v2/pipeline/${p1.id as string}/workflow`);
    expect(gone.status).toBe(404);
    expect(body(gone)).toEqual({ message: 'Pipeline not found' });
    expect((await get(c, `/api/v2/pipeline/${p2.id as string}/workflow`)).status).toBe(200);
    expect((await get(c, `/api/v2/workflow/${wf.id as string}`)).status).toBe(404);
    const jobs = await get(c, `/api/v2/workflow/${wf.id as string}/job`);
    expect(jobs.status).toBe(404);
    expect(body(jobs)).toEqual({ message: 'Workflow not found' });
  });

  it('403 on groups for chosen organizations (non-admin)', async () => {
    const [a, b] = world.collaborations() as unknown as [JsonObject, JsonObject];
    const c = core({ forbiddenGroupOrgs: [a.id as string] });
    const denied = await get(c, `/api/v2/organizations/${a.id as string}/groups`);
    expect(denied.status).toBe(403);
    expect(body(denied)).toEqual({ message: 'Permission denied.' });
    expect((await get(c, `/api/v2/organizations/${b.id as string}/groups`)).status).toBe(200);
    expect((await get(c, `/api/v2/context?owner-id=${a.id as string}`)).status).toBe(200);
  });

  it('403 on env vars, checkout keys and webhooks of chosen projects (not a project admin)', async () => {
    const [a, b] = world.projects as unknown as [{ slug: string; id: string }, { slug: string; id: string }];
    const c = core({ forbiddenProjects: [a.slug] });
    for (const path of [`/api/v2/project/${a.slug}/envvar`, `/api/v2/project/${a.slug}/checkout-key`, `/api/v2/webhook?scope-id=${a.id}&scope-type=project`]) {
      const denied = await get(c, path);
      expect(denied.status).toBe(403);
      expect(body(denied)).toEqual({ message: 'Permission denied.' });
    }
    expect((await get(c, `/api/v2/project/${b.slug}/envvar`)).status).toBe(200);
    expect((await get(c, `/api/v2/webhook?scope-id=${b.id}&scope-type=project`)).status).toBe(200);
    expect((await get(c, `/api/v2/project/${a.slug}/schedule`)).status).toBe(200);
  });

  it('token revoked after N requests: 401 from then on', async () => {
    const c = core({ revokeTokenAfter: 3 });
    expect(await statuses(c, ME, 3)).toEqual([200, 200, 200]);
    const r = await get(c, PIPELINES);
    expect(r.status).toBe(401);
    expect(body(r)).toEqual({ message: 'Invalid token provided.' });
    expect(await statuses(c, ME, 2)).toEqual([401, 401]);
  });

  it('a page token that repeats forever on a chosen route', async () => {
    const c = core({ repeatPageToken: 'pipelines' });
    const { pages } = await walkList(c, PIPELINES, 8);
    expect(pages).toHaveLength(8);
    const tokens = pages.map((p) => body<{ next_page_token: string }>(p).next_page_token);
    expect(new Set(tokens.slice(1)).size).toBe(1);
    expect(tokens[1]).toBe(tokens[0]);
    const second = body<{ next_page_token: string }>(await get(c, withParam(PIPELINES, 'page-token', tokens[0] as string)));
    expect(second.next_page_token).toBe(tokens[0]);
    // other routes still end
    const other = world.projectSlugs()[1] as string;
    expect((await walkList(c, `/api/v2/project/${other}/schedule`, 50)).pages.length).toBeLessThan(50);
    expect((await walkList(createCore({ world }), PIPELINES, 50)).pages.length).toBeLessThan(50);
  });

  it('faults can be switched at run time; set() resets their counters', async () => {
    const faults = new FaultController({});
    const c = createCore({ world, faults });
    expect(await statuses(c, ME, 1)).toEqual([200]);
    faults.set({ serverErrors: { times: 1 } });
    expect(await statuses(c, ME, 2)).toEqual([500, 200]);
    faults.set({ serverErrors: { times: 1 } });
    expect(await statuses(c, ME, 2)).toEqual([500, 200]);
    faults.set({});
    expect(await statuses(c, ME, 1)).toEqual([200]);
  });
});

describe('auth', () => {
  const c = createCore({ world });
  it('accepts Circle-Token, Bearer and Basic; rejects missing, invalid, query-parameter and project tokens', async () => {
    expect((await get(c, ME)).status).toBe(200);
    expect((await get(c, ME, null, { Authorization: `Bearer ${world.token}` })).status).toBe(200);
    const basic = Buffer.from(`${world.token}:`).toString('base64');
    expect((await get(c, ME, null, { authorization: `Basic ${basic}` })).status).toBe(200);
    const missing = await get(c, ME, null);
    expect([missing.status, body(missing)]).toEqual([401, { message: 'You must log in first.' }]);
    const invalid = await get(c, ME, 'nope');
    expect([invalid.status, body(invalid)]).toEqual([401, { message: 'Invalid token provided.' }]);
    const query = await get(c, `${ME}?circle-token=${world.token}`, null);
    expect(query.status).toBe(401);
    expect(body(query).message).toMatch(/query parameter authentication has been deprecated/);
    const proj = await get(c, PIPELINES, world.projectToken);
    expect([proj.status, body(proj)]).toEqual([404, { message: 'Project not found' }]);
  });
});

describe('stats', () => {
  it('counts requests per route name, statuses, total; reset() zeroes them', async () => {
    const c = createCore({ world, faults: { serverErrors: { route: 'workflow', times: 1 } } });
    const wf = world.truth('workflows')[0] as JsonObject;
    await get(c, ME);
    await get(c, ME);
    await get(c, PIPELINES);
    await get(c, `/api/v2/workflow/${wf.id as string}`);
    await get(c, `/api/v2/workflow/${wf.id as string}`);
    await get(c, '/api/v2/nothing-here');
    await get(c, ME, null);
    expect(c.stats.snapshot()).toEqual({
      total: 7,
      byRoute: { me: 3, pipelines: 1, workflow: 2, unmatched: 1 },
      byStatus: { '200': 4, '500': 1, '404': 1, '401': 1 },
      inFlight: 0,
      peakInFlight: 1,
      rateLimited: 0,
    });
    expect(c.stats.count('me')).toBe(3);
    c.stats.reset();
    expect(c.stats.snapshot()).toEqual({ total: 0, byRoute: {}, byStatus: {}, inFlight: 0, peakInFlight: 0, rateLimited: 0 });
  });
});
