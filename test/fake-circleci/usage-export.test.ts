// The usage export of the fake: POST creates a job, GET polls it through its states, a
// completed job's pre-signed-style URLs serve gzip CSV files whose rows are the world's
// job runs of the window. Time is the world's (advanceTime), never the wall clock.

import { describe, it, expect, beforeAll, afterAll, jest } from '@jest/globals';
import { setupServer } from 'msw/node';
import { gunzipSync } from 'node:zlib';
import { parseCli } from '../../tools/fake-circleci/cli.js';
import { createCore, type FakeCircleCiCore } from '../../tools/fake-circleci/dispatch.js';
import { fakeCircleCiHandlers } from '../../tools/fake-circleci/msw.js';
import { startFakeCircleCi, type RunningFake } from '../../tools/fake-circleci/server.js';
import {
  configureUsageExport,
  toCsv,
  USAGE_COLUMNS,
  usageExportJobs,
  usageRowsTruth,
  usageUrlSecrets,
  type UsageRow,
} from '../../tools/fake-circleci/usage-export.js';
import { createWorld, type JsonObject, type World } from '../../tools/fake-circleci/world.js';
import { body, type Response } from './helpers.js';
import { expectConforms, send } from './spec-check.js';

const DAY = 86_400_000;
const UNKNOWN = '6f1a3c2e-0d4b-4e8f-9a7c-5b2d1e0f3a4c';

function daysBefore(world: World, days: number): string {
  return new Date(world.nowMs - days * DAY).toISOString();
}

/**
 * Parse one usage file as a reader following the format would (written here apart from
 * the fake): `\` escapes the next character, a field that is exactly `\N` is null.
 */
function parseCsv(text: string): { header: string[]; rows: Record<string, string | null>[] } {
  const records: (string | null)[][] = [];
  let fields: (string | null)[] = [];
  let cur = '';
  let raw = '';
  const endField = (): void => {
    fields.push(raw === '\\N' ? null : cur);
    cur = '';
    raw = '';
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '\\' && i + 1 < text.length) {
      cur += text[i + 1];
      raw += c + text[i + 1];
      i++;
    } else if (c === ',') endField();
    else if (c === '\n') {
      endField();
      records.push(fields);
      fields = [];
    } else {
      cur += c;
      raw += c;
    }
  }
  if (raw !== '' || fields.length > 0) {
    endField();
    records.push(fields);
  }
  const [header, ...rest] = records as string[][];
  return {
    header: header as string[],
    rows: rest.map((r) => Object.fromEntries((header as string[]).map((h, i) => [h, r[i] ?? null]))),
  };
}

async function create(core: FakeCircleCiCore, orgId: string, payload: unknown, baseUrl?: string): Promise<Response> {
  return send(core, 'POST', `/api/v2/organizations/${orgId}/usage_export_job`, { body: payload, baseUrl });
}

async function poll(core: FakeCircleCiCore, orgId: string, id: string, baseUrl?: string): Promise<Response> {
  return send(core, 'GET', `/api/v2/organizations/${orgId}/usage_export_job/${id}`, { baseUrl });
}

/** Poll until the job leaves created/processing (at most `max` polls). */
async function pollUntilDone(core: FakeCircleCiCore, orgId: string, id: string, max = 20): Promise<{ states: string[]; last: JsonObject }> {
  const states: string[] = [];
  let last: JsonObject = {};
  for (let i = 0; i < max; i++) {
    const res = await poll(core, orgId, id);
    expect(res.status).toBe(200);
    expectConforms(res);
    last = body(res);
    states.push(last.state as string);
    if (last.state !== 'created' && last.state !== 'processing') break;
  }
  return { states, last };
}

/** Download a URL through the core (no token), as a client of the file host would. */
async function download(core: FakeCircleCiCore, url: string, headers: Record<string, string> = {}): Promise<Response> {
  const u = new URL(url);
  return send(core, 'GET', `${u.pathname}${u.search}`, { token: null, headers });
}

function rowsOf(res: Response): { header: string[]; rows: Record<string, string | null>[] } {
  expect(res.status).toBe(200);
  expect(res.headers['Content-Type']).toBe('application/octet-stream');
  return parseCsv(gunzipSync(Buffer.from(res.body, 'latin1')).toString('utf8'));
}

describe('usage export: job lifecycle', () => {
  let world: World;
  let core: FakeCircleCiCore;
  let org: string;
  beforeAll(() => {
    world = createWorld({ preset: 'small', seed: 5 });
    core = createCore({ world });
    org = world.collaborations()[0]?.id as string;
  });

  it('POST answers 201 created; polls go created → processing → completed with download URLs; all conform', async () => {
    const start = daysBefore(world, 30);
    const end = daysBefore(world, 0);
    const res = await create(core, org, { start, end }, 'https://files.example.test');
    expect(res.status).toBe(201);
    expectConforms(res);
    const job = body(res);
    expect(job).toEqual({ usage_export_job_id: expect.any(String), state: 'created', start, end, download_urls: [] });
    const { states, last } = await pollUntilDone(core, org, job.usage_export_job_id as string);
    expect(states).toEqual(['created', 'processing', 'completed']);
    const urls = last.download_urls as string[];
    expect(urls).toHaveLength(world.truth('project').filter((p) => p.organization_id === org).length);
    for (const [i, url] of urls.entries()) {
      expect(url).toMatch(new RegExp(`^http://fake-circleci\\.invalid/usage-files/${job.usage_export_job_id as string}/${i}\\.csv\\.gz\\?X-Amz-Algorithm=AWS4-HMAC-SHA256&`));
    }
    // a completed job stays completed
    expect(body(await poll(core, org, job.usage_export_job_id as string)).state).toBe('completed');
  });

  it('completes on world time when configured (completeAfterMs), whatever the poll count', async () => {
    const w = createWorld({ preset: 'tiny', seed: 2 });
    const c = createCore({ world: w });
    const o = w.collaborations()[0]?.id as string;
    configureUsageExport(w, { processingPolls: 1000, completeAfterMs: 30 * 60_000 });
    const id = body(await create(c, o, { start: daysBefore(w, 3), end: daysBefore(w, 1) })).usage_export_job_id as string;
    expect(body(await poll(c, o, id)).state).toBe('created');
    for (let i = 0; i < 5; i++) expect(body(await poll(c, o, id)).state).toBe('processing');
    w.advanceTime(30 * 60_000);
    expect(body(await poll(c, o, id)).state).toBe('completed');
  });

  it('stuck jobs stay processing for ever; failing jobs end failed with an error_reason and no URLs', async () => {
    const w = createWorld({ preset: 'tiny', seed: 2 });
    const c = createCore({ world: w });
    const o = w.collaborations()[0]?.id as string;
    const window = { start: daysBefore(w, 3), end: daysBefore(w, 1) };
    configureUsageExport(w, { outcome: 'stuck' });
    const stuck = body(await create(c, o, window)).usage_export_job_id as string;
    configureUsageExport(w, { outcome: 'fail' });
    const failing = body(await create(c, o, window)).usage_export_job_id as string;
    const s = await pollUntilDone(c, o, stuck, 50);
    expect(s.states.slice(1).every((x) => x === 'processing')).toBe(true);
    expect(s.states).toHaveLength(50);
    w.advanceTime(10 * DAY);
    expect(body(await poll(c, o, stuck)).state).toBe('processing');
    const f = await pollUntilDone(c, o, failing);
    expect(f.states).toEqual(['created', 'processing', 'failed']);
    expect(f.last).toEqual({ usage_export_job_id: failing, state: 'failed', download_urls: [], error_reason: expect.any(String) });
    expect(usageExportJobs(w).map((j) => [j.id, j.outcome])).toEqual([
      [stuck, 'stuck'],
      [failing, 'fail'],
    ]);
  });

  it('the CLI maps --usage-export and --usage-export-polls to the export options', async () => {
    // By hand (the README's walk-through) jobs are ready at the first poll: the connector waits for real between polls.
    expect(parseCli([]).usageExport).toEqual({ createdPolls: 0, processingPolls: 0 });
    const parsed = parseCli(['--usage-export', 'fail', '--usage-export-polls', '3']).usageExport;
    expect(parsed).toEqual({ outcome: 'fail', processingPolls: 3 });
    expect(() => parseCli(['--usage-export', 'never'])).toThrow(/--usage-export/);
    const w = createWorld({ preset: 'tiny', seed: 2 });
    configureUsageExport(w, parsed);
    const c = createCore({ world: w });
    const o = w.collaborations()[0]?.id as string;
    const id = body(await create(c, o, { start: daysBefore(w, 3), end: daysBefore(w, 1) })).usage_export_job_id as string;
    expect((await pollUntilDone(c, o, id)).states).toEqual(['created', 'processing', 'processing', 'processing', 'failed']);
  });

  it('400 for a bad body or window; the window rules: at most 32 days, within 13 months, end not before start', async () => {
    const w = createWorld({ preset: 'tiny', seed: 4 });
    const c = createCore({ world: w });
    configureUsageExport(w, { postsPerHour: 1000 });
    const o = w.collaborations()[0]?.id as string;
    const now = w.nowMs;
    const at = (ms: number): string => new Date(ms).toISOString();
    const thirteenMonthsAgo = new Date(now);
    thirteenMonthsAgo.setUTCMonth(thirteenMonthsAgo.getUTCMonth() - 13);
    const bad: unknown[] = [
      'not json',
      [],
      {},
      { start: at(now - DAY) },
      { end: at(now) },
      { start: 'yesterday', end: at(now) },
      { start: at(now - DAY), end: at(now), extra: 1 },
      { start: at(now - DAY), end: at(now), shared_org_ids: ['nope'] },
      { start: at(now), end: at(now - DAY) },
      { start: at(now - 32 * DAY - 1000), end: at(now) },
      { start: at(thirteenMonthsAgo.getTime() - 1000), end: at(thirteenMonthsAgo.getTime() + DAY) },
    ];
    for (const payload of bad) {
      const res = await create(c, o, payload);
      expect([payload, res.status]).toEqual([payload, 400]);
      expectConforms(res);
    }
    // the boundaries themselves are accepted
    for (const payload of [
      { start: at(now - 32 * DAY), end: at(now) },
      { start: at(thirteenMonthsAgo.getTime()), end: at(thirteenMonthsAgo.getTime() + DAY) },
      { start: at(now - DAY), end: at(now - DAY) },
      { start: at(now - DAY), end: at(now), shared_org_ids: [w.collaborations()[1]?.id as string] },
    ]) {
      const res = await create(c, o, payload);
      expect([payload, res.status]).toEqual([payload, 201]);
    }
  });

  it('429 beyond 10 POSTs per hour per organization (world time), with Retry-After; other organizations unaffected', async () => {
    const w = createWorld({ preset: 'tiny', seed: 6 });
    const c = createCore({ world: w });
    const [a, b] = w.collaborations().map((x) => x.id) as [string, string];
    const window = { start: daysBefore(w, 3), end: daysBefore(w, 1) };
    for (let i = 0; i < 10; i++) {
      // a rejected request counts too
      const res = await create(c, a, i === 3 ? { start: window.end, end: window.start } : window);
      expect(res.status).toBe(i === 3 ? 400 : 201);
      w.advanceTime(60_000);
    }
    const limited = await create(c, a, window);
    expect(limited.status).toBe(429);
    expect(body(limited)).toEqual({ message: 'Rate limit exceeded.' });
    expect(limited.headers['Retry-After']).toBe(String(60 * 60 - 10 * 60));
    expectConforms(limited);
    expect((await create(c, b, window)).status).toBe(201);
    // the first POST leaves the hour: one more is allowed, then the limit holds again
    w.advanceTime(50 * 60_000);
    expect((await create(c, a, window)).status).toBe(201);
    expect((await create(c, a, window)).status).toBe(429);
  });

  it('404 for unknown organizations and jobs (and another organization\'s job); 400 for a malformed id; 401 without a token', async () => {
    const [a, b] = world.collaborations().map((x) => x.id) as [string, string];
    const job = body(await create(core, a, { start: daysBefore(world, 2), end: daysBefore(world, 1) })).usage_export_job_id as string;
    const cases: [Response, number][] = [
      [await create(core, UNKNOWN, { start: daysBefore(world, 2), end: daysBefore(world, 1) }), 404],
      [await poll(core, UNKNOWN, job), 404],
      [await poll(core, a, UNKNOWN), 404],
      [await poll(core, b, job), 404],
      [await poll(core, a, 'not-a-uuid'), 400],
      [await send(core, 'POST', `/api/v2/organizations/${a}/usage_export_job`, { token: null, body: {} }), 401],
      [await send(core, 'GET', `/api/v2/organizations/${a}/usage_export_job/${job}`, { token: 'CCIPAT_wrong' }), 401],
    ];
    for (const [res, status] of cases) {
      expect(res.status).toBe(status);
      expectConforms(res);
    }
    // a GET on the POST-only path is no route
    expect((await send(core, 'GET', `/api/v2/organizations/${a}/usage_export_job`)).status).toBe(404);
  });
});

describe('usage export: files', () => {
  let world: World;
  let core: FakeCircleCiCore;
  let org: string;
  let start: string;
  let end: string;
  let created: number;
  let urls: string[];
  beforeAll(async () => {
    world = createWorld({ preset: 'small', seed: 9 });
    core = createCore({ world });
    org = world.collaborations()[0]?.id as string;
    start = daysBefore(world, 32);
    end = daysBefore(world, 0);
    created = world.nowMs;
    const id = body(await create(core, org, { start, end })).usage_export_job_id as string;
    urls = (await pollUntilDone(core, org, id)).last.download_urls as string[];
  });

  it('gzip CSV files, a header each, whose rows (all files) equal usageRowsTruth', async () => {
    const all: Record<string, string | null>[] = [];
    for (const url of urls) {
      const { header, rows } = rowsOf(await download(core, url));
      expect(header).toEqual([...USAGE_COLUMNS]);
      all.push(...rows);
    }
    const truth: UsageRow[] = usageRowsTruth(world, org, start, end, { asOf: new Date(created).toISOString() });
    expect(truth.length).toBeGreaterThan(20);
    expect(all).toEqual(truth);
    for (const r of all) {
      expect(Number(r.TOTAL_CREDITS)).toBeCloseTo(
        ['COMPUTE_CREDITS', 'DLC_CREDITS', 'USER_CREDITS', 'STORAGE_CREDITS', 'NETWORK_CREDITS', 'LEASE_CREDITS', 'LEASE_OVERAGE_CREDITS', 'IPRANGES_CREDITS']
          .map((k) => Number(r[k]))
          .reduce((x, y) => x + y, 0),
        2,
      );
    }
  });

  it('the CSV format: `\\N` is null, `\\` escapes commas, backslashes and line breaks', () => {
    const row = Object.fromEntries(USAGE_COLUMNS.map((c, i) => [c, `v${i}`])) as UsageRow;
    row.VCS_BRANCH = null;
    row.WORKFLOW_NAME = 'a,b\\c\nd';
    row.JOB_NAME = '\\N';
    const text = toCsv([row]);
    expect(text.split('\n')[1]).toContain(',\\N,');
    expect(parseCsv(text).rows).toEqual([row]);
  });

  it('one row per finished job run of the organization started in the window and stopped before the day of creation', () => {
    const cutoff = Math.floor(created / DAY) * DAY;
    const slugs = world.truth('project').filter((p) => p.organization_id === org).map((p) => p.slug as string);
    const expected = [...world.jobDetailsTruth({ projectSlugs: slugs })].filter((d) => {
      const s = Date.parse(d.started_at as string);
      return d.stopped_at !== null && s >= Date.parse(start) && s <= Date.parse(end) && Date.parse(d.stopped_at as string) < cutoff;
    });
    const rows = usageRowsTruth(world, org, start, end, { asOf: new Date(created).toISOString() });
    expect(rows.map((r) => r.JOB_ID).sort()).toEqual(expected.map((d) => d._job_id as string).sort());
    const byId = new Map(expected.map((d) => [d._job_id as string, d]));
    for (const r of rows) {
      const d = byId.get(r.JOB_ID as string) as JsonObject;
      expect(r).toMatchObject({
        ORGANIZATION_ID: org,
        PROJECT_ID: world.projectBySlug((d.project as JsonObject).slug as string)!.id, // details may lack project.id (live API)
        PIPELINE_ID: (d.pipeline as JsonObject).id,
        WORKFLOW_ID: (d.latest_workflow as JsonObject).id,
        JOB_NAME: d.name,
        JOB_RUN_NUMBER: String(d.number),
        JOB_BUILD_STATUS: d.status,
        RESOURCE_CLASS: (d.executor as JsonObject).resource_class,
        PARALLELISM: String(d.parallelism),
        JOB_RUN_DATE: (d.started_at as string).slice(0, 10),
        JOB_RUN_STARTED_AT: (d.started_at as string).replace('T', ' ').replace('Z', ''),
      });
    }
  });

  it('the file host: no token allowed, signatures checked, URLs expire in world time, a fresh poll re-signs', async () => {
    const url = urls[0] as string;
    const withToken = await download(core, url, { 'circle-token': world.token });
    expect(withToken.status).toBe(400);
    expect(withToken.headers['Content-Type']).toBe('application/xml');
    expect(withToken.body).toContain('<Code>InvalidArgument</Code>');
    expect((await download(core, url, { authorization: `Bearer ${world.token}` })).status).toBe(400);
    const tampered = url.replace(/X-Amz-Signature=[0-9a-f]/, (m) => (m.endsWith('0') ? `${m.slice(0, -1)}1` : `${m.slice(0, -1)}0`));
    expect((await download(core, tampered)).body).toContain('SignatureDoesNotMatch');
    const otherFile = url.replace('/0.csv.gz', '/1.csv.gz');
    expect((await download(core, otherFile)).status).toBe(403);
    expect((await download(core, url.split('?')[0] as string)).status).toBe(403);
    world.advanceTime(3601 * 1000);
    const expired = await download(core, url);
    expect(expired.status).toBe(403);
    expect(expired.body).toContain('Request has expired');
    const job = usageExportJobs(world)[0]?.id as string;
    const fresh = body(await poll(core, org, job)).download_urls as string[];
    expect(fresh[0]).not.toBe(url);
    expect((await download(core, fresh[0] as string)).status).toBe(200);
  });

  it('every signature handed out is listed by usageUrlSecrets; faults reach the file host too', async () => {
    const listed = new Set(usageUrlSecrets(world));
    for (const url of urls) expect(listed.has(new URL(url).searchParams.get('X-Amz-Signature') as string)).toBe(true);
    const w = createWorld({ preset: 'small', seed: 9 });
    const c = createCore({ world: w, faults: { truncated: { rate: 1, route: ['usage_export_file'] } } });
    const o = w.collaborations()[0]?.id as string;
    const id = body(await create(c, o, { start: daysBefore(w, 32), end: daysBefore(w, 0) })).usage_export_job_id as string;
    const [first] = (await pollUntilDone(c, o, id)).last.download_urls as string[];
    const cut = await download(c, first as string);
    expect(cut.status).toBe(200);
    expect(() => gunzipSync(Buffer.from(cut.body, 'latin1'))).toThrow();
  });

  it('same seed, same requests: the same job ids and byte-identical files', async () => {
    const again = async (): Promise<string[]> => {
      const w = createWorld({ preset: 'small', seed: 9 });
      const c = createCore({ world: w });
      const o = w.collaborations()[0]?.id as string;
      const id = body(await create(c, o, { start: daysBefore(w, 32), end: daysBefore(w, 0) })).usage_export_job_id as string;
      const list = (await pollUntilDone(c, o, id)).last.download_urls as string[];
      const out = [id, ...list];
      for (const u of list) out.push((await download(c, u)).body);
      return out;
    };
    const a = await again();
    expect(await again()).toEqual(a);
    expect(a.length).toBeGreaterThan(2);
  });
});

describe('usage export through the adapters: URLs point where the client reached the fake', () => {
  const world = createWorld({ preset: 'small', seed: 12 });
  const org = world.collaborations()[0]?.id as string;
  const MSW_BASE = 'https://circleci.usage.test';
  const msw = fakeCircleCiHandlers({ world, baseUrl: MSW_BASE });
  const mswServer = setupServer(...msw.handlers);
  let fake: RunningFake;
  beforeAll(async () => {
    fake = await startFakeCircleCi({ world });
    mswServer.listen({ onUnhandledFrame: 'bypass' });
  });
  afterAll(async () => {
    mswServer.close();
    await fake.close();
  });

  it.each([
    ['node:http server', () => fake.url],
    ['msw', () => MSW_BASE],
  ])('%s: POST, poll, download with plain fetch; rows equal the truth', async (_name, base) => {
    const headers = { 'Circle-Token': world.token, 'Content-Type': 'application/json' };
    const window = { start: daysBefore(world, 10), end: daysBefore(world, 1) };
    const created = await fetch(`${base()}/api/v2/organizations/${org}/usage_export_job`, { method: 'POST', headers, body: JSON.stringify(window) });
    expect(created.status).toBe(201);
    const id = ((await created.json()) as JsonObject).usage_export_job_id as string;
    let job: JsonObject = {};
    for (let i = 0; i < 5 && job.state !== 'completed'; i++) {
      job = (await (await fetch(`${base()}/api/v2/organizations/${org}/usage_export_job/${id}`, { headers })).json()) as JsonObject;
    }
    const urls = job.download_urls as string[];
    expect(urls.length).toBeGreaterThan(0);
    const rows: Record<string, string | null>[] = [];
    for (const url of urls) {
      expect(url.startsWith(`${base()}/usage-files/`)).toBe(true);
      const res = await fetch(url);
      expect(res.status).toBe(200);
      rows.push(...parseCsv(gunzipSync(Buffer.from(await res.arrayBuffer())).toString('utf8')).rows);
    }
    expect(rows).toEqual(usageRowsTruth(world, org, window.start, window.end));
  });
});

describe('usage export on the benchmark preset', () => {
  it('stays lazy: POST and polls derive nothing; a file derives only its window\'s pipelines', async () => {
    const world = createWorld({ preset: 'benchmark', seed: 1 });
    const metas = jest.spyOn(world, 'workflowMetas');
    const core = createCore({ world });
    const org = world.collaborations()[0]?.id as string;
    const id = body(await create(core, org, { start: daysBefore(world, 61), end: daysBefore(world, 60) })).usage_export_job_id as string;
    const urls = (await pollUntilDone(core, org, id)).last.download_urls as string[];
    expect(metas).not.toHaveBeenCalled();
    const rows = rowsOf(await download(core, urls[0] as string)).rows;
    expect(rows.length).toBeGreaterThan(0);
    const project = world.projects[0] as World['projects'][number];
    // a one-day window two months back: a small slice of the project's ~8,000 pipelines
    expect(metas.mock.calls.length).toBeLessThan(world.pipelineCount(project) / 20);
    expect(metas.mock.calls.every(([p]) => p === project)).toBe(true);
  });
});
