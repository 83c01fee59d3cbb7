// Stage 1 and 2 of a CSV import: CSV text → records (csv-parse, streamed, bounded) →
// raw transactions, through a header mapping (the request's own or saved mapping, a
// broker preset, the built-in aliases). Every column must be understood: a column that
// is neither mapped nor explicitly ignored makes the file invalid, so no value (a fee, a
// commission) is ever dropped silently. Numbers are rewritten as plain decimal strings,
// never through a float (FAIL-002). Validation is stage 3 (`validateTransaction`).
import { Readable } from 'node:stream';
import { setImmediate } from 'node:timers/promises';
import { CsvError, parse } from 'csv-parse';
import { Decimal, isDecimalString, toPlain } from '../../money/index.ts';
import { restoreCsvCell } from '../../platform/csv.ts';
import { type AppError, badRequest } from '../../platform/errors.ts';
import { isSymbol } from '../market/symbols.ts';
import {
  DELIMITERS,
  bestDateFormats,
  detectDelimiter,
  parseBrokerDate,
  parseBrokerNumber,
  type DateFormat,
  type DecimalSeparator,
  type DelimiterName,
} from './import.formats.ts';
import { PRESETS, type ImportPreset, type ImportTarget, type PresetName } from './import.presets.ts';
import type { RawTransaction } from './transactions.validation.ts';

/** Most rows one CSV import takes (the body limit bounds it too). */
export const MAX_IMPORT_ROWS = 50_000;

/** What a request (or a saved mapping) says about the file; everything optional. */
export interface CsvImportOptions {
  preset?: PresetName | undefined;
  delimiter?: DelimiterName | undefined;
  dateFormat?: DateFormat | undefined;
  decimal?: DecimalSeparator | undefined;
  /** Header → field, overriding the preset and the aliases. */
  columns?: Readonly<Record<string, ImportTarget>> | undefined;
  /** Headers whose cells are deliberately not imported. */
  ignore?: readonly string[] | undefined;
  /** The portfolio's base currency (rates quoted per base currency are inverted against it). */
  baseCurrency?: string | undefined;
}

/**
 * Header aliases, compared after lower-casing and dropping everything but letters and
 * digits (`Trade Price`, `trade_price` and `TradePrice` are all `tradeprice`).
 */
const HEADER_ALIASES = new Map<string, ImportTarget>(Object.entries({
  date: 'executed_at',
  tradedate: 'executed_at',
  executedat: 'executed_at',
  datetime: 'executed_at',
  time: 'time',
  symbol: 'symbol',
  ticker: 'symbol',
  code: 'symbol',
  type: 'type',
  action: 'type',
  quantity: 'quantity',
  qty: 'quantity',
  shares: 'quantity',
  units: 'quantity',
  price: 'price',
  unitprice: 'price',
  tradeprice: 'price',
  amount: 'amount',
  value: 'amount',
  total: 'amount',
  fee: 'fee',
  fees: 'fee',
  commission: 'fee',
  currency: 'currency',
  ccy: 'currency',
  fxrate: 'fx_rate',
  exchangerate: 'fx_rate',
  note: 'note',
  notes: 'note',
  comment: 'note',
  ratio: 'ratio',
  splitratio: 'ratio',
  rationumerator: 'ratio_numerator',
  numerator: 'ratio_numerator',
  ratiodenominator: 'ratio_denominator',
  denominator: 'ratio_denominator',
}));

/** Broker words for the transaction types (files without a preset). */
const TYPE_ALIASES = new Map<string, string>(Object.entries({
  buy: 'buy',
  bought: 'buy',
  purchase: 'buy',
  sell: 'sell',
  sold: 'sell',
  sale: 'sell',
  dividend: 'dividend',
  dividends: 'dividend',
  div: 'dividend',
  interest: 'interest',
  fee: 'fee',
  fees: 'fee',
  commission: 'fee',
  split: 'split',
  stocksplit: 'split',
  deposit: 'deposit',
  contribution: 'deposit',
  withdrawal: 'withdrawal',
  withdraw: 'withdrawal',
}));

export const normaliseHeader = (header: string) => header.toLowerCase().replace(/[^a-z0-9]/g, '');

export interface RowProblem {
  row: number;
  field: string;
  reason: string;
}

export interface ParsedRow {
  row: number;
  raw: RawTransaction;
  problems: RowProblem[];
  /** A line the preset recognises as not a transaction (a "Transactions Total" line). */
  skipped?: string;
}

/** Records parsed and mapped between two yields to the event loop. */
export const ROWS_PER_TURN = 200;
/** Characters handed to the CSV parser at a time. */
const CSV_CHUNK_CHARS = 4 * 1024;

function* slices(text: string): Generator<string> {
  for (let at = 0; at < text.length; at += CSV_CHUNK_CHARS) yield text.slice(at, at + CSV_CHUNK_CHARS);
}

interface CsvRecord {
  record: string[];
  info: { lines: number };
}

const CSV_PROBLEMS: Record<string, string> = {
  CSV_QUOTE_NOT_CLOSED: 'a quoted field is never closed (an unmatched ")',
  INVALID_OPENING_QUOTE: 'a quote (") appears inside a field that is not quoted',
  CSV_INVALID_CLOSING_QUOTE: 'a quote (") appears inside a field that is not quoted, or a quoted field is followed by other text',
  CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE: 'a quoted field is followed by other text before the delimiter',
  CSV_MAX_RECORD_SIZE: 'a line is longer than 64 KiB',
  CSV_RECORD_INCONSISTENT_FIELDS_LENGTH: 'rows have different numbers of fields',
};

/** A csv-parse error as a problem the user can act on (never csv-parse's own wording). */
function csvProblem(err: CsvError, delimiter: DelimiterName, text: string): AppError {
  const line = (err as CsvError & { lines?: number }).lines;
  const what = CSV_PROBLEMS[err.code] ?? 'the text cannot be read as CSV';
  const likely = detectDelimiter(text);
  const hint =
    likely === delimiter
      ? 'if the file uses another delimiter, send delimiter=comma, semicolon or tab.'
      : `its header looks separated by ${likely}: send delimiter=${likely}.`;
  return badRequest('invalid_csv', `The file is not valid CSV${line === undefined ? '' : ` at line ${line}`}: ${what}. It was read with delimiter=${delimiter}; ${hint}`);
}

/**
 * CSV text → records with their line numbers, through csv-parse's streaming API fed in
 * 4 KiB slices (a parser call never takes more than a few hundred rows at once). Yields
 * to the event loop every ROWS_PER_TURN records, and stops reading as soon as the record
 * count passes `maxRecords`.
 */
async function* csvRecords(text: string, delimiter: DelimiterName, maxRecords: number): AsyncGenerator<CsvRecord> {
  const source = Readable.from(slices(text), { objectMode: false });
  const parser = parse({
    delimiter: DELIMITERS[delimiter],
    info: true,
    bom: true,
    trim: true,
    skip_empty_lines: true,
    relax_column_count: true,
    max_record_size: 64 * 1024,
  });
  // pipe() does not forward a source's errors; an in-memory source has none to give, but
  // should it ever, the parse ends with it rather than an unhandled 'error'.
  source.on('error', (err) => parser.destroy(err));
  source.pipe(parser);
  let count = 0;
  try {
    for await (const entry of parser as AsyncIterable<CsvRecord>) {
      count += 1;
      if (count > maxRecords) throw badRequest('too_many_rows', `At most ${MAX_IMPORT_ROWS} rows per import.`);
      yield entry;
      if (count % ROWS_PER_TURN === 0) await setImmediate();
    }
  } catch (err) {
    if (err instanceof CsvError) throw csvProblem(err, delimiter, text);
    throw err;
  } finally {
    source.destroy();
    parser.destroy();
  }
}

interface ColumnPlan {
  header: string;
  target: ImportTarget | 'ignore' | undefined;
  /** The header cell was empty: the column may stay unmapped as long as its cells are empty. */
  unnamed: boolean;
}

/** How each header column is read: request mapping, request ignore, preset, aliases. */
function planColumns(headers: readonly string[], options: CsvImportOptions, preset: ImportPreset | undefined): ColumnPlan[] {
  const byName = (entries: Iterable<[string, ImportTarget | 'ignore']>) => new Map([...entries].map(([k, v]) => [normaliseHeader(k), v]));
  const requested = byName(Object.entries(options.columns ?? {}));
  const requestIgnored = new Set((options.ignore ?? []).map(normaliseHeader));
  const presetColumns = preset === undefined ? new Map<string, ImportTarget | 'ignore'>() : byName(Object.entries(preset.columns));
  const presetIgnored = new Set((preset?.ignore ?? []).map(normaliseHeader));
  let previous = '';
  return headers.map((raw) => {
    // Unnamed columns (Degiro writes each amount's currency in one) are named after the
    // column before them: "Price (currency)".
    const header = raw === '' ? `${previous} (currency)` : raw;
    if (raw !== '') previous = raw;
    const key = normaliseHeader(header);
    const unnamed = raw === '';
    if (key === '') return { header, target: 'ignore', unnamed };
    const target =
      requested.get(key) ??
      (requestIgnored.has(key) ? 'ignore' : undefined) ??
      presetColumns.get(key) ??
      (presetIgnored.has(key) ? 'ignore' : undefined) ??
      (unnamed ? undefined : HEADER_ALIASES.get(key));
    return { header, target, unnamed };
  });
}

const DATE_HELP = 'yyyy-MM-dd, MM/dd/yyyy, dd/MM/yyyy, dd-MM-yyyy, dd.MM.yyyy or yyyyMMdd';

/**
 * The date format of a file: the request's, the preset's, or the one format that reads
 * the most date cells (all of them, in a well-formed file). Two formats reading the same
 * cells (03/04/2024: March or April?) make the file ambiguous: a 400 asking for
 * `date_format`.
 */
async function chooseDateFormat(samples: readonly string[], options: CsvImportOptions, preset: ImportPreset | undefined): Promise<DateFormat> {
  const fixed = options.dateFormat ?? preset?.dateFormat;
  if (fixed !== undefined) return fixed;
  const { formats, reads, of } = await bestDateFormats(samples);
  const example = samples.find((s) => s.trim() !== '') ?? '';
  if (formats.length > 1) {
    // The one place a guess could be made; it is refused, since 03/04/2024 read the
    // wrong way round is a valid but wrong date on every row.
    throw badRequest(
      'ambiguous_date_format',
      `${reads === of ? 'Every date' : `${reads} of ${of} dates`} in the file (such as "${example.slice(0, 40)}") read in more than one format: ${formats.join(', ')}. Send date_format=<one of them>.`,
    );
  }
  const [format] = formats;
  if (format !== undefined) return format;
  throw badRequest('unknown_date_format', `No date in the file (such as "${example.slice(0, 40)}") is in a supported format: ${DATE_HELP}. Send date_format if it is one of them.`);
}

function integerOrProblem(text: string | undefined, field: string, row: number, problems: RowProblem[]): number | null {
  if (text === undefined || text.trim() === '') return null;
  if (!/^[0-9]{1,7}$/.test(text.trim())) {
    problems.push({ row, field, reason: 'must be a whole number' });
    return null;
  }
  return Number.parseInt(text.trim(), 10);
}

/**
 * Parses CSV text into raw transactions. Throws 400 for a file that is not CSV, for a
 * header of one column that looks separated by another delimiter, for a file whose
 * dates are ambiguous, and for more than MAX_IMPORT_ROWS rows. Unknown columns and bad
 * cells are problems (file-level ones on row 1).
 */
export async function parseTransactionsCsv(text: string, options: CsvImportOptions = {}): Promise<{ rows: ParsedRow[]; fileProblems: RowProblem[] }> {
  const preset = options.preset === undefined ? undefined : PRESETS[options.preset];
  const delimiter = options.delimiter ?? preset?.delimiter ?? detectDelimiter(text);
  const decimal = options.decimal ?? preset?.decimal ?? 'point';
  const headerCell = preset?.headerCell === undefined ? undefined : normaliseHeader(preset.headerCell);
  const fileProblems: RowProblem[] = [];
  let plan: ColumnPlan[] | undefined;
  let headerCells: string[] = [];
  const records: Array<{ cells: string[]; line: number }> = [];
  for await (const { record, info } of csvRecords(text, delimiter, MAX_IMPORT_ROWS + 2)) {
    if (plan === undefined) {
      // The header is the first line with two named columns (with the preset's header
      // cell, when it names one); title lines and tables above it (Schwab, Fidelity,
      // Vanguard's holdings) are not data.
      if (headerCell !== undefined && record.length > 1 && !record.some((cell) => normaliseHeader(cell) === headerCell)) continue;
      if (record.filter((cell) => cell !== '').length < 2) {
        if (record.length === 1 && /[;\t,]/.test(record[0] ?? '')) {
          const other = (['comma', 'semicolon', 'tab'] as const).find((d) => d !== delimiter && (record[0] ?? '').includes(DELIMITERS[d]));
          throw badRequest(
            'invalid_csv',
            `The header line has one column when read with delimiter=${delimiter}` + (other === undefined ? '.' : `; it looks separated by ${other}: send delimiter=${other}.`),
          );
        }
        continue;
      }
      headerCells = record;
      plan = planColumns(record, options, preset);
      continue;
    }
    // A repeated header (IBKR writes one per account section) is not a row.
    if (record.length === headerCells.length && record.every((cell, i) => cell === headerCells[i])) continue;
    if (records.length >= MAX_IMPORT_ROWS) throw badRequest('too_many_rows', `At most ${MAX_IMPORT_ROWS} rows per import.`);
    records.push({ cells: record, line: info.lines });
  }
  if (plan === undefined) {
    fileProblems.push({
      row: 1,
      field: 'executed_at',
      reason: headerCell === undefined ? 'no header line: the file has no line with two named columns' : `no header line: no line has a "${preset?.headerCell ?? ''}" column`,
    });
    return { rows: [], fileProblems };
  }
  for (const column of plan) {
    if (column.target === undefined && !column.unnamed) {
      fileProblems.push({
        row: 1,
        field: column.header,
        reason:
          `unknown column "${column.header}"${preset === undefined ? '' : ` for the ${preset.name} preset`}: map it to a field ` +
          `(columns[${JSON.stringify(column.header)}]=fee, …) or ignore it (ignore=${column.header}); nothing is imported while a column is not understood`,
      });
    }
  }
  const targets = plan.map((c) => c.target);
  if (!targets.includes('executed_at')) fileProblems.push({ row: 1, field: 'executed_at', reason: 'no column for date in the header' });
  if (!targets.includes('type') && preset?.quantitySignIsSide !== true) fileProblems.push({ row: 1, field: 'type', reason: 'no column for type in the header' });

  const dateIndex = targets.indexOf('executed_at');
  const dateSamples = dateIndex < 0 ? [] : records.filter((r) => r.cells.length > 1).map((r) => r.cells[dateIndex] ?? '');
  const dateFormat: DateFormat | readonly DateFormat[] =
    options.dateFormat === undefined && preset?.dateFormats !== undefined
      ? preset.dateFormats
      : dateIndex < 0
        ? 'yyyy-MM-dd'
        : await chooseDateFormat(dateSamples, options, preset);

  const rows: ParsedRow[] = [];
  for (const [index, { cells, line }] of records.entries()) {
    rows.push(mapRecord(plan, cells, line, { preset, decimal, dateFormat, baseCurrency: options.baseCurrency }));
    if (index % ROWS_PER_TURN === ROWS_PER_TURN - 1) await setImmediate();
  }
  return { rows, fileProblems };
}

interface MapContext {
  preset: ImportPreset | undefined;
  decimal: DecimalSeparator;
  /** One format for the file, or (a preset's list) formats tried cell by cell. */
  dateFormat: DateFormat | readonly DateFormat[];
  baseCurrency: string | undefined;
}

const OUTFLOW_TYPES = new Set(['buy', 'fee', 'withdrawal']);
const CASH_TYPES = new Set(['dividend', 'interest', 'fee', 'deposit', 'withdrawal']);
const CENT = new Decimal('0.01');
/** Places of an fx_rate inverted from a rate quoted per base currency (1 ÷ 1.0856). */
const INVERTED_RATE_PLACES = 10;

function resolveType(text: string, preset: ImportPreset | undefined): string | undefined {
  if (preset !== undefined && preset.actions.length > 0) {
    for (const [pattern, type] of preset.actions) if (pattern.test(text)) return type;
    return undefined;
  }
  return TYPE_ALIASES.get(normaliseHeader(text));
}

/** Stage 2, mapping: one record's cells, by header column, into a RawTransaction. */
function mapRecord(plan: readonly ColumnPlan[], cells: readonly string[], row: number, context: MapContext): ParsedRow {
  const { preset } = context;
  const problems: RowProblem[] = [];
  if (cells.length !== plan.length) {
    // A one-cell line (a footer or disclaimer under a broker's rows) is not a transaction.
    if (preset !== undefined && cells.filter((c) => c !== '').length <= 1) return { row, raw: {}, problems, skipped: 'not a transaction line' };
    problems.push({ row, field: 'row', reason: `has ${cells.length} fields; the header has ${plan.length}` });
    return { row, raw: {}, problems };
  }
  const record = new Map<ImportTarget, string>();
  const fees: Array<{ header: string; text: string }> = [];
  if (preset?.skipLines?.test(cells[0] ?? '') === true) return { row, raw: {}, problems, skipped: `${cells[0] ?? ''} line` };
  plan.forEach((column, index) => {
    const cellText = cells[index];
    if (cellText === undefined || cellText === '' || preset?.blanks?.includes(cellText) === true) return;
    // A cell a spreadsheet would run as a formula is written with a leading quote
    // (csvCell); that quote is taken off again, so an export reads back unchanged.
    const value = restoreCsvCell(cellText);
    if (column.target === undefined) {
      // A named unknown column is a file problem already (row 1); an unnamed one is
      // allowed while empty, so a value in it is this row's problem.
      if (!column.unnamed) return;
      problems.push({ row, field: column.header, reason: `"${value.slice(0, 40)}" is in a column without a header; map or ignore "${column.header}"` });
      return;
    }
    if (column.target === 'ignore') return;
    if (column.target === 'fee') fees.push({ header: column.header, text: value });
    else if (!record.has(column.target)) record.set(column.target, value);
  });
  const cell = (target: ImportTarget): string | undefined => record.get(target);
  const number = (target: ImportTarget, text: string | undefined = cell(target)): string | undefined => {
    if (text === undefined) return undefined;
    const plain = parseBrokerNumber(text, context.decimal);
    if (plain === null) {
      problems.push({ row, field: target, reason: `"${text.slice(0, 40)}" is not a number (${context.decimal === 'point' ? '1,234.56' : '1.234,56'} style)` });
      return undefined;
    }
    return plain;
  };

  // Type: the action text, or (IBKR, Degiro) the sign of the quantity.
  let quantity = number('quantity');
  const typeText = cell('type');
  let type = typeText === undefined ? undefined : resolveType(typeText, preset);
  if (typeText !== undefined && type === undefined) {
    if (preset === undefined) type = typeText;
    else problems.push({ row, field: 'type', reason: `"${typeText.slice(0, 60)}" is not an action the ${preset.name} preset imports` });
  }
  if (preset?.quantitySignIsSide === true && quantity !== undefined) {
    const side = quantity.startsWith('-') ? 'sell' : 'buy';
    if (type === undefined && typeText === undefined) type = side;
    else if ((type === 'buy' || type === 'sell') && type !== side) problems.push({ row, field: 'quantity', reason: `the sign of ${quantity} contradicts ${type}` });
  }
  if (quantity !== undefined && type === 'sell' && quantity.startsWith('-')) quantity = quantity.slice(1);
  if (quantity !== undefined && type === 'buy' && preset?.quantitySignIsSide === true) quantity = quantity.replace(/^-/, '');

  // Fees: every fee column adds up; brokers sign them as outflows either way.
  let fee: Decimal | undefined;
  for (const f of fees) {
    const plain = number('fee', f.text);
    if (plain !== undefined) fee = (fee ?? new Decimal(0)).plus(new Decimal(plain).abs());
  }

  let amount = number('amount');
  // A cash transfer whose direction is the amount's sign (Schwab's "MoneyLink Transfer").
  if (type === 'transfer' && amount !== undefined) type = amount.startsWith('-') ? 'withdrawal' : 'deposit';
  if (amount !== undefined && type !== undefined && amount.startsWith('-')) {
    if (OUTFLOW_TYPES.has(type)) amount = amount.slice(1);
    else if (CASH_TYPES.has(type) || type === 'sell') problems.push({ row, field: 'amount', reason: `must not be negative for ${type}` });
  }
  let price = number('price');
  let fxRate = number('fx_rate');
  const inverse = number('fx_rate_inverse');

  let currency = cell('currency')?.toUpperCase();
  const foreign = currency !== undefined && context.baseCurrency !== undefined && currency !== context.baseCurrency;
  // A rate quoted as transaction currency per base currency (T212, Degiro) is inverted,
  // rounded half-up at 10 places; fees those brokers charge in the base currency are
  // converted to the transaction currency by multiplying, which is exact.
  let inverseRate: Decimal | undefined;
  if (inverse !== undefined && isDecimalString(inverse) && foreign) {
    inverseRate = new Decimal(inverse);
    if (!inverseRate.gt(0)) problems.push({ row, field: 'fx_rate_inverse', reason: 'must be greater than 0' });
    else if (fxRate === undefined) fxRate = toPlain(new Decimal(1).div(inverseRate).toDecimalPlaces(INVERTED_RATE_PLACES, Decimal.ROUND_HALF_UP));
  }
  const feeBase = fee;
  if (fee !== undefined && foreign && preset?.feeInBaseCurrency === true && inverseRate !== undefined && inverseRate.gt(0)) fee = fee.times(inverseRate);
  if (!foreign && currency !== undefined && inverse !== undefined && isDecimalString(inverse) && !new Decimal(inverse).eq(1) && context.baseCurrency !== undefined) {
    problems.push({ row, field: 'fx_rate_inverse', reason: `must be 1 for a trade in the base currency ${context.baseCurrency}` });
  }

  // A total on a trade is checked, not stored: quantity × price + fee for a buy,
  // − fee for a sell, within a cent.
  if ((type === 'buy' || type === 'sell') && amount !== undefined) {
    if (quantity !== undefined && price !== undefined && isDecimalString(quantity) && isDecimalString(price) && isDecimalString(amount)) {
      const gross = new Decimal(quantity).times(new Decimal(price));
      let expected: Decimal;
      let feeText = '';
      if (preset?.totalInBaseCurrency === true && foreign && inverseRate !== undefined && inverseRate.gt(0)) {
        const base = feeBase ?? new Decimal(0);
        expected = type === 'buy' ? gross.div(inverseRate).plus(base) : gross.div(inverseRate).minus(base);
        feeText = ` (in ${context.baseCurrency ?? 'the base currency'}, at the file's exchange rate ${inverse ?? ''})`;
      } else {
        const f = fee ?? new Decimal(0);
        expected = type === 'buy' ? gross.plus(f) : gross.minus(f);
      }
      const total = new Decimal(amount);
      if (total.minus(expected).abs().gt(CENT)) {
        problems.push({
          row,
          field: 'amount',
          reason: `the total ${amount} differs from quantity × price ${type === 'buy' ? '+' : '−'} fee = ${toPlain(expected.toDecimalPlaces(8, Decimal.ROUND_HALF_UP))}${feeText} by more than 0.01`,
        });
      }
    }
    amount = undefined;
  }

  let symbol = cell('symbol');
  let note = cell('note');
  if (type !== undefined && CASH_TYPES.has(type) && preset?.totalInBaseCurrency === true && amount !== undefined && context.baseCurrency !== undefined) {
    // The total of a cash row (Trading 212's dividend, net of withholding) is what reached
    // the account, in the account's currency, whatever currency the share price is in.
    currency = context.baseCurrency;
    fxRate = undefined;
  }
  if (type !== undefined && CASH_TYPES.has(type)) {
    // Cash rows: Ghostfolio writes a dividend as quantity × price and a fee in Fee with
    // quantity and price 0; the amount column, when present, wins.
    if (amount === undefined && quantity !== undefined && price !== undefined && isDecimalString(quantity) && isDecimalString(price)) {
      const product = new Decimal(quantity).times(new Decimal(price)).abs();
      if (product.gt(0)) amount = toPlain(product);
      else if (type === 'fee' && fee !== undefined && fee.gt(0)) {
        amount = toPlain(fee);
        fee = undefined;
      }
    }
    quantity = undefined;
    price = undefined;
    if (preset !== undefined && symbol !== undefined) {
      if (preset.cashSymbol?.test(symbol) === true) {
        if (currency === undefined) currency = symbol.slice(-3);
        symbol = undefined;
      } else if (!isSymbol(symbol.toUpperCase()) || type === 'deposit' || type === 'withdrawal') {
        // A name where a ticker would be (Ghostfolio's manual "Account Opening Fee").
        note = note === undefined ? symbol : `${symbol}: ${note}`;
        symbol = undefined;
      }
    }
  }

  let ratioNumerator = integerOrProblem(cell('ratio_numerator'), 'ratio_numerator', row, problems);
  let ratioDenominator = integerOrProblem(cell('ratio_denominator'), 'ratio_denominator', row, problems);
  const ratio = cell('ratio');
  if (ratio !== undefined) {
    // "2:1", "2/1" or "2-for-1": new shares for old.
    const match = /^\s*([0-9]{1,7})\s*(?::|\/|-for-|for)\s*([0-9]{1,7})\s*$/i.exec(ratio);
    if (match === null) problems.push({ row, field: 'ratio', reason: 'must look like 2:1 (new shares : old shares)' });
    else {
      ratioNumerator = Number.parseInt(match[1] ?? '', 10);
      ratioDenominator = Number.parseInt(match[2] ?? '', 10);
    }
  }

  let executedAt = cell('executed_at');
  if (executedAt !== undefined) {
    const time = cell('time');
    const text = time === undefined ? executedAt : `${executedAt.trim()} ${time.trim()}`;
    const formats = typeof context.dateFormat === 'string' ? [context.dateFormat] : context.dateFormat;
    let parsed: string | null = null;
    for (const format of formats) {
      parsed = parseBrokerDate(text, format);
      if (parsed !== null) break;
    }
    if (parsed === null) {
      problems.push({ row, field: 'executed_at', reason: `"${executedAt.slice(0, 40)}" is not a date in the file's format ${formats.join(' or ')}` });
      executedAt = undefined;
    } else executedAt = parsed;
  }
  return {
    row,
    problems,
    raw: {
      type,
      symbol,
      quantity,
      price,
      amount,
      fee: fee === undefined ? undefined : toPlain(fee),
      currency,
      fx_rate: fxRate,
      ratio_numerator: ratioNumerator,
      ratio_denominator: ratioDenominator,
      executed_at: executedAt,
      note,
    },
  };
}
