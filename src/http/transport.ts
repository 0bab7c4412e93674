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

/** A download's answer: the body as bytes (a compressed file is not text). */
export interface TransportDownload {
  statusCode: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export class TransportError extends Error {
  constructor(readonly code: string) {
    super(`request failed: ${code}`);
    this.name = 'TransportError';
  }
}

export class Transport {
  private readonly http: Got;
  /** For URLs on other hosts (pre-signed downloads): none of the API's headers, the token least of all. */
  private readonly bare: Got;
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
    this.bare = got.extend({
      headers: { 'User-Agent': options.headers['User-Agent'] ?? 'source-circleci' },
      timeout: { request: options.timeoutMs },
      retry: { limit: 0 },
      throwHttpErrors: false,
      followRedirect: false,
      agent: this.agents,
    });
  }

  /** `path` starts at the host root (`/api/v2/...`); `search` is an encoded query without `?`. */
  async get(path: string, search: string, signal?: AbortSignal): Promise<TransportResponse> {
    return this.exchange(async () => {
      const response = await this.http.get(path.replace(/^\//, ''), { ...(search ? { searchParams: search } : {}), ...(signal ? { signal } : {}) });
      return { statusCode: response.statusCode, headers: response.headers, body: response.body };
    });
  }

  /** POST a JSON body to an API path (`/api/v2/...`), with the API's headers. */
  async post(path: string, json: unknown, signal?: AbortSignal): Promise<TransportResponse> {
    return this.exchange(async () => {
      const response = await this.http.post(path.replace(/^\//, ''), { json, ...(signal ? { signal } : {}) });
      return { statusCode: response.statusCode, headers: response.headers, body: response.body };
    });
  }

  /** GET an absolute URL on another host with no API header: the URL carries its own authorisation. */
  async download(url: string, signal?: AbortSignal): Promise<TransportDownload> {
    return this.exchange(async () => {
      const response = await this.bare.get(url, { responseType: 'buffer', decompress: false, ...(signal ? { signal } : {}) });
      return { statusCode: response.statusCode, headers: response.headers, body: Buffer.from(response.body) };
    });
  }

  private async exchange<T>(send: () => Promise<T>): Promise<T> {
    try {
      return await send();
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
