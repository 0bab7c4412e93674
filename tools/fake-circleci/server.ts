// The fake CircleCI API as a standalone node:http server on 127.0.0.1.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { createCore, type RequestLogEntry } from './dispatch.js';
import type { FaultController, FaultOptions } from './faults.js';
import { FakeStats } from './stats.js';
import type { World } from './world.js';

export interface StartOptions {
  world: World;
  faults?: FaultOptions | FaultController;
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  stats?: FakeStats;
  onRequest?: (entry: RequestLogEntry) => void;
}

export interface RunningFake {
  /** Host root, e.g. http://127.0.0.1:41234 (the private listing lives under /api/private). */
  url: string;
  /** `${url}/api/v2` */
  apiUrl: string;
  port: number;
  stats: FakeStats;
  faults: FaultController;
  world: World;
  /** Stops listening, drops every open (and hanging) connection. */
  close(): Promise<void>;
}

export async function startFakeCircleCi(options: StartOptions): Promise<RunningFake> {
  const core = createCore({
    world: options.world,
    faults: options.faults,
    stats: options.stats ?? new FakeStats(),
    onRequest: options.onRequest,
  });
  const sockets = new Set<Socket>();

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    // Read the whole body (POST routes take JSON) before dispatching.
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = chunks.length > 0 ? Buffer.concat(chunks).toString('utf8') : undefined;
      // URLs the fake hands out (usage export files) point where the client reached it.
      const baseUrl = `http://${req.headers.host ?? host}`;
      core
        .handle({ method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body, baseUrl })
        .then((outcome) => {
          if (outcome.kind === 'reset') {
            req.socket.destroy();
            return;
          }
          if (outcome.kind === 'hang') return; // answered never; close() drops the socket
          if (res.destroyed || req.socket.destroyed) return;
          const bytes = Buffer.from(outcome.body, outcome.binary ? 'latin1' : 'utf8');
          res.writeHead(outcome.status, { ...outcome.headers, 'Content-Length': String(bytes.length) });
          res.end(bytes);
        })
        .catch((e: unknown) => {
          if (!res.headersSent && !res.destroyed) {
            res.writeHead(500, { 'Content-Type': 'application/json; charset=utf-8' });
            res.end(JSON.stringify({ message: `Internal server error. ${(e as Error).message}` }));
          }
        });
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.keepAliveTimeout = 5_000;

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('unexpected server address');
  const url = `http://${host}:${address.port}`;

  let closed: Promise<void> | undefined;
  return {
    url,
    apiUrl: `${url}/api/v2`,
    port: address.port,
    stats: core.stats,
    faults: core.faults,
    world: options.world,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
        server.closeAllConnections?.();
      });
      return closed;
    },
  };
}
