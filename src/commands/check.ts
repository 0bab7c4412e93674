import { parseConfig, type Config } from '../config/config.js';
import { ConnectorError } from '../errors.js';
import { ApiError } from '../http/api-error.js';
import type { Emitter } from '../protocol/emitter.js';
import type { RunOptions } from '../run-options.js';
import { slugPath } from '../streams/declaration.js';

/**
 * `check`: exactly one CONNECTION_STATUS. The token must authenticate (GET /me) and every
 * configured project must be visible to it (GET /project/{slug}); anything wrong is a
 * FAILED status with a message saying what to fix, and exit code 0 as the protocol asks.
 */
export async function check(rawConfig: unknown, emitter: Emitter, options: RunOptions = {}): Promise<number> {
  let config: Config;
  try {
    config = parseConfig(rawConfig);
  } catch (error) {
    if (!(error instanceof ConnectorError)) throw error;
    emitter.connectionStatus({ status: 'FAILED', message: error.message });
    return 0;
  }
  // Loaded here, not at the top: an invalid config is answered without loading the HTTP stack.
  const { createClient } = await import('../http/create-client.js');
  const client = createClient(config, emitter, options.requestTimeoutMs);
  try {
    const me = await client.get<{ login?: string }>('/api/v2/me');
    if (me === undefined) {
      emitter.connectionStatus({
        status: 'FAILED',
        message: `${config.apiUrl} answered 404 for /api/v2/me: it does not look like a CircleCI API. Check api_url (https://circleci.com, or your CircleCI Server URL).`,
      });
      return 0;
    }
    for (const slug of config.projectSlugs) {
      const project = await client.get(`/api/v2/project/${slugPath(slug)}`);
      if (project === undefined) {
        emitter.connectionStatus({
          status: 'FAILED',
          message:
            `Project ${slug} was not found (404) with this token. Check the slug (vcs-type/org/repo, as in the project's pipeline URL) ` +
            `and that the token's user can see the project. Project API tokens do not work with CircleCI API v2: use a personal API token.`,
        });
        return 0;
      }
    }
    emitter.connectionStatus({ status: 'SUCCEEDED' });
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    emitter.connectionStatus({ status: 'FAILED', message: error.message });
  } finally {
    await client.close();
  }
  return 0;
}
