import { STREAMS } from '../streams/streams.js';
import type { StreamName } from '../streams/schemas/index.js';

/**
 * A `start_date` after `now` makes every stream with a cursor read nothing (records before
 * the start date are not replicated) until that day comes, without any error. Returns the
 * sentence that says so, or undefined when the start date has passed.
 */
export function futureStartDate(startDate: string, now: number): string | undefined {
  if (Date.parse(startDate) <= now) return undefined;
  const dated = (Object.keys(STREAMS) as StreamName[]).filter((name) => STREAMS[name].cursor !== undefined).sort();
  return (
    `start_date ${startDate} is in the future: ${dated.join(', ')} read only records from that date on, so nothing until then. ` +
    `Set start_date to the earliest date to replicate (e.g. a year ago).`
  );
}
