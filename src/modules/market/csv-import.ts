// Price CSV files: columns Date, Open, High, Low, Close, Volume (any case, any order,
// other columns ignored). A date alone (YYYY-MM-DD) makes a daily bar at 00:00 UTC; a
// date and time (ISO 8601, `Z`/offset or UTC when absent) makes a one-minute bar. The
// whole file is checked before anything is written: the first bad row is reported
// with its line number, column and reason, and nothing is stored.
import type { Readable } from 'node:stream';
import { parse as createParser } from 'csv-parse';
import { parse } from 'csv-parse/sync';
import { AppError } from '../../platform/errors.ts';
import { DATE_WINDOW_MESSAGE, isWithinDateWindow } from '../../platform/http/input.ts';
import type { Bar, BarInterval } from './providers/provider.ts';

const COLUMNS = ['date', 'open', 'high', 'low', 'close', 'volume'] as const;
type Column = (typeof COLUMNS)[number];

const UNSIGNED_DECIMAL = /^[0-9]{1,20}(\.[0-9]{1,12})?$/;
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.0+)?(Z|[+-]\d{2}:?\d{2})?$/;

export interface ParsedPrices {
  interval: BarInterval;
  bars: Bar[];
}

export function csvRowError(line: number, column: string, reason: string): AppError {
  return new AppError(422, 'invalid_csv_row', 'Unprocessable content', {
    detail: `line ${line}, ${column}: ${reason}; nothing was imported`,
    errors: [{ field: `line ${line}: ${column}`, message: reason }],
    extra: { line, column },
  });
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Calendar-checked UTC midnight of y-m-d, or NaN. */
function utcDay(y: string, m: string, d: string): number {
  const year = Number.parseInt(y, 10);
  const month = Number.parseInt(m, 10);
  const day = Number.parseInt(d, 10);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return Number.NaN;
  return Date.UTC(year, month - 1, day);
}

function parseDate(text: string, line: number, now: Date): { ts: Date; interval: BarInterval } {
  const parsed = parseDateUnbounded(text, line);
  // Date.UTC reads years 0–99 as 1900–1999, so the year is checked as written too.
  if (Number.parseInt(text.slice(0, 4), 10) < 1900 || !isWithinDateWindow(parsed.ts, now)) throw csvRowError(line, 'date', `${text.slice(0, 40)} ${DATE_WINDOW_MESSAGE}`);
  return parsed;
}

function parseDateUnbounded(text: string, line: number): { ts: Date; interval: BarInterval } {
  const dateOnly = DATE_ONLY.exec(text);
  if (dateOnly !== null) {
    const ms = utcDay(dateOnly[1] ?? '', dateOnly[2] ?? '', dateOnly[3] ?? '');
    if (Number.isNaN(ms)) throw csvRowError(line, 'date', `"${text}" is not a calendar date`);
    return { ts: new Date(ms), interval: '1d' };
  }
  const dateTime = DATE_TIME.exec(text);
  if (dateTime !== null) {
    const [, y = '', mo = '', d = '', h = '', mi = '', s, zone] = dateTime;
    const day = utcDay(y, mo, d);
    const hours = Number.parseInt(h, 10);
    const minutes = Number.parseInt(mi, 10);
    const seconds = s === undefined ? 0 : Number.parseInt(s, 10);
    if (Number.isNaN(day) || hours > 23 || minutes > 59 || seconds > 59) throw csvRowError(line, 'date', `"${text}" is not a valid date and time`);
    let offsetMinutes = 0;
    if (zone !== undefined && zone !== 'Z') {
      const digits = zone.replace(':', '');
      offsetMinutes = (zone.startsWith('-') ? -1 : 1) * (Number.parseInt(digits.slice(1, 3), 10) * 60 + Number.parseInt(digits.slice(3, 5), 10));
    }
    if (seconds !== 0) throw csvRowError(line, 'date', 'one-minute bars must start on a whole minute');
    return { ts: new Date(day + (hours * 60 + minutes - offsetMinutes) * 60_000), interval: '1m' };
  }
  throw csvRowError(line, 'date', `"${text.slice(0, 40)}" is neither YYYY-MM-DD nor an ISO 8601 date and time`);
}

/** Index of the first significant digit of the integer part [0, end). */
function firstSignificant(text: string, end: number): number {
  let i = 0;
  while (i < end - 1 && text.charCodeAt(i) === 48) i++;
  return i;
}

/**
 * Compares two unsigned decimal strings (already matched by UNSIGNED_DECIMAL) exactly,
 * without floats or allocations: integer parts by length then digits, then fractions
 * digit by digit with missing digits read as 0.
 */
export function compareDecimal(a: string, b: string): number {
  const aDot = a.indexOf('.');
  const bDot = b.indexOf('.');
  const aEnd = aDot === -1 ? a.length : aDot;
  const bEnd = bDot === -1 ? b.length : bDot;
  const aStart = firstSignificant(a, aEnd);
  const bStart = firstSignificant(b, bEnd);
  const aLen = aEnd - aStart;
  const bLen = bEnd - bStart;
  if (aLen !== bLen) return aLen < bLen ? -1 : 1;
  for (let i = 0; i < aLen; i++) {
    const diff = a.charCodeAt(aStart + i) - b.charCodeAt(bStart + i);
    if (diff !== 0) return diff < 0 ? -1 : 1;
  }
  const aFrac = aDot === -1 ? 0 : a.length - aDot - 1;
  const bFrac = bDot === -1 ? 0 : b.length - bDot - 1;
  for (let i = 0; i < Math.max(aFrac, bFrac); i++) {
    const da = i < aFrac ? a.charCodeAt(aDot + 1 + i) : 48;
    const db = i < bFrac ? b.charCodeAt(bDot + 1 + i) : 48;
    if (da !== db) return da < db ? -1 : 1;
  }
  return 0;
}

type CsvRecord = { record: string[]; info: { lines: number } };

/**
 * Files without quotes (what exports from brokers and data vendors usually are) are
 * split directly, several times faster than the general parser; anything quoted goes
 * through csv-parse. Both give each record with its physical line number.
 */
function splitPlain(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  const lines = (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.trim() === '') continue;
    records.push({ record: line.split(',').map((cell) => cell.trim()), info: { lines: i + 1 } });
  }
  return records;
}

function parseQuoted(text: string): CsvRecord[] {
  try {
    return parse(text, { bom: true, trim: true, skip_empty_lines: true, relax_column_count: true, info: true }) as unknown as CsvRecord[];
  } catch (err) {
    const line = typeof (err as { lines?: unknown }).lines === 'number' ? (err as { lines: number }).lines : 0;
    throw csvRowError(line, 'file', `not a readable CSV file (${(err as Error).message.slice(0, 120)})`);
  }
}

/**
 * Checks rows against a header: the columns are found once, then every row becomes a
 * Bar or a 422 naming its line and column. All rows of one file must share an interval.
 */
export function createPriceRowChecker(header: readonly string[], headerLine: number, now: Date) {
  const names = header.map((h) => h.trim().toLowerCase());
  const index = {} as Record<Column, number>;
  for (const column of COLUMNS) {
    const at = names.indexOf(column);
    if (at === -1) throw csvRowError(headerLine, column, `the header has no "${column}" column (need Date, Open, High, Low, Close, Volume)`);
    index[column] = at;
  }
  let interval: BarInterval | undefined;
  return {
    get interval(): BarInterval | undefined {
      return interval;
    },
    /** The date cell as written (for messages). */
    dateText: (record: readonly string[]): string => record[index.date] ?? '',
    row(record: readonly string[], line: number): Bar {
      const cell = (column: Column) => {
        const value = record[index[column]];
        if (value === undefined || value === '') throw csvRowError(line, column, 'is empty');
        return value;
      };
      const { ts, interval: rowInterval } = parseDate(cell('date'), line, now);
      if (interval === undefined) interval = rowInterval;
      else if (interval !== rowInterval) throw csvRowError(line, 'date', `mixes ${rowInterval === '1d' ? 'dates' : 'dates with times'} with the earlier rows' ${interval === '1d' ? 'dates' : 'times'}`);
      const value = (column: Exclude<Column, 'date'>) => {
        const text = cell(column);
        if (!UNSIGNED_DECIMAL.test(text)) throw csvRowError(line, column, `"${text.slice(0, 40)}" is not a non-negative decimal number such as 101.25`);
        return text;
      };
      const bar: Bar = { ts, open: value('open'), high: value('high'), low: value('low'), close: value('close'), volume: value('volume') };
      if (compareDecimal(bar.low, bar.high) > 0) throw csvRowError(line, 'low', `low ${bar.low} is above high ${bar.high}`);
      for (const column of ['open', 'close'] as const) {
        if (compareDecimal(bar[column], bar.high) > 0) throw csvRowError(line, column, `${column} ${bar[column]} is above high ${bar.high}`);
        if (compareDecimal(bar[column], bar.low) < 0) throw csvRowError(line, column, `${column} ${bar[column]} is below low ${bar.low}`);
      }
      return bar;
    },
  };
}

/** Parses and checks a whole price CSV; throws AppError 422 at the first bad row. */
export function parsePriceCsv(text: string, onProgress?: (done: number, total: number) => void, now: Date = new Date()): ParsedPrices {
  const records = text.includes('"') ? parseQuoted(text) : splitPlain(text);
  const header = records[0];
  if (header === undefined) throw csvRowError(1, 'header', 'the file is empty');
  const checker = createPriceRowChecker(header.record, header.info.lines, now);
  const bars: Bar[] = [];
  const seen = new Set<number>();
  const total = records.length - 1;
  for (let r = 1; r < records.length; r++) {
    const { record, info } = records[r] as CsvRecord;
    const bar = checker.row(record, info.lines);
    if (seen.has(bar.ts.getTime())) throw csvRowError(info.lines, 'date', `${checker.dateText(record)} appears twice`);
    seen.add(bar.ts.getTime());
    bars.push(bar);
    if (onProgress !== undefined && r % 1000 === 0) onProgress(r, total);
  }
  const interval = checker.interval;
  if (interval === undefined) throw csvRowError(header.info.lines + 1, 'file', 'the file has a header but no rows');
  onProgress?.(total, total);
  return { interval, bars };
}

function csvRowFailure(): never {
  throw new Error('a remembering scan always returns a summary');
}

/** What a check of a streamed file found: enough to plan the write without holding the rows. */
export interface PriceFileSummary {
  interval: BarInterval;
  rows: number;
  first: Date;
  last: Date;
}

/** Timestamps remembered to catch duplicates in a file whose rows are not in time order. */
export const UNSORTED_ROW_LIMIT = 2_000_000;

/**
 * Reads a price CSV from a stream, one record at a time (csv-parse's streaming parser),
 * so a file of any length is read in bounded memory. `check` validates every row
 * exactly as parsePriceCsv does and summarises the file; `bars` reads it again (after a
 * successful check) and yields its bars in batches. Duplicates are caught in O(1) memory
 * when rows come in time order, as exports do; an unordered file is checked with a set
 * of timestamps, up to UNSORTED_ROW_LIMIT rows.
 */
export function streamedPriceCsv(open: () => Readable, now: Date = new Date()) {
  /** Whether any byte of the file is a double quote: only then is the general parser needed. */
  let quoted: Promise<boolean> | undefined;
  const hasQuotes = async (): Promise<boolean> => {
    for await (const chunk of open()) if ((chunk as Buffer).includes(0x22)) return true;
    return false;
  };

  /** Unquoted files are split line by line, several times faster than the general parser. */
  async function* plainRecords(): AsyncGenerator<CsvRecord> {
    let rest = '';
    let line = 0;
    const stream = open();
    stream.setEncoding('utf8');
    for await (const chunk of stream) {
      const text = rest + (chunk as string);
      const lines = text.split('\n');
      rest = lines.pop() ?? '';
      for (const raw of lines) {
        line++;
        const value = line === 1 && raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
        if (value.trim() !== '') yield { record: value.split(',').map((cell) => cell.trim()), info: { lines: line } };
      }
    }
    line++;
    if (rest.trim() !== '') yield { record: (line === 1 && rest.charCodeAt(0) === 0xfeff ? rest.slice(1) : rest).split(',').map((cell) => cell.trim()), info: { lines: line } };
  }

  async function* quotedRecords(): AsyncGenerator<CsvRecord> {
    const source = open();
    const parser = createParser({ bom: true, trim: true, skip_empty_lines: true, relax_column_count: true, info: true });
    // pipe() does not forward a source's errors: a file that fails mid-read (EIO, a
    // vanished network mount) would be an unhandled 'error'. It ends the parse instead.
    source.on('error', (err) => parser.destroy(err));
    source.pipe(parser);
    try {
      for await (const item of parser) yield item as CsvRecord;
    } catch (err) {
      if (err instanceof AppError) throw err;
      const line = typeof (err as { lines?: unknown }).lines === 'number' ? (err as { lines: number }).lines : 0;
      throw csvRowError(line, 'file', `not a readable CSV file (${(err as Error).message.slice(0, 120)})`);
    } finally {
      source.destroy(); // also when the reader stops early (a bad row, an unordered file)
    }
  }

  async function* records(): AsyncGenerator<CsvRecord> {
    quoted ??= hasQuotes();
    yield* (await quoted) ? quotedRecords() : plainRecords();
  }

  /** Every row checked, as [bar, line]; the header is the first record. */
  async function* rows(): AsyncGenerator<{ bar: Bar; line: number; interval: BarInterval }> {
    let checker: ReturnType<typeof createPriceRowChecker> | undefined;
    let headerLine = 1;
    for await (const { record, info } of records()) {
      if (checker === undefined) {
        checker = createPriceRowChecker(record, info.lines, now);
        headerLine = info.lines;
        continue;
      }
      const bar = checker.row(record, info.lines);
      yield { bar, line: info.lines, interval: checker.interval ?? '1d' };
    }
    if (checker === undefined) throw csvRowError(1, 'header', 'the file is empty');
    if (checker.interval === undefined) throw csvRowError(headerLine + 1, 'file', 'the file has a header but no rows');
  }

  /** One pass; null when the rows turn out not to be in time order and `remember` is off. */
  const scan = async (remember: boolean, onProgress?: (done: number) => void): Promise<PriceFileSummary | null> => {
    const seen = remember ? new Set<number>() : undefined;
    let previous = Number.NEGATIVE_INFINITY;
    let first = Number.POSITIVE_INFINITY;
    let last = Number.NEGATIVE_INFINITY;
    let count = 0;
    let interval: BarInterval = '1d';
    for await (const { bar, line, interval: rowInterval } of rows()) {
      const t = bar.ts.getTime();
      if (seen !== undefined) {
        if (seen.has(t)) throw csvRowError(line, 'date', `${bar.ts.toISOString().replace('T00:00:00.000Z', '')} appears twice`);
        if (seen.size >= UNSORTED_ROW_LIMIT) throw csvRowError(line, 'file', `the rows are not in time order and there are more than ${UNSORTED_ROW_LIMIT} of them: sort the file by date first`);
        seen.add(t);
      } else if (t <= previous) {
        return null;
      }
      previous = t;
      interval = rowInterval;
      count++;
      if (t < first) first = t;
      if (t > last) last = t;
      if (onProgress !== undefined && count % 10_000 === 0) onProgress(count);
    }
    onProgress?.(count);
    return { interval, rows: count, first: new Date(first), last: new Date(last) };
  };

  return {
    /** Checks every row (422 at the first bad one) and summarises the file; nothing is kept. */
    async check(onProgress?: (done: number) => void): Promise<PriceFileSummary> {
      return (await scan(false, onProgress)) ?? (await scan(true, onProgress)) ?? csvRowFailure();
    },
    async *bars(batchSize: number): AsyncGenerator<Bar[]> {
      let batch: Bar[] = [];
      for await (const { bar } of rows()) {
        batch.push(bar);
        if (batch.length >= batchSize) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length > 0) yield batch;
    },
  };
}
