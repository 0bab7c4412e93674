import http from 'node:http';
import https from 'node:https';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Readable } from 'node:stream';

/**
 * GET over node:http(s) with keep-alive, a whole-request timeout and gzip/deflate/br
 * bodies; nothing else. The client's per-request cost is most of the connector's CPU at
 * low latency, and a general-purpose HTTP library costs several times what this does.
 *
 * Redirects are not followed (a redirect could carry the token to another host). A
 * failure to get an answer rejects with a TransportError that carries only an error
 * code (ECONNRESET, ETIMEDOUT, ...), never the request options, which hold the token.
 */
export interface TransportOptions {
  /** Scheme, host and optional path prefix, e.g. https://circleci.com or https://ci.example.com/circleci */
  baseUrl: string;
  headers: Record<string, string>;
  timeoutMs: number;
}

export interface TransportResponse {
  statusCode: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export class TransportError extends Error {
  constructor(readonly code: string) {
    super(`request failed: ${code}`);
    this.name = 'TransportError';
  }
}

export class Transport {
  private readonly base: URL;
  private readonly prefix: string;
  private readonly agent: http.Agent;
  private readonly request: typeof http.request;
  private readonly headers: Record<string, string>;

  constructor(private readonly options: TransportOptions) {
    this.base = new URL(options.baseUrl);
    this.prefix = this.base.pathname.replace(/\/+$/, '');
    const secure = this.base.protocol === 'https:';
    this.agent = secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
    this.request = secure ? https.request : http.request;
    this.headers = { ...options.headers, 'accept-encoding': 'gzip, deflate, br' };
  }

  /** `path` starts at the host root (`/api/v2/...`); `search` is an encoded query without `?`. */
  get(path: string, search: string): Promise<TransportResponse> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (code: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        request.destroy();
        reject(new TransportError(code));
      };
      const request = this.request(
        {
          protocol: this.base.protocol,
          hostname: this.base.hostname,
          port: this.base.port,
          path: `${this.prefix}${path}${search ? `?${search}` : ''}`,
          method: 'GET',
          headers: this.headers,
          agent: this.agent,
        },
        (response) => {
          const chunks: Buffer[] = [];
          const body = decoded(response, (error) => fail(codeOf(error)));
          body.on('data', (chunk: Buffer) => chunks.push(chunk));
          body.on('end', () => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            resolve({ statusCode: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') });
          });
          response.on('aborted', () => fail('ECONNRESET'));
          response.on('error', (error) => fail(codeOf(error)));
        },
      );
      const timer = setTimeout(() => fail('ETIMEDOUT'), this.options.timeoutMs);
      request.on('error', (error) => fail(codeOf(error)));
      request.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function decoded(response: http.IncomingMessage, onError: (error: Error) => void): Readable {
  const encoding = String(response.headers['content-encoding'] ?? '').trim().toLowerCase();
  const decoder = encoding === 'gzip' || encoding === 'x-gzip' ? createGunzip() : encoding === 'deflate' ? createInflate() : encoding === 'br' ? createBrotliDecompress() : undefined;
  if (decoder === undefined) return response;
  decoder.on('error', onError);
  return response.pipe(decoder);
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z0-9_]+$/.test(code) ? code : 'UNKNOWN';
}
