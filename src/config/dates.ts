import dayjs from 'dayjs';
import customParseFormat from 'dayjs/plugin/customParseFormat.js';
import utc from 'dayjs/plugin/utc.js';

dayjs.extend(customParseFormat);
dayjs.extend(utc);

// Accepted start-date spellings: ISO 8601 dates and date-times (UTC unless an offset is
// given) and MM/DD/YYYY, the form the original connector's documentation uses.
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;
const US_DATE = /^\d{2}\/\d{2}\/\d{4}$/;

/** Parses a user-supplied date to an ISO 8601 UTC instant, or undefined if it is not a real date. */
export function parseUserDate(text: string): string | undefined {
  const value = text.trim();
  let parsed: dayjs.Dayjs | undefined;
  if (ISO_DATE.test(value)) parsed = dayjs.utc(value, 'YYYY-MM-DD', true);
  else if (US_DATE.test(value)) parsed = dayjs.utc(value, 'MM/DD/YYYY', true);
  else if (ISO_DATE_TIME.test(value)) {
    // dayjs and Date roll 2025-02-30 over to March and 10:61 to 11:01; insist every field
    // is in range before parsing (with or without an offset).
    if (!fieldsInRange(value)) return undefined;
    const hasOffset = /(Z|[+-]\d{2}:?\d{2})$/.test(value);
    parsed = hasOffset ? dayjs(value.replace(' ', 'T')).utc() : dayjs.utc(value.replace(' ', 'T'));
  }
  if (!parsed || !parsed.isValid()) return undefined;
  return parsed.toISOString();
}

/** The calendar date of an ISO date-time is real, and hours, minutes and seconds are in range. */
function fieldsInRange(value: string): boolean {
  const [, hours, minutes, seconds] = /[T ](\d{2}):(\d{2})(?::(\d{2}))?/.exec(value) ?? [];
  return (
    dayjs.utc(value.slice(0, 10), 'YYYY-MM-DD', true).isValid() && Number(hours) <= 23 && Number(minutes) <= 59 && Number(seconds ?? 0) <= 59
  );
}

/** Parses a timestamp the API sent; undefined when absent or unreadable. */
export function parseApiTime(value: unknown): number | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
