import type { Config } from '../config/config.js';
import type { AnyStreamDeclaration, ApiRecord } from '../streams/declaration.js';
import { isNew, type Floor } from './cursor.js';
import { DAY_MS } from './service-day.js';


/**
 * What to ask an endpoint that filters server-side (`since`), and which of its records
 * are new. The request reaches back to the bookmark less the declared lookback (or to the
 * start date), clamped to the days the endpoint keeps before `today`, CircleCI's today
 * (serviceToday: its clock, not this machine's, as for the usage export); asking from
 * that day's start may reach a little further back than the service keeps, which it
 * answers with what it has. A clamped bookmark or start date is said with `warn` (older
 * records cannot be read).
 * A record at or before the bookmark is new only if it was listed after it (`listedAt`
 * later than the bookmark: a run that finished since), so the lookback re-reads without
 * emitting again what the last sync emitted (but for runs that ended after the bookmark).
 */
export function serverFloor(
  decl: AnyStreamDeclaration,
  bookmark: Floor,
  config: Config,
  today: number,
  partition: string,
  warn: (message: string) => void,
): { since: string; accept: (record: ApiRecord) => boolean } {
  const since = decl.since!;
  const horizon = today - since.horizonDays * DAY_MS;
  let floor = bookmark;
  if (floor.ms < horizon) {
    const from = floor.strict ? `its bookmark (${new Date(floor.ms).toISOString()})` : `start_date (${new Date(floor.ms).toISOString()})`;
    warn(
      `${decl.name}: ${partition}: ${from} is more than ${since.horizonDays} days ago, and CircleCI keeps ${since.horizonDays} days of it; ` +
        `reading from ${new Date(horizon).toISOString()}`,
    );
    floor = { ms: horizon, strict: false };
  }
  const lookback = floor.strict ? (since.lookbackMs?.(config) ?? 0) : 0;
  const reread: Floor = { ms: Math.max(horizon, floor.ms - lookback), strict: false };
  const cursor = decl.cursor!;
  return {
    since: new Date(lookback > 0 ? reread.ms : floor.ms).toISOString(),
    accept: (record) =>
      isNew(floor, record[cursor]) || (lookback > 0 && since.listedAt !== undefined && isNew(reread, record[cursor]) && isNew(floor, record[since.listedAt])),
  };
}
