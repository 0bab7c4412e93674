import type { Config } from '../config/config.js';
import type { Emitter } from '../protocol/emitter.js';
import { USER_AGENT } from '../version.js';
import { CircleCiClient } from './client.js';

/** The run's one client, logging its retries through the emitter; `requestTimeoutMs` replaces the default (tests). */
export function createClient(config: Config, emitter: Emitter, requestTimeoutMs?: number, signal?: AbortSignal): CircleCiClient {
  emitter.redactor.add(config.apiToken);
  return new CircleCiClient({
    apiUrl: config.apiUrl,
    token: config.apiToken,
    maxConcurrency: config.maxConcurrency,
    requestsPerMinute: config.requestsPerMinute,
    maxRetryAfterMs: config.maxRetryAfterSeconds * 1000,
    userAgent: USER_AGENT,
    ...(requestTimeoutMs !== undefined ? { requestTimeoutMs } : {}),
    log: (level, message) => emitter.log(level, message),
    ...(signal ? { signal } : {}),
  });
}
