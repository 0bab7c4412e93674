import type { Config } from '../config/config.js';
import type { AnyStreamDeclaration } from '../streams/declaration.js';
import type { Floor } from './cursor.js';

const DAY_MS = 86_400_000;

/**
 * The oldest cursor value to ask an endpoint that filters server-side (`since`), and the
 * floor to filter its answer with: the bookmark less the declared lookback (or the start
 * date), clamped to how far back the endpoint reaches from the run's start. A clamped
 * floor is said with `warn`: the records older than the horizon cannot be read.
 */
export function serverFloor(
  decl: AnyStreamDeclaration,
  floor: Floor,
  config: Config,
  syncedAt: string,
  partition: string,
  warn: (message: string) => void,
): { floor: Floor; since: string } {
  const since = decl.since!;
  const lookback = since.lookbackMs?.(config) ?? 0;
  // Only behind a bookmark (the start date is a plain lower bound); records at the bookmark are emitted again, deduplicated downstream.
  let wanted: Floor = floor.strict && lookback > 0 ? { ms: floor.ms - lookback, strict: false } : floor;
  const horizon = Date.parse(syncedAt) - since.horizonDays * DAY_MS;
  if (wanted.ms < horizon) {
    const from = floor.strict ? `its bookmark (${new Date(floor.ms).toISOString()})` : `start_date (${new Date(floor.ms).toISOString()})`;
    if (floor.ms < horizon) {
      warn(
        `${decl.name}: ${partition}: ${from} is more than ${since.horizonDays} days ago, and CircleCI keeps ${since.horizonDays} days of it; ` +
          `reading from ${new Date(horizon).toISOString()}`,
      );
    }
    wanted = { ms: horizon, strict: false };
  }
  return { floor: wanted, since: new Date(wanted.ms).toISOString() };
}
