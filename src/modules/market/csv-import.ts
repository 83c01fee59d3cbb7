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

function parseDate(text: string, line: number): { ts: Date; interval: BarInterval } {
  const dateOnly = DATE_ONLY.exec(text);
  if (dateOnly !== null) {
    const [, y, m, d] = dateOnly;
    const ts = new Date(`${y}-${m}-${d}T00:00:00Z`);
    if (Number.isNaN(ts.getTime()) || ts.toISOString().slice(0, 10) !== text) throw csvRowError(line, 'date', `"${text}" is not a calendar date`);
    return { ts, interval: '1d' };
  }
  const dateTime = DATE_TIME.exec(text);
  if (dateTime !== null) {
    const [, y, mo, d, h, mi, s, zone] = dateTime;
    const offset = zone === undefined || zone === 'Z' ? 'Z' : zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone;
    const ts = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s ?? '00'}${offset}`);
    if (Number.isNaN(ts.getTime()) || new Date(`${y}-${mo}-${d}T00:00:00Z`).toISOString().slice(0, 10) !== `${y}-${mo}-${d}`) {
      throw csvRowError(line, 'date', `"${text}" is not a valid date and time`);
    }
    if (ts.getTime() % 60_000 !== 0) throw csvRowError(line, 'date', 'one-minute bars must start on a whole minute');
    return { ts, interval: '1m' };
  }
  throw csvRowError(line, 'date', `"${text.slice(0, 40)}" is neither YYYY-MM-DD nor an ISO 8601 date and time`);
}

/** Compares two unsigned decimal strings exactly (no floats). */
export function compareDecimal(a: string, b: string): number {
  const [ai = '', af = ''] = a.split('.');
  const [bi = '', bf = ''] = b.split('.');
  const aInt = ai.replace(/^0+(?=\d)/, '');
  const bInt = bi.replace(/^0+(?=\d)/, '');
  if (aInt.length !== bInt.length) return aInt.length < bInt.length ? -1 : 1;
  if (aInt !== bInt) return aInt < bInt ? -1 : 1;
  const width = Math.max(af.length, bf.length);
  const aF = af.padEnd(width, '0');
  const bF = bf.padEnd(width, '0');
  return aF === bF ? 0 : aF < bF ? -1 : 1;
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
