// The shapes broker exports write values in: delimiters, date formats and
// currency-formatted numbers. Every number is turned into a plain decimal string by
// rewriting its text (dropping symbols and grouping, moving the sign), never through a
// float, so "$1,120.24" is exactly "1120.24" (FAIL-002).

import { setImmediate } from 'node:timers/promises';

/** Field delimiters the importer detects; a request can name one instead. */
export const DELIMITERS = { comma: ',', semicolon: ';', tab: '\t' } as const;
export type DelimiterName = keyof typeof DELIMITERS;

/** Date formats the importer detects; a request can name one instead. */
export const DATE_FORMATS = ['yyyy-MM-dd', 'MM/dd/yyyy', 'dd/MM/yyyy', 'dd-MM-yyyy', 'dd.MM.yyyy', 'yyyyMMdd'] as const;
export type DateFormat = (typeof DATE_FORMATS)[number];

/** Decimal separators: `point` writes 1,234.56; `comma` writes 1.234,56 (European exports). */
export type DecimalSeparator = 'point' | 'comma';

/**
 * The delimiter of a CSV text, judged on its first non-empty line outside quotes: the
 * candidate that occurs most often there. A header with none of them (one column) is
 * comma. Ties go to comma, then semicolon.
 */
export function detectDelimiter(text: string): DelimiterName {
  const start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = '';
  for (const candidate of text.slice(start, start + 64 * 1024).split(/\r?\n/)) {
    if (candidate.trim() !== '') {
      line = candidate;
      break;
    }
  }
  const counts: Record<DelimiterName, number> = { comma: 0, semicolon: 0, tab: 0 };
  let quoted = false;
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted) {
      if (ch === ',') counts.comma += 1;
      else if (ch === ';') counts.semicolon += 1;
      else if (ch === '\t') counts.tab += 1;
    }
  }
  let best: DelimiterName = 'comma';
  for (const name of ['semicolon', 'tab'] as const) if (counts[name] > counts[best]) best = name;
  return best;
}

const DATE_SHAPES: Record<DateFormat, RegExp> = {
  'yyyy-MM-dd': /^(?<y>[0-9]{4})-(?<m>[0-9]{1,2})-(?<d>[0-9]{1,2})(?<rest>[T ].*)?$/,
  'MM/dd/yyyy': /^(?<m>[0-9]{1,2})\/(?<d>[0-9]{1,2})\/(?<y>[0-9]{4})(?<rest> .*)?$/,
  'dd/MM/yyyy': /^(?<d>[0-9]{1,2})\/(?<m>[0-9]{1,2})\/(?<y>[0-9]{4})(?<rest> .*)?$/,
  'dd-MM-yyyy': /^(?<d>[0-9]{1,2})-(?<m>[0-9]{1,2})-(?<y>[0-9]{4})(?<rest> .*)?$/,
  'dd.MM.yyyy': /^(?<d>[0-9]{1,2})\.(?<m>[0-9]{1,2})\.(?<y>[0-9]{4})(?<rest> .*)?$/,
  yyyyMMdd: /^(?<y>[0-9]{4})(?<m>[0-9]{2})(?<d>[0-9]{2})(?<rest>[;, ].*)?$/,
};

const TIME = /^[T ]?(?<h>[0-9]{2}):(?<mi>[0-9]{2})(?::(?<s>[0-9]{2})(?<f>\.[0-9]{1,9})?)?(?<z>Z|[+-][0-9]{2}:?[0-9]{2})?$/;

const pad = (text: string) => text.padStart(2, '0');

function isCalendarDate(y: string, m: string, d: string): boolean {
  const month = Number.parseInt(m, 10);
  const day = Number.parseInt(d, 10);
  if (month < 1 || month > 12 || day < 1) return false;
  const date = new Date(Date.UTC(Number.parseInt(y, 10), month - 1, day));
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/**
 * A broker date in `format` as the API's ISO form: `yyyy-MM-dd`, or a date-time when the
 * cell carries a time (a time without a zone is taken as UTC). Text after the date that
 * is not a time is dropped only for Schwab's "03/01/2024 as of 02/29/2024" (the first
 * date is the one the cash moved on) and IBKR's "20240301;093000". Null when the cell is
 * not a date in that format.
 */
export function parseBrokerDate(text: string, format: DateFormat): string | null {
  const match = DATE_SHAPES[format].exec(text.trim());
  const g = match?.groups;
  if (g === undefined || g.y === undefined || g.m === undefined || g.d === undefined) return null;
  if (!isCalendarDate(g.y, g.m, g.d)) return null;
  const date = `${g.y}-${pad(g.m)}-${pad(g.d)}`;
  const rest = g.rest ?? '';
  if (rest === '') return date;
  const time = TIME.exec(rest)?.groups;
  if (time === undefined || time.h === undefined || time.mi === undefined) {
    // Schwab's "as of …" and IBKR's ";hhmmss"; any other trailing text (a malformed time
    // among it) means the cell is not a date.
    return /^ as of /i.test(rest) || /^[;,][0-9]{6}$/.test(rest) ? date : null;
  }
  if (Number.parseInt(time.h, 10) > 23 || Number.parseInt(time.mi, 10) > 59 || (time.s !== undefined && Number.parseInt(time.s, 10) > 59)) return null;
  const zone = time.z === undefined ? 'Z' : time.z.length === 5 ? `${time.z.slice(0, 3)}:${time.z.slice(3)}` : time.z;
  return `${date}T${time.h}:${time.mi}:${time.s ?? '00'}${time.f ?? ''}${zone}`;
}

/**
 * The formats reading the most of `samples` (empty cells aside), and how many they read.
 * One format: that is the file's (the cells it cannot read are reported row by row).
 * Several: the file is ambiguous (03/04/2024 is March or April) and the request must
 * name one. None (`reads` 0): no date is in a supported format.
 */
export async function bestDateFormats(samples: readonly string[]): Promise<{ formats: DateFormat[]; reads: number; of: number }> {
  const counts = DATE_FORMATS.map(() => 0);
  let of = 0;
  for (const [index, sample] of samples.entries()) {
    // Every cell is read in every format: a turn of the event loop every SAMPLES_PER_TURN
    // cells, not one run over the whole file (FAIL-023).
    if (index % SAMPLES_PER_TURN === SAMPLES_PER_TURN - 1) await setImmediate();
    const value = sample.trim();
    if (value === '') continue;
    of += 1;
    for (const [i, format] of DATE_FORMATS.entries()) if (parseBrokerDate(value, format) !== null) counts[i] = (counts[i] ?? 0) + 1;
  }
  let formats: DateFormat[] = [];
  let reads = 0;
  for (const [i, format] of DATE_FORMATS.entries()) {
    const count = counts[i] ?? 0;
    if (count > reads) [formats, reads] = [[format], count];
    else if (count === reads && count > 0) formats.push(format);
  }
  return { formats, reads, of };
}

/** Date cells read (in every format) between two turns of the event loop: about 1 ms. */
const SAMPLES_PER_TURN = 500;

const CURRENCY_WORDS = /^(?:[A-Z]{3}\s+)|(?:\s+[A-Z]{3})$/;
const SYMBOLS = /[$€£¥₹₩]|CHF|US\$|A\$|C\$/g;

/**
 * A number as a broker writes it → a plain decimal string (`-1120.24`), or null if the
 * text is not a number. Accepts a currency symbol or ISO code before or after the
 * digits, a sign before or after the symbol, accounting parentheses for a negative
 * (`(12.50)` is `-12.50`), and thousands grouping in threes (`1,234.56` with `point`,
 * `1.234,56` or `1 234,56` with `comma`). Rejects exponents and anything ambiguous.
 */
export function parseBrokerNumber(text: string, decimal: DecimalSeparator): string | null {
  let s = text.trim().replace(/\u00a0/g, ' ');
  if (s === '') return null;
  let negative = false;
  if (/^\(.*\)$/.test(s)) {
    negative = true;
    s = s.slice(1, -1).trim();
  }
  s = s.replace(CURRENCY_WORDS, '').trim();
  // Signs may sit before or after the currency symbol: -$3.00, $-3.00, +€5.
  const signs = s.match(/[-+]/g) ?? [];
  // Two signs, or a sign inside accounting parentheses ("(-5)"), say nothing certain.
  if (signs.length > 1 || (negative && signs.length > 0)) return null;
  if (signs[0] === '-') negative = !negative;
  s = s.replace(/^([$€£¥₹₩]|CHF|US\$|A\$|C\$)?\s*[-+]?\s*/, '$1');
  s = s.replace(/\s*[-+]$/, '');
  s = s.replace(SYMBOLS, '').trim();
  const group = decimal === 'point' ? ',' : '[. \u2009\']';
  const point = decimal === 'point' ? '\\.' : ',';
  const grouped = new RegExp(`^([0-9]{1,3}(?:${group}[0-9]{3})+|[0-9]+)?(?:${point}([0-9]+))?$`);
  const match = grouped.exec(s);
  if (match === null || (match[1] === undefined && match[2] === undefined)) return null;
  const whole = (match[1] ?? '0').replace(/[^0-9]/g, '').replace(/^0+(?=[0-9])/, '');
  const fraction = match[2];
  if (whole.length > 30 || (fraction !== undefined && fraction.length > 30)) return null;
  const plain = fraction === undefined ? whole : `${whole}.${fraction}`;
  const zero = /^[0.]*$/.test(plain);
  return negative && !zero ? `-${plain}` : plain;
}
