import { describe, expect, it } from '@jest/globals';
import { csvRecords, csvRows, CsvError } from '../../src/util/csv.js';

const rows = (text: string) => [...csvRows(text)];

describe('csv reader', () => {
  it('splits plain fields and lines, with or without a final line break, LF or CRLF', () => {
    expect(rows('a,b\n1,2\n')).toEqual([['a', 'b'], ['1', '2']]);
    expect(rows('a,b\r\n1,2')).toEqual([['a', 'b'], ['1', '2']]);
    expect(rows('a,,c\n')).toEqual([['a', '', 'c']]);
  });

  it('reads quoted fields with commas, escaped quotes and line breaks', () => {
    expect(rows('"x,y","say ""hi""","two\nlines"\n')).toEqual([['x,y', 'say "hi"', 'two\nlines']]);
    expect(rows('""\n')).toEqual([['']]);
  });

  it('reads backslash escapes (a Snowflake unload) and \\N as null, but a quoted "\\N" as text', () => {
    expect(rows('a\\,b,c\\\\d,e\\\nf\n')).toEqual([['a,b', 'c\\d', 'e\nf']]);
    expect(rows('\\N,"\\N",x\\N\n')).toEqual([[null, '\\N', 'xN']]);
  });

  it('rejects an unterminated quote and text after a closing quote', () => {
    expect(() => rows('"open\n')).toThrow(CsvError);
    expect(() => rows('"a"b\n')).toThrow(CsvError);
  });

  it('keys records by header name, whatever the column order', () => {
    expect([...csvRecords('B,A\n2,1\n\\N,3\n')]).toEqual([
      { B: '2', A: '1' },
      { B: null, A: '3' },
    ]);
  });

  it('rejects a record with more fields than the header, and reads missing trailing fields as null', () => {
    expect(() => [...csvRecords('A\n1,2\n')]).toThrow(/record 2 has 2 fields/);
    expect([...csvRecords('A,B\n1\n')]).toEqual([{ A: '1', B: null }]);
  });
});
