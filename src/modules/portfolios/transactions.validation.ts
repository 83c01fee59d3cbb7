// Turns a transaction as a user sent it (JSON body or CSV row: strings for every money
// field) into a TransactionInput, or into the list of every field that is wrong. The
// same rules serve the API, the CSV import and the JSON import, so a file and a request
// can never disagree about what is valid.
import { Decimal, isCurrencyCode, isDecimalString, parseDecimal } from '../../money/index.ts';
import type { FieldProblem } from '../../platform/errors.ts';
import { DATE_WINDOW_MESSAGE, isCleanText, isWithinDateWindow } from '../../platform/http/input.ts';
import { normaliseSymbol } from '../market/symbols.ts';
import { TRANSACTION_TYPES, type TransactionInput, type TransactionType } from './portfolios.types.ts';

/** A transaction as received; every field may be missing. */
export interface RawTransaction {
  type?: string | undefined;
  symbol?: string | null | undefined;
  quantity?: string | null | undefined;
  price?: string | null | undefined;
  amount?: string | null | undefined;
  fee?: string | null | undefined;
  currency?: string | null | undefined;
  fx_rate?: string | null | undefined;
  ratio_numerator?: number | null | undefined;
  ratio_denominator?: number | null | undefined;
  executed_at?: string | null | undefined;
  note?: string | null | undefined;
}

export const MAX_NOTE_LENGTH = 500;
export const MAX_SPLIT_TERM = 1_000_000;

type Field = 'symbol' | 'quantity' | 'price' | 'amount' | 'ratio_numerator' | 'ratio_denominator';

/** Which fields each type requires; every other of these fields must be absent. */
const SHAPE: Record<TransactionType, { required: Field[]; optional: Field[] }> = {
  buy: { required: ['symbol', 'quantity', 'price'], optional: [] },
  sell: { required: ['symbol', 'quantity', 'price'], optional: [] },
  dividend: { required: ['symbol', 'amount'], optional: [] },
  interest: { required: ['amount'], optional: ['symbol'] },
  fee: { required: ['amount'], optional: ['symbol'] },
  deposit: { required: ['amount'], optional: [] },
  withdrawal: { required: ['amount'], optional: [] },
  split: { required: ['symbol', 'ratio_numerator', 'ratio_denominator'], optional: [] },
};
const ALL_FIELDS: Field[] = ['symbol', 'quantity', 'price', 'amount', 'ratio_numerator', 'ratio_denominator'];

const present = (value: unknown): boolean => value !== undefined && value !== null && value !== '';

export function isTransactionType(value: string): value is TransactionType {
  return (TRANSACTION_TYPES as readonly string[]).includes(value);
}

export type ValidationResult = { ok: true; value: TransactionInput } | { ok: false; errors: FieldProblem[] };

export function validateTransaction(raw: RawTransaction, context: { baseCurrency: string; now: Date }): ValidationResult {
  const errors: FieldProblem[] = [];
  const fail = (field: string, message: string) => errors.push({ field, message });

  const type = raw.type ?? '';
  if (!isTransactionType(type)) {
    fail('type', `must be one of ${TRANSACTION_TYPES.join(', ')}`);
    return { ok: false, errors };
  }
  const shape = SHAPE[type];
  for (const field of ALL_FIELDS) {
    const has = present(raw[field]);
    if (shape.required.includes(field) && !has) fail(field, `is required for ${type}`);
    if (!shape.required.includes(field) && !shape.optional.includes(field) && has) fail(field, `is not allowed for ${type}`);
  }

  const decimal = (field: 'quantity' | 'price' | 'amount' | 'fee' | 'fx_rate', rule: 'positive' | 'non_negative'): Decimal | null => {
    const text = raw[field];
    if (!present(text) || text === null || text === undefined) return null;
    if (!isDecimalString(text)) {
      fail(field, 'must be a decimal string such as "101.25"');
      return null;
    }
    const value = parseDecimal(text, field);
    if (rule === 'positive' && !value.gt(0)) fail(field, 'must be greater than 0');
    if (rule === 'non_negative' && value.isNegative()) fail(field, 'must not be negative');
    return value;
  };

  let symbol: string | null = null;
  if (present(raw.symbol) && typeof raw.symbol === 'string') {
    symbol = normaliseSymbol(raw.symbol);
    if (symbol === null) fail('symbol', 'must be a ticker symbol: 1–15 letters, digits, "." or "-"');
  }
  const quantity = decimal('quantity', 'positive');
  const price = decimal('price', 'non_negative');
  const amount = decimal('amount', 'positive');
  const fee = decimal('fee', 'non_negative') ?? new Decimal(0);

  const ratio = (field: 'ratio_numerator' | 'ratio_denominator'): number | null => {
    const value = raw[field];
    if (value === undefined || value === null) return null;
    if (!Number.isSafeInteger(value) || value < 1 || value > MAX_SPLIT_TERM) {
      fail(field, `must be a whole number from 1 to ${MAX_SPLIT_TERM}`);
      return null;
    }
    return value;
  };
  const ratioNumerator = ratio('ratio_numerator');
  const ratioDenominator = ratio('ratio_denominator');

  const currency = present(raw.currency) && typeof raw.currency === 'string' ? raw.currency : context.baseCurrency;
  if (!isCurrencyCode(currency)) fail('currency', 'must be an ISO 4217 currency code such as "USD"');
  let fxRate = decimal('fx_rate', 'positive');
  if (currency === context.baseCurrency) {
    // The rate to itself is 1; anything else is a mistake worth telling the user about.
    if (fxRate !== null && !fxRate.eq(1)) fail('fx_rate', `must be 1 or omitted when currency is the base currency ${context.baseCurrency}`);
    fxRate = new Decimal(1);
  } else if (fxRate === null && !errors.some((e) => e.field === 'fx_rate')) {
    fail('fx_rate', `is required when currency (${currency}) differs from the base currency ${context.baseCurrency}`);
  }

  let executedAt: Date | null = null;
  if (!present(raw.executed_at) || typeof raw.executed_at !== 'string') {
    fail('executed_at', 'is required');
  } else {
    executedAt = parseTimestamp(raw.executed_at);
    if (executedAt === null) fail('executed_at', 'must be an ISO 8601 date or date-time, e.g. 2024-03-01 or 2024-03-01T14:30:00Z');
    else if (!isWithinDateWindow(executedAt, context.now)) fail('executed_at', DATE_WINDOW_MESSAGE);
  }

  const note = present(raw.note) && typeof raw.note === 'string' ? raw.note : null;
  if (note !== null && note.length > MAX_NOTE_LENGTH) fail('note', `must be at most ${MAX_NOTE_LENGTH} characters`);
  else if (note !== null && !isCleanText(note, true)) fail('note', 'must not contain control characters other than tab and line breaks');

  if (errors.length > 0 || executedAt === null || fxRate === null) return { ok: false, errors };
  return {
    ok: true,
    value: {
      type,
      symbol,
      quantity,
      price,
      amount,
      fee,
      currency,
      fxRate,
      ratioNumerator,
      ratioDenominator,
      executedAt,
      note,
    },
  };
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})$/;

/** A calendar date (taken as 00:00 UTC) or a date-time with an explicit offset. */
export function parseTimestamp(text: string): Date | null {
  const trimmed = text.trim();
  let iso: string;
  if (DATE_ONLY.test(trimmed)) iso = `${trimmed}T00:00:00Z`;
  else if (DATE_TIME.test(trimmed)) iso = trimmed.replace(' ', 'T');
  else return null;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return null;
  // Reject dates the parser rolled over (2024-02-30 → March 1).
  if (date.toISOString().slice(0, 10) !== iso.slice(0, 10) && /Z$/.test(iso)) return null;
  return date;
}
