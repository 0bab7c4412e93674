import { ConfigError, ConnectorError } from '../errors.js';
import { ApiError } from '../http/api-error.js';
import type { StreamName } from '../streams/schemas/index.js';

/**
 * A failure that ends the whole read at once: a rejected token (401) or request (400) is
 * wrong for every stream alike. Anything else fails only the streams that depend on it.
 */
export function isFatal(error: unknown): boolean {
  if (error instanceof ApiError) return error.status === 401 || error.status === 400;
  return error instanceof ConfigError;
}

/** Streams that failed during a read, with the first error of each. */
export class StreamFailures {
  private readonly failures = new Map<StreamName, ConnectorError>();

  add(streams: Iterable<StreamName>, error: ConnectorError): void {
    for (const stream of streams) if (!this.failures.has(stream)) this.failures.set(stream, error);
  }

  has(stream: StreamName): boolean {
    return this.failures.has(stream);
  }

  get size(): number {
    return this.failures.size;
  }

  entries(): IterableIterator<[StreamName, ConnectorError]> {
    return this.failures.entries();
  }
}
