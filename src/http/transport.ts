import http from 'node:http';
import https from 'node:https';
import got, { RequestError, type Got } from 'got';

/**
 * One GET exchange, through got: keep-alive agents, a whole-request timeout,
 * compressed bodies, no redirects (a redirect could carry the token to another host) and
 * no retries of its own (the client's retry policy decides). A failure to get an answer
 * rejects with a TransportError that carries only an error code (ECONNRESET, ETIMEDOUT,
 * ...): got's own errors hold the request options, headers and token included, so they
 * never travel further than this file.
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
  private readonly http: Got;
  private readonly agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };

  constructor(options: TransportOptions) {
    const base = new URL(options.baseUrl);
    this.http = got.extend({
      prefixUrl: `${base.origin}${base.pathname.replace(/\/+$/, '')}`,
      headers: options.headers,
      timeout: { request: options.timeoutMs },
      retry: { limit: 0 },
      throwHttpErrors: false,
      followRedirect: false,
      responseType: 'text',
      agent: this.agents,
    });
  }

  /** `path` starts at the host root (`/api/v2/...`); `search` is an encoded query without `?`. */
  async get(path: string, search: string, signal?: AbortSignal): Promise<TransportResponse> {
    try {
      const response = await this.http.get(path.replace(/^\//, ''), { ...(search ? { searchParams: search } : {}), ...(signal ? { signal } : {}) });
      return { statusCode: response.statusCode, headers: response.headers, body: response.body };
    } catch (error) {
      if (error instanceof RequestError) throw new TransportError(codeOf(error.code));
      throw error;
    }
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}

/** got names its own failures ERR_*; the network's codes (ECONNRESET, ...) pass through. */
function codeOf(code: unknown): string {
  return typeof code === 'string' && /^[A-Z0-9_]+$/.test(code) ? code : 'UNKNOWN';
}
