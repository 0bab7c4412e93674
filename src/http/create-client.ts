import type { Config } from '../config/config.js';
import type { Emitter } from '../protocol/emitter.js';
import { USER_AGENT } from '../version.js';
import { CircleCiClient } from './client.js';

/** The run's one client, logging its retries through the emitter. */
export function createClient(config: Config, emitter: Emitter, overrides: { requestTimeoutMs?: number } = {}): CircleCiClient {
  emitter.redactor.add(config.apiToken);
  return new CircleCiClient({
    apiUrl: config.apiUrl,
    token: config.apiToken,
    maxConcurrency: config.maxConcurrency,
    requestsPerMinute: config.requestsPerMinute,
    maxRetryAfterMs: config.maxRetryAfterSeconds * 1000,
    userAgent: USER_AGENT,
    requestTimeoutMs: overrides.requestTimeoutMs ?? requestTimeoutFromEnv(),
    log: (level, message) => emitter.log(level, message),
  });
}

/** Tests shorten the request timeout to exercise hung responses quickly. */
function requestTimeoutFromEnv(): number | undefined {
  const value = Number(process.env.SOURCE_CIRCLECI_REQUEST_TIMEOUT_MS);
  return Number.isFinite(value) && value > 0 ? value : undefined;
}
