import { parseConfig, type Config } from '../config/config.js';
import { futureStartDate } from '../config/future-start.js';
import { ConnectorError } from '../errors.js';
import { ApiError } from '../http/api-error.js';
import type { Emitter } from '../protocol/emitter.js';
import type { RunOptions } from '../run-options.js';
import { projectScope, describeScope, visibleScope } from '../scope/scope.js';
import { isGlob } from '../scope/slug-pattern.js';
import { slugPath } from '../streams/declaration.js';

/**
 * `check`: exactly one CONNECTION_STATUS. The start date must have passed, the token must
 * authenticate (GET /me), every configured project slug must be visible to it (GET
 * /project/{slug}; all that are not are named), and the scope (src/scope) must hold a
 * project; success says what the scope holds, and how many projects the token can see
 * (what the project stream and those under it cover). Anything wrong is a
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
  // Nothing with a cursor would be read: a mistake to hear of now, not after empty syncs.
  const future = futureStartDate(config.startDate, Date.now());
  if (future !== undefined) {
    emitter.connectionStatus({ status: 'FAILED', message: future });
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
    const literals = config.projectSlugs.filter((pattern) => !isGlob(pattern));
    const notFound: string[] = [];
    for (const slug of literals) {
      const project = await client.get(`/api/v2/project/${slugPath(slug)}`);
      if (project === undefined) notFound.push(slug);
    }
    if (notFound.length > 0) {
      const which = notFound.length === literals.length ? 'None of the configured projects was found' : 'Some configured projects were not found';
      emitter.connectionStatus({
        status: 'FAILED',
        message:
          `${which} (404) with this token: ${notFound.join(', ')}. Check each slug (vcs-type/org/repo, ` +
          `as in the project's pipeline URL) and that the token's user can see the project. Project API tokens do not work with CircleCI API v2: use a personal API token.`,
      });
      return 0;
    }
    // Resolved as a read resolves it; its lines become part of the answer (check writes nothing else).
    const said: string[] = [];
    const scope = await projectScope({ client, config, log: (level, message) => (level === 'WARN' ? said.push(message) : undefined) });
    if (scope.total === 0) {
      emitter.connectionStatus({
        status: 'FAILED',
        message:
          `The project scope resolves to no project${said.length > 0 ? ` (${said.join('; ')})` : ''}. ` +
          `Check project_slugs and exclude_project_slugs, and that the token's user can see the projects.`,
      });
      return 0;
    }
    const visible = await visibleScope({ client, config, log: (level, message) => (level === 'WARN' ? said.push(message) : undefined) });
    // Which streams follow which set of projects, as the declarations say.
    const { STREAM_GRAPH: graph } = await import('../streams/streams.js');
    const history = graph.roots().filter((root) => graph.get(root).under !== undefined);
    const organizationWide = graph.roots().filter((root) => graph.scoped(root) && graph.get(root).under === undefined);
    const lines = [
      `Project scope (${history.join(', ')} and the streams under them): ${describeScope(scope, config)}`,
      `every project the token can see (${organizationWide.join(', ')} and the streams under it): ${describeScope(visible, config)}`,
    ];
    emitter.connectionStatus({ status: 'SUCCEEDED', message: [...lines, ...said].join('; ') });
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    emitter.connectionStatus({ status: 'FAILED', message: error.message });
  } finally {
    await client.close();
  }
  return 0;
}
