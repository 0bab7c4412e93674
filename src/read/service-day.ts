import type { CircleCiClient } from '../http/client.js';

export const DAY_MS = 86_400_000;

/**
 * CircleCI's today: the UTC midnight that starts the API server's current day, by its
 * Date header (client.serverNow()). What the service keeps and produces is counted in its
 * days from its own clock, which need not be this machine's: the usage export's settled
 * days, the 90 days of runs Insights keeps.
 */
export function serviceToday(client: Pick<CircleCiClient, 'serverNow'>): number {
  return startOfDay(client.serverNow());
}

/** The UTC midnight at or before `ms` (`up`: at or after it). */
export function startOfDay(ms: number, round: 'down' | 'up' = 'down'): number {
  const floor = Math.floor(ms / DAY_MS) * DAY_MS;
  return round === 'up' && floor < ms ? floor + DAY_MS : floor;
}
