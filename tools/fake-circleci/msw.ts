// The fake CircleCI API as msw request handlers (same route table and faults as the
// server): use with `setupServer(...handlers)` from 'msw/node'.

import { http, HttpResponse, type HttpHandler } from 'msw';
import { createCore, type RequestLogEntry } from './dispatch.js';
import type { FaultController, FaultOptions } from './faults.js';
import { FakeStats } from './stats.js';
import type { World } from './world.js';

export interface MswOptions {
  world: World;
  faults?: FaultOptions | FaultController;
  /** Host root the handlers answer for (default https://circleci.com); may carry a path prefix. */
  baseUrl?: string;
  stats?: FakeStats;
  onRequest?: (entry: RequestLogEntry) => void;
}

export interface FakeCircleCiHandlers {
  handlers: HttpHandler[];
  stats: FakeStats;
  faults: FaultController;
  world: World;
  /** Answer every hanging request with a network error (call in afterAll/afterEach). */
  release(): void;
}

export function fakeCircleCiHandlers(options: MswOptions): FakeCircleCiHandlers {
  const core = createCore({
    world: options.world,
    faults: options.faults,
    stats: options.stats ?? new FakeStats(),
    onRequest: options.onRequest,
  });
  const base = new URL(options.baseUrl ?? 'https://circleci.com');
  const prefix = base.pathname.replace(/\/+$/, '');
  const hanging = new Set<() => void>();

  const relativePath = (raw: string): string | undefined => {
    const u = new URL(raw);
    if (u.origin !== base.origin) return undefined;
    if (prefix && !(u.pathname === prefix || u.pathname.startsWith(`${prefix}/`))) return undefined;
    return u.pathname.slice(prefix.length) + u.search;
  };

  const handler = http.all(
    ({ request }) => relativePath(request.url) !== undefined,
    async ({ request }) => {
      const path = relativePath(request.url) as string;
      const headers: Record<string, string> = {};
      request.headers.forEach((value, key) => {
        headers[key] = value;
      });
      const body = request.method === 'GET' || request.method === 'HEAD' ? undefined : await request.text();
      // URLs the fake hands out (usage export files) point at the host msw intercepts.
      const outcome = await core.handle({ method: request.method, path, headers, body, baseUrl: `${base.origin}${prefix}` });
      if (outcome.kind === 'reset') return HttpResponse.error();
      if (outcome.kind === 'hang') {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            hanging.delete(done);
            resolve();
          };
          hanging.add(done);
          request.signal?.addEventListener('abort', done, { once: true });
        });
        return HttpResponse.error();
      }
      const payload = outcome.binary ? Buffer.from(outcome.body, 'latin1') : outcome.body;
      return new HttpResponse(payload, { status: outcome.status, headers: outcome.headers });
    },
  );

  return {
    handlers: [handler],
    stats: core.stats,
    faults: core.faults,
    world: options.world,
    release() {
      for (const done of [...hanging]) done();
    },
  };
}
