/**
 * HTTP test helpers: an msw server that records every request and fails loudly on
 * unhandled ones, and a fake clock whose `sleep` records the wait, advances the clock
 * and resolves at once — so retry and rate-limit tests never sleep for real.
 */
import { afterAll, afterEach, beforeAll, expect } from '@jest/globals';
import { setupServer, type SetupServer } from 'msw/node';

import { CircleCiClient, type ClientOptions } from '../../src/http/client.js';

/** A token shaped like a CircleCI personal token; tests scan output for it. */
export const TEST_TOKEN = 'CCIPAT_Secr3tT0ken_0123456789abcdef0123456789abcdef';
export const TEST_API = 'https://circleci.test';

export interface SeenRequest {
  method: string;
  url: URL;
  headers: Headers;
}

export interface MockApi {
  server: SetupServer;
  /** Every request msw saw, in order. */
  requests: SeenRequest[];
  /** Requests no handler answered (each one is a test bug). */
  unhandled: string[];
  /** Requests whose path is `pathname` (query ignored). */
  requestsTo(pathname: string): SeenRequest[];
  /** Clears the request log and the handlers added with `server.use`. */
  reset(): void;
}

/**
 * An msw server for one test file or describe; `start()` listens. Most callers want
 * `useMockApi()`, which wires `start`/`reset`/`stop` to beforeAll/afterEach/afterAll.
 */
export function mockApi(): MockApi & { start(): void; stop(): void } {
  const server = setupServer();
  const requests: SeenRequest[] = [];
  const unhandled: string[] = [];
  server.events.on('request:start', ({ request }) => {
    requests.push({ method: request.method, url: new URL(request.url), headers: request.headers });
  });
  server.events.on('request:unhandled', ({ request }) => {
    unhandled.push(`${request.method} ${request.url}`);
  });
  return {
    server,
    requests,
    unhandled,
    requestsTo: (pathname) => requests.filter((r) => r.url.pathname === pathname),
    reset() {
      server.resetHandlers();
      requests.length = 0;
      unhandled.length = 0;
    },
    start() {
      // msw 3 renamed onUnhandledRequest to onUnhandledFrame; 'error' fails the request.
      server.listen({ onUnhandledFrame: 'error' });
    },
    stop() {
      server.close();
    },
  };
}

/**
 * `mockApi()` wired into the enclosing scope (a test file or a describe): listening for
 * the whole scope, and after each test asserting no request went unanswered, then
 * clearing the log and the handlers that test added.
 */
export function useMockApi(): MockApi {
  const api = mockApi();
  beforeAll(() => api.start());
  afterEach(() => {
    expect(api.unhandled).toEqual([]);
    api.reset();
  });
  afterAll(() => api.stop());
  return api;
}

export interface FakeTime {
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Every wait asked of `sleep`, in order. */
  waits: number[];
  /** Milliseconds the fake clock has moved. */
  elapsed(): number;
}

export function fakeTime(start = Date.UTC(2025, 0, 1)): FakeTime {
  let clock = start;
  const waits: number[] = [];
  return {
    now: () => clock,
    sleep: async (ms: number) => {
      waits.push(ms);
      clock += Math.max(0, ms);
    },
    waits,
    elapsed: () => clock - start,
  };
}

export interface TestClient {
  client: CircleCiClient;
  time: FakeTime;
  /** Messages the client logged. */
  logs: Array<{ level: string; message: string }>;
}

/**
 * A client on the fake clock: its retry waits and the governor's pauses go by it; only
 * bottleneck's spacing of starts (60 ms at the starting rate) is real time.
 */
export function testClient(overrides: Partial<ClientOptions> = {}): TestClient {
  const time = fakeTime();
  const logs: Array<{ level: string; message: string }> = [];
  const client = new CircleCiClient({
    apiUrl: TEST_API,
    token: TEST_TOKEN,
    maxConcurrency: 4,
    userAgent: 'source-circleci-test/1.0',
    now: time.now,
    sleep: time.sleep,
    random: () => 0.5,
    log: (level, message) => logs.push({ level, message }),
    ...overrides,
  });
  return { client, time, logs };
}
