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
    const hasOffset = /(Z|[+-]\d{2}:?\d{2})$/.test(value);
    parsed = hasOffset ? dayjs(value.replace(' ', 'T')).utc() : dayjs.utc(value.replace(' ', 'T'));
    // dayjs rolls 2025-02-30 over to March; insist the calendar date survives parsing.
    const datePart = value.slice(0, 10);
    if (!hasOffset && parsed.isValid() && parsed.format('YYYY-MM-DD') !== datePart) return undefined;
  }
  if (!parsed || !parsed.isValid()) return undefined;
  return parsed.toISOString();
}

/** Parses a timestamp the API sent; undefined when absent or unreadable. */
export function parseApiTime(value: unknown): number | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
