import type { FailureType } from './protocol/messages.js';

/**
 * An error the user is meant to read. `message` is what the Airbyte UI shows, so it says
 * what went wrong and what to do; `failureType` tells the platform whether retrying the
 * sync can help (transient_error), the user must change something (config_error), or it
 * is our bug or an API we do not understand (system_error).
 */
export class ConnectorError extends Error {
  constructor(
    message: string,
    readonly failureType: FailureType,
    readonly internalMessage?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ConfigError extends ConnectorError {
  constructor(message: string, internalMessage?: string) {
    super(message, 'config_error', internalMessage);
  }
}

/** Turns anything thrown into a ConnectorError without losing its message. */
export function asConnectorError(error: unknown): ConnectorError {
  if (error instanceof ConnectorError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new ConnectorError(`Unexpected internal error: ${message}`, 'system_error', error instanceof Error ? error.stack : undefined);
}
