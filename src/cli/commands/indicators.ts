// `financehub indicators --input FILE.csv [--output OUT.csv] [--indicators LIST]`: the
// indicators of src/modules/indicators over a price CSV, without a server or database.
// Reads the whole file (a daily history is a few thousand rows), checks every row first,
// and writes nothing when a row is bad.
import { readFile, writeFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import {
  computeIndicators, DEFAULT_INDICATORS, MAX_ABS_PRICE, MAX_DECIMALS, parseIndicatorList, roundToPlaces, SCALE_DIGITS, type IndicatorBar, type IndicatorSpec,
} from '../../modules/indicators/index.ts';
import { csvCell } from '../../platform/csv.ts';
import { AppError } from '../../platform/errors.ts';
import type { Command, Io } from '../command.ts';

const NAME = 'financehub indicators';
const DECIMAL = /^[+-]?\d+(\.\d+)?$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}/;

interface Row {
  line: number;
  date: string;
  bar: IndicatorBar;
}

/** A problem with the file: the 1-based line it is on (0 for the file as a whole) and why. */
class InputProblem extends Error {
  readonly line: number;

  constructor(line: number, message: string) {
    super(message);
    this.line = line;
  }
}

/** Reads Date/Open/High/Low/Close/Volume (headers in any case; Open and Volume optional) into bars, oldest first. */
export function readPriceCsv(text: string, specs: readonly IndicatorSpec[]): Row[] {
  let records: Array<{ record: string[]; info: { lines: number } }>;
  try {
    records = parse(text, { bom: true, trim: true, skip_empty_lines: true, relax_column_count: false, info: true }) as unknown as typeof records;
  } catch (err) {
    const line = (err as { lines?: number }).lines ?? 0;
    throw new InputProblem(line, `not a valid CSV file: ${(err as Error).message}`);
  }
  const [header, ...data] = records;
  if (header === undefined) throw new InputProblem(0, 'the file is empty (expected a header line Date,Open,High,Low,Close,Volume)');
  const index = new Map(header.record.map((name, i) => [name.toLowerCase(), i]));
  const needHighLow = specs.some((s) => s.name === 'atr');
  const required = ['date', 'close', ...(needHighLow ? ['high', 'low'] : [])];
  const missing = required.filter((name) => !index.has(name));
  if (missing.length > 0) {
    throw new InputProblem(header.info.lines, `missing column(s) ${missing.join(', ')} (expected Date,Open,High,Low,Close,Volume in any case)`);
  }
  const cell = (record: string[], name: string) => {
    const i = index.get(name);
    return i === undefined ? undefined : record[i];
  };
  const rows: Row[] = [];
  let previousDate: string | undefined;
  for (const { record, info } of data) {
    const line = info.lines;
    const date = cell(record, 'date') ?? '';
    if (date === '') throw new InputProblem(line, 'Date is empty');
    if (previousDate !== undefined && ISO_DATE.test(date) && ISO_DATE.test(previousDate) && date <= previousDate) {
      throw new InputProblem(line, `Date ${date} is not after ${previousDate} (rows must be oldest first, one per date)`);
    }
    previousDate = date;
    const bar: IndicatorBar = { date, close: '' };
    for (const field of ['open', 'high', 'low', 'close', 'volume'] as const) {
      const value = cell(record, field);
      if (value === undefined) continue;
      const label = field[0]!.toUpperCase() + field.slice(1);
      if (!DECIMAL.test(value)) throw new InputProblem(line, `${label} "${value.slice(0, 40)}" is not a plain decimal number`);
      bar[field] = value;
    }
    if (bar.high !== undefined && bar.low !== undefined && compareDecimal(bar.high, bar.low) < 0) {
      throw new InputProblem(line, `High ${bar.high} is below Low ${bar.low}`);
    }
    rows.push({ line, date, bar });
  }
  return rows;
}

/** Compares two plain decimal strings exactly (no floats: FAIL-002). */
function compareDecimal(a: string, b: string): number {
  const places = Math.max(a.split('.')[1]?.length ?? 0, b.split('.')[1]?.length ?? 0);
  const scaled = (s: string) => {
    const [int = '0', frac = ''] = s.replace(/^[+-]/, '').split('.');
    const v = BigInt(int + frac.padEnd(places, '0'));
    return s.startsWith('-') ? -v : v;
  };
  const x = scaled(a);
  const y = scaled(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * The output CSV: date, close, then every indicator column; empty where the window is
 * not full. With `places`, each value is rounded half up to exactly that many decimals
 * from its full-precision (30-place) value.
 */
export function indicatorsCsv(rows: readonly Row[], specs: readonly IndicatorSpec[], places?: number): string {
  const columns = computeIndicators(rows.map((r) => r.bar), specs);
  const lines = [['date', 'close', ...columns.map((c) => c.name)].map(csvCell).join(',')];
  rows.forEach((row, i) => {
    const cells = [row.date, row.bar.close];
    for (const column of columns) {
      const value = column.values[i];
      cells.push(value === null || value === undefined ? '' : places === undefined ? value : roundToPlaces(value, places));
    }
    lines.push(cells.map(csvCell).join(','));
  });
  return `${lines.join('\n')}\n`;
}

async function run(values: Record<string, string | boolean | undefined>, io: Io): Promise<number> {
  const input = values.input;
  if (typeof input !== 'string' || input === '') {
    io.err(`${NAME}: --input FILE.csv is required\n\n${usage}`);
    return 2;
  }
  let specs: IndicatorSpec[];
  try {
    specs = parseIndicatorList(typeof values.indicators === 'string' ? values.indicators : undefined);
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    io.err(`${NAME}: --indicators: ${err.detail ?? err.message}`);
    return 2;
  }
  let places: number | undefined;
  if (values.places !== undefined) {
    const raw = String(values.places);
    places = /^\d{1,2}$/.test(raw) ? Number(raw) : Number.NaN;
    if (!(places >= 0 && places <= SCALE_DIGITS)) {
      io.err(`${NAME}: --places must be a whole number from 0 to ${SCALE_DIGITS}, got "${raw.slice(0, 20)}"`);
      return 2;
    }
  }
  let text: string;
  try {
    text = await readFile(input, 'utf8');
  } catch (err) {
    io.err(`${NAME}: cannot read ${input}: ${(err as Error).message}`);
    return 1;
  }
  let csv: string;
  let rows: Row[] = [];
  try {
    rows = readPriceCsv(text, specs);
    csv = indicatorsCsv(rows, specs, places);
  } catch (err) {
    if (err instanceof InputProblem) {
      io.err(`${NAME}: ${input}${err.line > 0 ? `: line ${err.line}` : ''}: ${err.message}`);
      return 1;
    }
    if (err instanceof AppError && err.code === 'invalid_indicator_input') {
      // A price the indicators cannot take (too many places, out of range): name its line.
      const index = err.extra?.index;
      const line = typeof index === 'number' ? rows[index]?.line : undefined;
      const detail = (err.detail ?? err.message).replace(/^Bar \d+: /, '');
      io.err(`${NAME}: ${input}${line === undefined ? '' : `: line ${line}`}: ${detail}`);
      return 1;
    }
    throw err;
  }
  if (typeof values.output === 'string' && values.output !== '') {
    try {
      await writeFile(values.output, csv);
    } catch (err) {
      io.err(`${NAME}: cannot write ${values.output}: ${(err as Error).message}`);
      return 1;
    }
  } else {
    io.out(csv.endsWith('\n') ? csv.slice(0, -1) : csv);
  }
  return 0;
}

const usage = `financehub indicators --input FILE.csv [--output OUT.csv] [--indicators LIST] [--places N]

Computes technical indicators over a daily price file, exactly (decimal arithmetic, see
docs/indicators.md), and writes a CSV: date,close then one column per output.

  --input FILE.csv    columns Date,Open,High,Low,Close,Volume (any case; Open and
                      Volume optional, High and Low needed for atr), oldest first
  --output OUT.csv    where to write; standard output when left out
  --indicators LIST   comma-separated specs, default ${DEFAULT_INDICATORS}
                      sma:N  ema:N  rsi:N  atr:N  macd:FAST:SLOW:SIGNAL  bbands:N:K
                      (periods 1..1000, K a decimal with 0 < K <= 10)
  --places N          round every value half up to exactly N decimals (0..30) from
                      its full-precision value; default: full precision

Output columns are named after the parameters (sma_20, macd_signal_12_26_9,
bb_upper_20_2, atr_14, ...); a cell is empty where the window is not yet full. Values are
plain decimals with up to 30 places. Prices may have at most ${MAX_DECIMALS} decimal places and
must be below ${MAX_ABS_PRICE.toLocaleString('en-US')} in absolute value. A bad row stops the
command with its line number, and nothing is written.`;

export const indicatorsCommand: Command = {
  words: ['indicators'],
  summary: 'compute technical indicators (SMA, EMA, RSI, MACD, Bollinger, ATR) over a price CSV',
  usage,
  options: {
    input: { type: 'string', short: 'i' },
    output: { type: 'string', short: 'o' },
    indicators: { type: 'string' },
    places: { type: 'string' },
  },
  run: ({ values, io }) => run(values, io),
};
