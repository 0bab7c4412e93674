import { asConnectorError, ConfigError, ConnectorError } from '../errors.js';
import { ApiError, UnreachableError } from '../http/api-error.js';
import type { CircleCiClient } from '../http/client.js';
import type { FailureType } from '../protocol/messages.js';
import type { StreamName } from '../streams/schemas/index.js';

/** The user's own endpoint: a 401 here means the token itself is refused, for every stream alike. */
const ME = '/api/v2/me';

/** The reason a read was halted when the sync was cancelled (SIGTERM, SIGINT): not a failure, nothing to report but the state. */
export class Cancelled extends Error {
  constructor(readonly signalName: string) {
    super(`cancelled (${signalName})`);
  }
}

/** One part of the read that did not complete: streams under one parent, and why. */
export interface FailedPart {
  streams: StreamName[];
  /** The parent the streams were read under (an organization, a project, ...), as the user knows it. */
  parent: string;
  error: ConnectorError;
}

/** Worst first: our bug, then something the user must fix, then what a retry may cure. */
const SEVERITY: Record<FailureType, number> = { system_error: 3, config_error: 2, transient_error: 1 };

/**
 * Parts of a read that failed. A failure stays where it happened (as in Airbyte's CDK):
 * a request refused (401, 403, 400) or given up on under one parent makes that part
 * incomplete, and every other stream and parent goes on. Only a token refused outright
 * ends the read at once (`isFatal`): then nothing can succeed.
 */
export class StreamFailures {
  private readonly failed = new Map<StreamName, ConnectorError>();
  private readonly partList: FailedPart[] = [];
  private tokenProbe: Promise<boolean> | undefined;
  private reachProbe: Promise<boolean> | undefined;

  add(streams: Iterable<StreamName>, error: ConnectorError, parent = 'the account'): void {
    const list = [...streams];
    if (list.length === 0) return;
    for (const stream of list) if (!this.failed.has(stream)) this.failed.set(stream, error);
    this.partList.push({ streams: list, parent, error });
  }

  has(stream: StreamName): boolean {
    return this.failed.has(stream);
  }

  get size(): number {
    return this.failed.size;
  }

  get parts(): readonly FailedPart[] {
    return this.partList;
  }

  /** One TRACE ERROR's worth: what failed, and the failure type of the worst cause. */
  summary(): { message: string; failureType: FailureType } | undefined {
    if (this.partList.length === 0) return undefined;
    const worst = this.partList.reduce((a, b) => (SEVERITY[b.error.failureType] > SEVERITY[a.error.failureType] ? b : a));
    const shown = this.partList.slice(0, 10).map((part) => `${part.streams.join(', ')} under ${part.parent}: ${part.error.message}`);
    const more = this.partList.length > shown.length ? ` (and ${this.partList.length - shown.length} more parts; see the WARN lines)` : '';
    const count = this.partList.length === 1 ? '1 part' : `${this.partList.length} parts`;
    return {
      message: `The sync did not complete everywhere (${count} failed; every other stream and parent was read and its state saved): ${shown.join(' | ')}${more}`,
      failureType: worst.error.failureType,
    };
  }

  /**
   * The error a part failed with, worded for that part: a 401 that is not the token's
   * (see isFatal) is one resource refusing the token's user, not a bad token; a 403 says
   * the access the stream needs and what to do (`forbidden`, its declaration's text).
   * Both are the user's to fix (token or selection): config_error.
   */
  static forPart(error: unknown, forbidden?: string): ConnectorError {
    if (error instanceof ApiError && error.status === 401) {
      return new ApiError(
        `CircleCI refused the token for this resource only (401 on ${error.route}; the token works elsewhere): give the token's user ` +
          `access to it (organization membership, context or project restrictions), or deselect the streams read from it.`,
        'config_error',
        error.route,
        401,
      );
    }
    if (error instanceof ApiError && error.status === 403 && forbidden) {
      return new ApiError(`CircleCI refused access (403 on ${error.route}): ${forbidden}.`, 'config_error', error.route, 403);
    }
    return asConnectorError(error);
  }

  /**
   * The error a read that `error` ended reports: the API host out of reach is said of the
   * whole read (whichever request found it out), anything else as it is.
   */
  static forRead(error: unknown): ConnectorError {
    if (error instanceof UnreachableError) {
      return new ConnectorError(
        `Could not reach ${error.host} (${error.code}): nothing more could be read, so the read stopped. Check api_url and the network between this machine and CircleCI.`,
        'transient_error',
        `first found on ${error.route}`,
      );
    }
    return asConnectorError(error);
  }

  /**
   * Whether `error` ends the whole read: a config error of ours, a 401 that is the
   * token's and not one resource's, or the API host out of reach. A 401 on /me is the
   * token's; a 401 elsewhere is asked of /me once per read (a revoked token answers 401
   * there too; a token refused one resource does not). A request that never reached the
   * API host ends the read when the host never answered anything in this read (a wrong
   * api_url, no network); after answers, /me is asked: the read ends only if /me cannot
   * be reached either (a blip fails that part alone).
   */
  async isFatal(error: unknown, client: CircleCiClient): Promise<boolean> {
    if (!(error instanceof ApiError)) return error instanceof ConfigError;
    if (error instanceof UnreachableError) return error.host === client.host && this.unreachable(client);
    if (error.status !== 401) return false;
    if (error.route.startsWith(`GET ${ME}`)) return true;
    this.tokenProbe ??= client.get(ME).then(
      () => false,
      (probe: unknown) => probe instanceof ApiError && probe.status === 401,
    );
    return this.tokenProbe;
  }

  /** Whether the API host is out of reach: it never answered, or /me cannot be reached now (one probe at a time, asked again on a later failure). */
  private unreachable(client: CircleCiClient): Promise<boolean> {
    if (!client.reachedApi) return Promise.resolve(true);
    this.reachProbe ??= client
      .get(ME)
      .then(
        () => false,
        (probe: unknown) => probe instanceof UnreachableError,
      )
      .finally(() => {
        this.reachProbe = undefined;
      });
    return this.reachProbe;
  }
}
