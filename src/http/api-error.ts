import { ConnectorError } from '../errors.js';
import type { FailureType } from '../protocol/messages.js';

/** A request that failed for good. `route` is method and path (never headers or the token). */
export class ApiError extends ConnectorError {
  constructor(
    message: string,
    failureType: FailureType,
    readonly route: string,
    readonly status?: number,
  ) {
    super(message, failureType);
  }
}

/** A request that never got an answer from `host`: every attempt failed on the network (`code`: ECONNREFUSED, ENOTFOUND, ...). */
export class UnreachableError extends ApiError {
  constructor(
    message: string,
    route: string,
    readonly host: string,
    readonly code: string,
  ) {
    super(message, 'transient_error', route);
  }
}

/** The `message` of a CircleCI error body (`{"message": "..."}`), if it has one. */
export function apiMessage(body: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed && typeof parsed === 'object' && typeof (parsed as { message?: unknown }).message === 'string') {
      return (parsed as { message: string }).message.slice(0, 500);
    }
  } catch {
    // not JSON: an HTML error page or a cut-off body; the status says enough
  }
  return undefined;
}

/** The error for a final (non-retried) HTTP status, worded for the person who must act on it. */
export function errorForStatus(status: number, route: string, body: string): ApiError {
  const said = apiMessage(body);
  const quote = said ? ` CircleCI said: "${said}".` : '';
  if (status === 401) {
    return new ApiError(
      `CircleCI rejected the API token (401 on ${route}): the token is invalid or expired; a personal API token is required ` +
        `(CircleCI → User Settings → Personal API Tokens).${quote}`,
      'config_error',
      route,
      status,
    );
  }
  if (status === 403) {
    return new ApiError(
      `CircleCI refused access (403 on ${route}): the token's user lacks permission for this resource.${quote}`,
      'config_error',
      route,
      status,
    );
  }
  if (status >= 300 && status < 400) {
    // The client never follows redirects: the next hop could be another host, and the
    // token would travel with the request. A redirect almost always means api_url points
    // at a web front end or an old address rather than the API host: the user fixes it.
    return new ApiError(
      `CircleCI answered ${route} with a redirect (${status}), which the connector does not follow so that the API token ` +
        `never goes to another host. Check api_url: it must be the API host itself (https://circleci.com, or your CircleCI Server URL).`,
      'config_error',
      route,
      status,
    );
  }
  if (status === 400) {
    return new ApiError(
      `CircleCI rejected the request as invalid (400 on ${route}); check the project slugs and API URL in the config.${quote}`,
      'config_error',
      route,
      status,
    );
  }
  return new ApiError(`CircleCI answered ${status} on ${route}.${quote}`, status >= 500 ? 'transient_error' : 'system_error', route, status);
}
