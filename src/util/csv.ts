/**
 * A small CSV reader for export files: comma-separated, one record per line (`\n` or
 * `\r\n`), first line the header. It reads both conventions such files use:
 *
 * - RFC 4180: a field in double quotes may hold commas and line breaks; `""` inside is one `"`.
 * - Snowflake unloads (CircleCI's usage export): unquoted fields where `\` escapes the next
 *   character (a comma, a line break, a backslash), and a field that is exactly `\N` is null.
 *
 * Records are yielded as objects keyed by the header, so columns are read by name, never
 * by position; a record with more fields than the header is an error (a shifted row
 * would put values under the wrong names).
 */
export type CsvRecord = Record<string, string | null>;

export class CsvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CsvError';
  }
}

/** Splits text into rows of fields (`null` for an unquoted `\N`). */
export function* csvRows(text: string): Generator<(string | null)[]> {
  let fields: (string | null)[] = [];
  let value = '';
  let raw = ''; // the field as written, to tell `\N` (null) from an escaped `N`
  let quoted = false;
  let started = false; // anything seen on the current row
  const endField = (): void => {
    fields.push(!quoted && raw === '\\N' ? null : value);
    value = '';
    raw = '';
    quoted = false;
  };
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === '"' && raw === '' && !quoted) {
      // A quoted field: up to the closing quote, `""` being one quote.
      quoted = true;
      started = true;
      i += 1;
      for (;;) {
        if (i >= n) throw new CsvError('unterminated quoted field at the end of the file');
        const q = text[i]!;
        if (q === '"') {
          if (text[i + 1] === '"') {
            value += '"';
            i += 2;
            continue;
          }
          i += 1;
          break;
        }
        value += q;
        i += 1;
      }
      raw = '"';
      continue;
    }
    if (c === '\\' && !quoted && i + 1 < n) {
      const next = text[i + 1]!;
      value += next === '\r' && text[i + 2] === '\n' ? '\r\n' : next;
      raw += c + next;
      started = true;
      i += next === '\r' && text[i + 2] === '\n' ? 3 : 2;
      continue;
    }
    if (c === ',') {
      endField();
      started = true;
      i += 1;
      continue;
    }
    if (c === '\n' || (c === '\r' && text[i + 1] === '\n')) {
      endField();
      yield fields;
      fields = [];
      started = false;
      i += c === '\r' ? 2 : 1;
      continue;
    }
    if (quoted) throw new CsvError(`unexpected character after a closing quote: ${JSON.stringify(c)}`);
    value += c;
    raw += c;
    started = true;
    i += 1;
  }
  if (started) {
    endField();
    yield fields;
  }
}

/** Parses a CSV file with a header line into records keyed by column name. */
export function* csvRecords(text: string): Generator<CsvRecord> {
  let header: string[] | undefined;
  let line = 0;
  for (const row of csvRows(text)) {
    line += 1;
    if (header === undefined) {
      header = row.map((name) => (name ?? '').trim());
      continue;
    }
    if (row.length === 1 && row[0] === '') continue; // a blank line
    if (row.length > header.length) throw new CsvError(`record ${line} has ${row.length} fields, the header ${header.length}`);
    const record: CsvRecord = {};
    header.forEach((name, k) => {
      record[name] = k < row.length ? row[k]! : null;
    });
    yield record;
  }
}
