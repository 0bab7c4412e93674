/**
 * CircleCiClient against msw: headers, status handling, the retry policy end to end on a
 * fake clock (no real sleeping), pagination, and that the token never leaks into what
 * the client throws or logs.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { HttpResponse, delay, http } from 'msw';

import { ApiError } from '../../src/http/api-error.js';
import type { CircleCiClient } from '../../src/http/client.js';
import { TEST_API, TEST_TOKEN, useMockApi, testClient, type TestClient } from '../support/http.js';

const api = useMockApi();

const clients: CircleCiClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

function setup(overrides: Parameters<typeof testClient>[0] = {}): TestClient {
  const made = testClient(overrides);
  clients.push(made.client);
  return made;
}

/** A handler answering each request with the next response; the last one repeats. */
function sequence(path: string, ...responses: Array<() => Response | Promise<Response>>) {
  let index = 0;
  return http.get(`${TEST_API}${path}`, () => {
    const respond = responses[Math.min(index, responses.length - 1)]!;
    index += 1;
    return respond();
  });
}

const json = (body: unknown, init?: ResponseInit) => () => HttpResponse.json(body as Record<string, unknown>, init);
const status = (code: number, body = '', headers: Record<string, string> = {}) => () => new HttpResponse(body, { status: code, headers });
const tooMany = (retryAfter?: string) => status(429, '{"message":"Rate limit exceeded"}', retryAfter === undefined ? {} : { 'Retry-After': retryAfter });

/** The error a promise rejects with, which must be an ApiError. */
async function apiError(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    return error as ApiError;
  }
  throw new Error('expected an ApiError');
}

async function collect<T>(pages: AsyncIterable<T[]>): Promise<T[][]> {
  const out: T[][] = [];
  for await (const page of pages) out.push(page);
  return out;
}

const TOKEN_FORMS = [TEST_TOKEN, Buffer.from(TEST_TOKEN).toString('base64'), encodeURIComponent(TEST_TOKEN), TEST_TOKEN.slice(0, 20)];
function expectNoToken(...texts: Array<string | undefined>): void {
  for (const text of texts) for (const form of TOKEN_FORMS) expect(text ?? '').not.toContain(form);
}

describe('requests', () => {
  it('sends Circle-Token, User-Agent and Accept, and the query without undefined values', async () => {
    api.server.use(http.get(`${TEST_API}/api/v2/me`, () => HttpResponse.json({ login: 'alice' })));
    const { client } = setup();
    await expect(client.get('/api/v2/me', { a: 'x y', b: 2, c: undefined })).resolves.toEqual({ login: 'alice' });
    expect(api.requests).toHaveLength(1);
    const [request] = api.requests;
    expect(request!.headers.get('circle-token')).toBe(TEST_TOKEN);
    expect(request!.headers.get('user-agent')).toBe('source-circleci-test/1.0');
    expect(request!.headers.get('accept')).toBe('application/json');
    expect(request!.headers.get('authorization')).toBeNull();
    expect(Object.fromEntries(request!.url.searchParams)).toEqual({ a: 'x y', b: '2' });
    expect(client.stats).toEqual({ requests: 1, retries: 0, rateLimited: 0 });
  });

  it('keeps the path of a CircleCI Server base URL', async () => {
    api.server.use(http.get(`${TEST_API}/circleci/api/v2/me`, () => HttpResponse.json({ ok: true })));
    const { client } = setup({ apiUrl: `${TEST_API}/circleci` });
    await expect(client.get('/api/v2/me')).resolves.toEqual({ ok: true });
  });

  it('404 resolves undefined after one request', async () => {
    api.server.use(sequence('/api/v2/project/gh/a/b', status(404, '{"message":"Project not found"}')));
    const { client } = setup();
    await expect(client.get('/api/v2/project/gh/a/b')).resolves.toBeUndefined();
    expect(api.requests).toHaveLength(1);
  });

  it('respects max concurrency', async () => {
    // Answers are held until the test lets them go, so the check does not depend on how
    // fast the machine is: two requests reach the server, a third does not while they wait.
    let inFlight = 0;
    let peak = 0;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    api.server.use(
      http.get(`${TEST_API}/api/v2/item/:id`, async ({ params }) => {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        await released;
        inFlight -= 1;
        return HttpResponse.json({ id: params.id });
      }),
    );
    const { client } = setup({ maxConcurrency: 2 });
    const all = Promise.all(Array.from({ length: 8 }, (_, i) => client.get<{ id: string }>(`/api/v2/item/${i}`)));
    while (inFlight < 2) await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(inFlight).toBe(2);
    release();
    const results = await all;
    expect(results.map((r) => r!.id)).toEqual(['0', '1', '2', '3', '4', '5', '6', '7']);
    expect(peak).toBe(2);
  });

  it('does not follow redirects (the token must not travel to another host)', async () => {
    api.server.use(sequence('/api/v2/me', status(302, '', { Location: 'https://elsewhere.test/steal' })));
    const { client } = setup();
    const error = await apiError(client.get('/api/v2/me'));
    expect(error.status).toBe(302);
    expect(error.failureType).toBe('config_error');
    expect(api.requests.map((r) => r.url.host)).toEqual(['circleci.test']);
  });
});

describe('final statuses', () => {
  it.each([
    [401, /rejected the API token \(401 on GET \/api\/v2\/me\): the token is invalid or expired; a personal API token is required/],
    [403, /refused access \(403 on GET \/api\/v2\/me\): the token's user lacks permission/],
    [400, /rejected the request as invalid \(400 on GET \/api\/v2\/me\); check the project slugs and API URL/],
  ])('%i is a config_error at once, after exactly one request', async (code, message) => {
    api.server.use(sequence('/api/v2/me', status(code, JSON.stringify({ message: 'Nope.' }), { 'content-type': 'application/json' })));
    const { client, time } = setup();
    const error = await apiError(client.get('/api/v2/me'));
    expect(error.failureType).toBe('config_error');
    expect(error.status).toBe(code);
    expect(error.route).toBe('GET /api/v2/me');
    expect(error.message).toMatch(message);
    expect(error.message).toContain('CircleCI said: "Nope."');
    expectNoToken(error.message, error.stack);
    expect(api.requests).toHaveLength(1);
    expect(time.waits).toEqual([]);
  });

  it('another 4xx is a system_error naming status and route', async () => {
    api.server.use(sequence('/api/v2/thing', status(422, 'not json')));
    const { client } = setup();
    const error = await apiError(client.get('/api/v2/thing', { x: 1 }));
    expect(error.failureType).toBe('system_error');
    expect(error.message).toBe('CircleCI answered 422 on GET /api/v2/thing?x=1.');
    expect(api.requests).toHaveLength(1);
  });
});

describe('429', () => {
  it('honours Retry-After (seconds and HTTP date) and then succeeds', async () => {
    const { client, time, logs } = setup();
    const inFourSeconds = new Date(time.now() + 3_000 + 5_000 + 4_000).toUTCString();
    api.server.use(sequence('/api/v2/me', tooMany('3'), tooMany('5'), tooMany(inFourSeconds), json({ login: 'alice' })));
    await expect(client.get('/api/v2/me')).resolves.toEqual({ login: 'alice' });
    expect(api.requests).toHaveLength(4);
    expect(time.waits).toEqual([3_000, 5_000, 4_000]);
    expect(client.stats).toEqual({ requests: 4, retries: 3, rateLimited: 3 });
    expect(logs.filter((l) => l.message.startsWith('GET')).map((l) => l.message)).toEqual([
      'GET /api/v2/me: rate limited (429); retrying in 3.0 s',
      'GET /api/v2/me: rate limited (429); retrying in 5.0 s',
      'GET /api/v2/me: rate limited (429); retrying in 4.0 s',
    ]);
    expect(logs.filter((l) => l.message.startsWith('GET')).every((l) => l.level === 'WARN')).toBe(true);
    expect(client.rate.rateLimited).toBe(3);
    // Four requests measure no limit: the 429s' waits were all.
    expect(client.rate.limitPerMinute).toBe(Infinity);
    expect(client.rateSummary).toMatch(/, 3 × 429$/);
  });

  it('without Retry-After backs off exponentially', async () => {
    api.server.use(sequence('/api/v2/me', tooMany(), tooMany(), json({})));
    const { client, time } = setup();
    await client.get('/api/v2/me');
    expect(time.waits).toEqual([750, 1_500]);
  });

  it('a storm of 429s is outlived: retried until its own waits would pass max_retry_after_seconds', async () => {
    api.server.use(sequence('/api/v2/me', tooMany('100')));
    const { client, time } = setup();
    const error = await apiError(client.get('/api/v2/me'));
    // six waits of 100 s make the default 600 s; a seventh would pass it
    expect(api.requests).toHaveLength(7);
    expect(time.waits).toEqual(Array.from({ length: 6 }, () => 100_000));
    expect(error.failureType).toBe('transient_error');
    expect(error.status).toBe(429);
    expect(error.message).toBe(
      'CircleCI kept rate-limiting GET /api/v2/me (429) for 600 s (10 min) over 7 attempts, more than max_retry_after_seconds (600) allows. ' +
        'Run the sync later; setting requests_per_minute or lowering max_concurrency in the config reduces the load.',
    );
  });

  it('counts a configured max_retry_after_seconds', async () => {
    api.server.use(sequence('/api/v2/me', tooMany('30')));
    const { client, time } = setup({ maxRetryAfterMs: 60_000 });
    const error = await apiError(client.get('/api/v2/me'));
    // waits 30 s twice (60 s), a third 30 s would pass it
    expect(api.requests).toHaveLength(3);
    expect(time.waits).toEqual([30_000, 30_000]);
    expect(error.message).toContain('more than max_retry_after_seconds (60) allows');
  });

  it('waits out a long Retry-After, saying how long', async () => {
    api.server.use(sequence('/api/v2/me', tooMany('150'), json({ ok: true })));
    const { client, time, logs } = setup();
    await expect(client.get('/api/v2/me')).resolves.toEqual({ ok: true });
    expect(time.waits).toEqual([150_000]);
    expect(logs.map((l) => l.message)).toEqual([
      'GET /api/v2/me: CircleCI asked to wait 150 s (2.5 min) (Retry-After) before more requests; waiting it out (max_retry_after_seconds is 600).',
    ]);
  });

  it('a Retry-After beyond max_retry_after_seconds fails after one request, without waiting, saying what to do', async () => {
    api.server.use(sequence('/api/v2/me', tooMany('3600')));
    const { client, time } = setup();
    const error = await apiError(client.get('/api/v2/me'));
    expect(api.requests).toHaveLength(1);
    expect(time.waits).toEqual([]);
    // Counted in the run's summary though not retried (the usage export's quota 429s).
    expect(client.stats.rateLimited).toBe(1);
    expect(error.failureType).toBe('transient_error');
    expect(error.message).toBe(
      'CircleCI asked to wait 3600 s (60 min) (Retry-After) before retrying GET /api/v2/me, more than max_retry_after_seconds (600) allows. ' +
        'Run the sync later, or raise max_retry_after_seconds in the config to wait it out.',
    );
  });

  it('a spent quota (RateLimit-Remaining: 0) pauses the next request until the reset', async () => {
    api.server.use(
      sequence('/api/v2/me', json({ n: 1 }, { headers: { 'RateLimit-Remaining': '0', 'RateLimit-Reset': '5' } }), json({ n: 2 })),
    );
    const { client, time } = setup();
    await client.get('/api/v2/me');
    // The governor holds everyone until the reset.
    expect(time.waits).toEqual([5_000]);
    await expect(client.get('/api/v2/me')).resolves.toEqual({ n: 2 });
  });
});

describe('transient failures', () => {
  it('a 5xx is tried 5 times, then a transient_error', async () => {
    api.server.use(sequence('/api/v2/me', status(503, '{"message":"Service Unavailable"}')));
    const { client, time } = setup();
    const error = await apiError(client.get('/api/v2/me'));
    expect(api.requests).toHaveLength(5);
    expect(time.waits).toEqual([750, 1_500, 3_000, 6_000]);
    expect(error.failureType).toBe('transient_error');
    expect(error.status).toBe(503);
    expect(error.message).toBe('CircleCI answered 503 on GET /api/v2/me. CircleCI said: "Service Unavailable". Gave up after 5 attempts.');
    expect(client.stats.retries).toBe(4);
  });

  it('a 5xx then a 200 succeeds', async () => {
    api.server.use(sequence('/api/v2/me', status(500), json({ login: 'bob' })));
    const { client, time } = setup();
    await expect(client.get('/api/v2/me')).resolves.toEqual({ login: 'bob' });
    expect(api.requests).toHaveLength(2);
    expect(time.waits).toEqual([750]);
  });

  it('an HTML 502 page is retried, and never quoted in the final error', async () => {
    const page = '<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>';
    api.server.use(sequence('/api/v2/me', status(502, page, { 'content-type': 'text/html' })));
    const { client } = setup();
    const error = await apiError(client.get('/api/v2/me'));
    expect(api.requests).toHaveLength(5);
    expect(error.message).toBe('CircleCI answered 502 on GET /api/v2/me. Gave up after 5 attempts.');
  });

  it('an HTML 502 page then a 200 succeeds', async () => {
    api.server.use(sequence('/api/v2/me', status(502, '<html>Bad Gateway</html>', { 'content-type': 'text/html' }), json({ ok: 1 })));
    const { client } = setup();
    await expect(client.get('/api/v2/me')).resolves.toEqual({ ok: 1 });
  });

  it('a 200 with truncated JSON is retried, then succeeds', async () => {
    api.server.use(sequence('/api/v2/me', status(200, '{"items": [{"id": 1}, {"id"', { 'content-type': 'application/json' }), json({ items: [] })));
    const { client, logs } = setup();
    await expect(client.get('/api/v2/me')).resolves.toEqual({ items: [] });
    expect(api.requests).toHaveLength(2);
    expect(logs.map((l) => l.message)).toEqual(['GET /api/v2/me: an unreadable body; retrying in 0.8 s']);
  });

  it('a 200 that is never valid JSON ends in a transient_error', async () => {
    api.server.use(sequence('/api/v2/me', status(200, '<html>proxy login</html>', { 'content-type': 'text/html' })));
    const { client } = setup();
    const error = await apiError(client.get('/api/v2/me'));
    expect(api.requests).toHaveLength(5);
    expect(error.failureType).toBe('transient_error');
    expect(error.message).toContain('not valid JSON');
    expect(error.message).toContain('5 times in a row');
  });

  it('a network error is retried, then succeeds', async () => {
    api.server.use(sequence('/api/v2/me', () => HttpResponse.error(), () => HttpResponse.error(), json({ login: 'carol' })));
    const { client, time, logs } = setup();
    await expect(client.get('/api/v2/me')).resolves.toEqual({ login: 'carol' });
    expect(api.requests).toHaveLength(3);
    expect(time.waits).toEqual([750, 1_500]);
    expect(logs[0]!.message).toMatch(/^GET \/api\/v2\/me: network error \S+; retrying in 0\.8 s$/);
  });

  it('a lasting network error is a transient_error naming the host', async () => {
    api.server.use(sequence('/api/v2/me', () => HttpResponse.error()));
    const { client } = setup();
    const error = await apiError(client.get('/api/v2/me'));
    expect(api.requests).toHaveLength(5);
    expect(error.failureType).toBe('transient_error');
    expect(error.message).toMatch(/^Could not reach circleci\.test \(\S+\) for GET \/api\/v2\/me after 5 attempts; check api_url/);
  });

  it('429s and 5xx have separate allowances', async () => {
    api.server.use(sequence('/api/v2/me', status(500), tooMany('1'), status(500), tooMany('1'), status(500), status(500), json({ ok: true })));
    const { client } = setup();
    await expect(client.get('/api/v2/me')).resolves.toEqual({ ok: true });
    expect(api.requests).toHaveLength(7);
  });
});

describe('pagination', () => {
  it('follows next_page_token via page-token, keeping the query, and stops on null', async () => {
    api.server.use(
      http.get(`${TEST_API}/api/v2/context`, ({ request }) => {
        const token = new URL(request.url).searchParams.get('page-token');
        if (token === null) return HttpResponse.json({ items: [{ id: 1 }, { id: 2 }], next_page_token: 'p2' });
        if (token === 'p2') return HttpResponse.json({ items: [{ id: 3 }], next_page_token: 'p3' });
        return HttpResponse.json({ items: [{ id: 4 }], next_page_token: null });
      }),
    );
    const { client } = setup();
    const pages = await collect(client.pages<{ id: number }>('/api/v2/context', { 'owner-id': 'org-1' }));
    expect(pages).toEqual([[{ id: 1 }, { id: 2 }], [{ id: 3 }], [{ id: 4 }]]);
    expect(api.requests.map((r) => Object.fromEntries(r.url.searchParams))).toEqual([
      { 'owner-id': 'org-1' },
      { 'owner-id': 'org-1', 'page-token': 'p2' },
      { 'owner-id': 'org-1', 'page-token': 'p3' },
    ]);
  });

  it.each([
    ['a missing next_page_token', { items: [1] }],
    ['an empty next_page_token', { items: [1], next_page_token: '' }],
  ])('stops on %s', async (_name, body) => {
    api.server.use(sequence('/api/v2/x', json(body)));
    const { client } = setup();
    await expect(collect(client.pages('/api/v2/x'))).resolves.toEqual([[1]]);
    expect(api.requests).toHaveLength(1);
  });

  it('a repeated page token is a system_error instead of an endless loop', async () => {
    api.server.use(
      http.get(`${TEST_API}/api/v2/x`, ({ request }) => {
        const token = new URL(request.url).searchParams.get('page-token');
        return HttpResponse.json({ items: [token], next_page_token: token === 'a' ? 'b' : 'a' });
      }),
    );
    const { client } = setup();
    const seen: unknown[][] = [];
    const error = await apiError(
      (async () => {
        for await (const page of client.pages('/api/v2/x', { q: 1 })) seen.push(page);
      })(),
    );
    expect(seen).toEqual([[null], ['a'], ['b']]);
    expect(api.requests).toHaveLength(3);
    expect(error.failureType).toBe('system_error');
    expect(error.message).toBe('CircleCI repeated a page token on GET /api/v2/x?q=1 after 3 pages; stopped to avoid reading the same pages forever.');
  });

  it('a 404 on the first page is an empty list', async () => {
    api.server.use(sequence('/api/v2/x', status(404)));
    const { client } = setup();
    await expect(collect(client.pages('/api/v2/x'))).resolves.toEqual([]);
  });

  it('a 404 on a later page is a transient_error (expired page token)', async () => {
    api.server.use(sequence('/api/v2/x', json({ items: [1], next_page_token: 't' }), status(404)));
    const { client } = setup();
    const error = await apiError(collect(client.pages('/api/v2/x')));
    expect(error.failureType).toBe('transient_error');
    expect(error.message).toContain('page token');
  });

  it.each([
    ['no items', { next_page_token: null }],
    ['items not a list', { items: { id: 1 } }],
    ['a bare array', [1, 2]],
    ['null', null],
  ])('a page with %s is a system_error naming the route', async (_name, body) => {
    api.server.use(http.get(`${TEST_API}/api/v2/context`, () => HttpResponse.json(body)));
    const { client } = setup();
    const error = await apiError(collect(client.pages('/api/v2/context', { 'owner-id': 'o1' })));
    expect(error.failureType).toBe('system_error');
    expect(error.route).toBe('GET /api/v2/context?owner-id=o1');
    expect(error.message).toBe('CircleCI answered GET /api/v2/context?owner-id=o1 with a page that has no "items" list; the API may have changed.');
  });

  it('pages are retried like single requests', async () => {
    api.server.use(sequence('/api/v2/x', status(503), tooMany('2'), json({ items: [1] })));
    const { client, time } = setup();
    await expect(collect(client.pages('/api/v2/x'))).resolves.toEqual([[1]]);
    expect(time.waits).toEqual([750, 2_000]);
  });
});

describe('the token never leaks', () => {
  it('from any thrown error (message, stack) or logged message', async () => {
    const scenarios: Array<[string, Array<() => Response | Promise<Response>>]> = [
      ['401', [status(401, '{"message":"Invalid token provided."}')]],
      ['403', [status(403, '{"message":"Permission denied"}')]],
      ['400', [status(400, '{"message":"Bad request"}')]],
      ['429 forever', [tooMany('1')]],
      ['429 budget', [tooMany('59'), tooMany('59')]],
      ['503 forever', [status(503)]],
      ['unreadable forever', [status(200, '{"a":')]],
      ['network error', [() => HttpResponse.error()]],
      ['redirect', [status(301, '', { Location: `https://other.test/?token=${TEST_TOKEN}` })]],
      ['418', [status(418, '{"message":"teapot"}')]],
    ];
    const texts: string[] = [];
    for (const [name, responses] of scenarios) {
      api.reset();
      api.server.use(sequence('/api/v2/me', ...responses));
      const { client, logs } = setup();
      const error = await apiError(client.get('/api/v2/me', { 'org-slug': 'gh/acme' }));
      texts.push(`${name}: ${error.message}`, error.stack ?? '', JSON.stringify(error), ...logs.map((l) => l.message));
    }
    expect(texts.length).toBeGreaterThan(20);
    expectNoToken(...texts);
  });

  it('nor from an error raised inside got (the request options carry the headers)', async () => {
    // A request timeout makes got throw a RequestError whose options include Circle-Token.
    api.server.use(
      http.get(`${TEST_API}/api/v2/slow`, async () => {
        await delay(200);
        return HttpResponse.json({});
      }),
    );
    const { client, logs } = setup({ requestTimeoutMs: 20 });
    const error = await apiError(client.get('/api/v2/slow'));
    expect(error.message).toContain('ETIMEDOUT');
    expectNoToken(error.message, error.stack, JSON.stringify(error), ...logs.map((l) => l.message));
  });
});

describe('downloads and POST (the usage export)', () => {
  const FILE_HOST = 'https://files.example.test';
  const SIGNED = `${FILE_HOST}/exports/1.csv.gz?X-Amz-Signature=sig-secret-123&X-Amz-Expires=3600`;

  it('a download sends no API header (no token, no Accept) and returns the bytes as sent', async () => {
    const bytes = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xff]);
    api.server.use(http.get(`${FILE_HOST}/exports/1.csv.gz`, () => new HttpResponse(bytes, { headers: { 'Content-Type': 'application/octet-stream' } })));
    const { client } = setup();
    expect(Buffer.compare(await client.download(SIGNED), bytes)).toBe(0);
    const request = api.requests.find((r) => r.url.host === 'files.example.test')!;
    expect(request.headers.get('circle-token')).toBeNull();
    expect(request.headers.get('authorization')).toBeNull();
    expect(request.url.searchParams.get('X-Amz-Signature')).toBe('sig-secret-123');
  });

  it('a refused or retried download names host and path, never the query (its credential)', async () => {
    let calls = 0;
    api.server.use(
      http.get(`${FILE_HOST}/exports/1.csv.gz`, () => {
        calls += 1;
        return calls === 1 ? new HttpResponse('', { status: 503 }) : new HttpResponse('<Error><Code>AccessDenied</Code></Error>', { status: 403 });
      }),
    );
    const { client, logs } = setup();
    const error = await apiError(client.download(SIGNED));
    expect(calls).toBe(2); // the 503 went through the retry policy
    expect(error.failureType).toBe('transient_error');
    expect(error.message).toContain('files.example.test/exports/1.csv.gz');
    for (const text of [error.message, error.stack, ...logs.map((l) => l.message)]) expect(text ?? '').not.toContain('sig-secret-123');
  });

  it('a download that cannot reach its host names that host, not api_url', async () => {
    api.server.use(http.get(`${FILE_HOST}/exports/1.csv.gz`, () => HttpResponse.error()));
    const { client } = setup();
    const error = await apiError(client.download(SIGNED));
    expect(error.failureType).toBe('transient_error');
    expect(error.message).toMatch(/^Could not reach files\.example\.test \(\S+\) for GET https:\/\/files\.example\.test\/exports\/1\.csv\.gz after 5 attempts; /);
    expect(error.message).toContain("the export file's host");
    expect(error.message).not.toContain('api_url');
    expect(error.message).not.toContain('circleci.test');
    expect(error.message).not.toContain('sig-secret-123');
    expect(client.reachedApi).toBe(false);
  });

  it('a download URL that is not https is not followed', async () => {
    const { client } = setup();
    const error = await apiError(client.download('http://files.example.test/x.csv.gz?X-Amz-Signature=s'));
    expect(error.failureType).toBe('system_error');
    expect(api.requests).toHaveLength(0);
  });

  it('POST sends the token and a JSON body and resolves the JSON answer', async () => {
    api.server.use(http.post(`${TEST_API}/api/v2/organizations/o/usage_export_job`, async ({ request }) => HttpResponse.json({ got: await request.json() }, { status: 201 })));
    const { client } = setup();
    await expect(client.post('/api/v2/organizations/o/usage_export_job', { start: 'a', end: 'b' })).resolves.toEqual({ got: { start: 'a', end: 'b' } });
    expect(api.requests[0]!.headers.get('circle-token')).toBe(TEST_TOKEN);
  });

  it('serverNow follows the API server\'s Date header', async () => {
    api.server.use(http.get(`${TEST_API}/api/v2/me`, () => HttpResponse.json({}, { headers: { Date: 'Sun, 01 Nov 2026 00:00:00 GMT' } })));
    const { client, time } = setup();
    await client.get('/api/v2/me');
    expect(client.serverNow()).toBe(Date.parse('2026-11-01T00:00:00Z'));
    await time.sleep(5_000); // then moves on with the local clock
    expect(client.serverNow()).toBe(Date.parse('2026-11-01T00:00:05Z'));
  });
});
