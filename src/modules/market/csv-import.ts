// Price CSV files: columns Date, Open, High, Low, Close, Volume (any case, any order,
// other columns ignored). A date alone (YYYY-MM-DD) makes a daily bar at 00:00 UTC; a
// date and time (ISO 8601, `Z`/offset or UTC when absent) makes a one-minute bar. The
// whole file is checked before anything is written: the first bad row is reported
// with its line number, column and reason, and nothing is stored.
import { parse } from 'csv-parse/sync';
import { AppError } from '../../platform/errors.ts';
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

function parseDate(text: string, line: number): { ts: Date; interval: BarInterval } {
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

/** Parses and checks a whole price CSV; throws AppError 422 at the first bad row. */
export function parsePriceCsv(text: string, onProgress?: (done: number, total: number) => void): ParsedPrices {
  const records = text.includes('"') ? parseQuoted(text) : splitPlain(text);
  const header = records[0];
  if (header === undefined) throw csvRowError(1, 'header', 'the file is empty');
  const names = header.record.map((h) => h.trim().toLowerCase());
  const index = {} as Record<Column, number>;
  for (const column of COLUMNS) {
    const at = names.indexOf(column);
    if (at === -1) throw csvRowError(header.info.lines, column, `the header has no "${column}" column (need Date, Open, High, Low, Close, Volume)`);
    index[column] = at;
  }
  const bars: Bar[] = [];
  const seen = new Set<number>();
  let interval: BarInterval | undefined;
  const total = records.length - 1;
  for (let r = 1; r < records.length; r++) {
    const { record, info } = records[r] as CsvRecord;
    const line = info.lines;
    const cell = (column: Column) => {
      const value = record[index[column]];
      if (value === undefined || value === '') throw csvRowError(line, column, 'is empty');
      return value;
    };
    const { ts, interval: rowInterval } = parseDate(cell('date'), line);
    if (interval === undefined) interval = rowInterval;
    else if (interval !== rowInterval) throw csvRowError(line, 'date', `mixes ${rowInterval === '1d' ? 'dates' : 'dates with times'} with the earlier rows' ${interval === '1d' ? 'dates' : 'times'}`);
    if (seen.has(ts.getTime())) throw csvRowError(line, 'date', `${cell('date')} appears twice`);
    seen.add(ts.getTime());
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
    bars.push(bar);
    if (onProgress !== undefined && r % 1000 === 0) onProgress(r, total);
  }
  if (interval === undefined) throw csvRowError(header.info.lines + 1, 'file', 'the file has a header but no rows');
  onProgress?.(total, total);
  return { interval, bars };
}
