// The one exact decimal type for amounts, prices, quantities, rates and scores
// (FAIL-002). Values enter only from strings that match a strict decimal grammar, are
// computed at full precision, and leave as plain strings (never exponent notation).
// Rounding, where a documented output scale asks for it, is ROUND_HALF_UP.
import { Decimal as DecimalJs } from 'decimal.js';
import { Type } from 'typebox';
import { AppError } from '../platform/errors.ts';

/** 60 significant digits: far beyond any amount, and ≥ 28 for division and square root. */
export const Decimal = DecimalJs.clone({
  precision: 60,
  rounding: DecimalJs.ROUND_HALF_UP,
  toExpNeg: -1000,
  toExpPos: 1000,
});
export type Decimal = InstanceType<typeof Decimal>;

/** Plain decimal notation: optional minus, digits, optional fraction. No exponent, no `+`. */
export const DECIMAL_PATTERN = '^-?[0-9]{1,30}(\\.[0-9]{1,30})?$';
const DECIMAL_RE = new RegExp(DECIMAL_PATTERN);
const UNSIGNED_RE = /^[0-9]{1,30}(\.[0-9]{1,30})?$/;

export function isDecimalString(value: string): boolean {
  return DECIMAL_RE.test(value);
}

export function invalidDecimal(field: string, value: string): AppError {
  return new AppError(400, 'invalid_decimal', 'Validation failed', {
    detail: `${field} must be a decimal string such as "101.25", got "${value.slice(0, 40)}"`,
    errors: [{ field, message: 'must be a decimal string' }],
  });
}

/** Parses a decimal string; anything else (exponents, spaces, NaN, `1.`) is refused. */
export function parseDecimal(value: string, field = 'value'): Decimal {
  if (!DECIMAL_RE.test(value)) throw invalidDecimal(field, value);
  return new Decimal(value);
}

/** For request schemas: money travels as a string; a JSON number is a 400. */
export function DecimalString(options: { description?: string; unsigned?: boolean } = {}) {
  return Type.String({
    pattern: options.unsigned === true ? UNSIGNED_RE.source : DECIMAL_PATTERN,
    maxLength: 62,
    description: options.description ?? 'decimal number as a string, e.g. "101.25"',
    examples: ['101.25'],
    // Read by the validation error handler: a JSON number here is told to send a string.
    'x-decimal': true,
  });
}

/** Output scales per kind of value (decimal places, ROUND_HALF_UP, trailing zeros kept). */
export const SCALE = {
  quantity: 10,
  price: 8,
  rate: 10,
  percent: 6,
} as const;

export type ValueKind = keyof typeof SCALE;

/** Full precision, plain notation, trailing zeros trimmed. */
export function toPlain(value: Decimal): string {
  // eslint-disable-next-line no-restricted-syntax -- Decimal#toFixed is exact (decimal.js); this is the one wrapper.
  const text = value.toFixed();
  return text === '-0' ? '0' : text;
}

/** Rounded to the documented scale of its kind, trailing zeros trimmed. */
export function formatDecimal(value: Decimal, kind: ValueKind): string {
  return toPlain(value.toDecimalPlaces(SCALE[kind], Decimal.ROUND_HALF_UP));
}

/** ISO 4217 codes known to the runtime's ICU data. */
const CURRENCIES = new Set(Intl.supportedValuesOf('currency'));

export function isCurrencyCode(code: string): boolean {
  return /^[A-Z]{3}$/.test(code) && CURRENCIES.has(code);
}

const MINOR_UNITS = new Map<string, number>();

/** Minor-unit digits of a currency (2 for USD, 0 for JPY, 3 for KWD). */
export function minorUnits(currency: string): number {
  // Cached: building an Intl.NumberFormat costs tens of microseconds, and a holdings
  // answer formats every lot's amounts.
  let digits = MINOR_UNITS.get(currency);
  if (digits === undefined) {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
    MINOR_UNITS.set(currency, digits);
  }
  return digits;
}

/** An amount for display: rounded half-up to the currency's minor unit, zeros kept. */
export function formatAmount(value: Decimal, currency: string): string {
  // eslint-disable-next-line no-restricted-syntax -- Decimal#toFixed rounds exactly, half-up, at the minor unit.
  const text = value.toFixed(minorUnits(currency), Decimal.ROUND_HALF_UP);
  return /^-0(\.0+)?$/.test(text) ? text.slice(1) : text;
}

export function sum(values: Iterable<Decimal>): Decimal {
  let total = new Decimal(0);
  for (const value of values) total = total.plus(value);
  return total;
}
