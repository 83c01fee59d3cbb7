// Exact decimals as BigInt integers with a decimal scale, for the hot paths of financial
// code (the holdings engine replays thousands of transactions per request). `Decimal`
// stays the value type at the edges and for transcendental maths (XIRR); these are its
// fast, allocation-light counterpart for sums, differences and products, which BigInt
// does exactly at any size (FAIL-002: no binary floating point anywhere).
//
// - `Exact`: a value as entered (quantity, price, amount, fee, rate): its digits as an
//   integer and the number of places, normalised ("12.50" is 1250 at 2 places, kept as
//   125 at 1). Every string the grammar accepts converts exactly.
// - `Amount`: an integer count of 10^-scale, where the scale belongs to whoever holds the
//   amount (a ledger picks the smallest scale that keeps all its amounts exact, see
//   holdings.ts). Products of entered values add their places, so they stay exact too.
// Small numbers are fast: an amount below 2^64 is a one-word BigInt, several times
// cheaper to add, divide and print than the multi-word integers a fixed 90-place scale
// needs. Rounding happens only where a function says so, and is ROUND_HALF_UP (half away
// from zero), as everywhere in src/money.
import { Decimal, invalidDecimal, isDecimalString, minorUnits, toPlain } from './decimal.ts';

/** An exact decimal: `units` × 10^-`places`, with no trailing zero in its fraction. */
export interface Exact {
  readonly units: bigint;
  readonly places: number;
}

/** An integer count of 10^-scale of a currency; the holder knows the scale. */
export type Amount = bigint;

/** Fraction digits the decimal grammar allows (so the most an `Exact` has). */
export const MAX_PLACES = 30;

const POWERS = Array.from({ length: 6 * MAX_PLACES + 1 }, (_, k) => 10n ** BigInt(k));

/** 10^k as a BigInt (cached up to 10^180). */
export function pow10(k: number): bigint {
  return POWERS[k] ?? 10n ** BigInt(k);
}

// Not frozen: a frozen object has another hidden class than the parsed ones, and the
// engine's property reads would turn polymorphic. `readonly` keeps them unchanged.
export const EXACT_ZERO: Exact = { units: 0n, places: 0 };
export const EXACT_ONE: Exact = { units: 1n, places: 0 };

/** n ÷ d rounded half away from zero; d must be positive. */
export function divRoundHalfUp(n: bigint, d: bigint): bigint {
  const q = n / d;
  const r = n - q * d; // one division: a product is much cheaper than a second one
  if (r === 0n) return q;
  const twice = r < 0n ? -2n * r : 2n * r;
  if (twice < d) return q;
  return n < 0n ? q - 1n : q + 1n;
}

/** Half of 10^k for k ≥ 1 (10^k is even, so exactly). */
const HALF_POWERS = POWERS.map((power) => power / 2n);

/** An integer of 10^-from as an integer of 10^-to (rounded half-up when places are dropped). */
export function rescale(value: bigint, from: number, to: number): bigint {
  if (from === to) return value;
  if (to > from) return value * pow10(to - from);
  // Half-up on the magnitude by adding half the divisor: two operations instead of divRoundHalfUp's four.
  const k = from - to;
  const half = HALF_POWERS[k] ?? pow10(k) / 2n;
  return value < 0n ? -((half - value) / pow10(k)) : (value + half) / pow10(k);
}

/**
 * Parses a decimal string exactly. The grammar is the one of `parseDecimal` (no
 * exponent, no sign but `-`, no spaces, at most 30 places); anything else is a 400
 * naming the field.
 */
export function parseExact(text: string, field = 'value'): Exact {
  const short = parseShort(text);
  if (short !== undefined) return short;
  if (!isDecimalString(text)) throw invalidDecimal(field, text);
  return exactOfPlain(text);
}

/** units × 10^-places with the fraction's trailing zeros dropped. */
function normalised(units: bigint, places: number): Exact {
  if (units === 0n) return EXACT_ZERO;
  let u = units;
  let p = places;
  while (p > 0 && u % 10n === 0n) {
    u /= 10n;
    p -= 1;
  }
  return { units: u, places: p };
}

/** Digits a double holds exactly as an integer (below 2^53). */
const SHORT_DIGITS = 15;

/**
 * The common case of parseExact, without a RegExp or string copies: at most 15 digits,
 * accumulated as an integer in a double (exact below 2^53), the fraction's trailing
 * zeros left out. Answers undefined for anything else, which the strict path then takes
 * or refuses.
 */
function parseShort(text: string): Exact | undefined {
  // A fee of "0" and an fx_rate of "1" are most of a ledger's values.
  if (text === '0') return EXACT_ZERO;
  if (text === '1') return EXACT_ONE;
  const length = text.length;
  const negative = length > 0 && text.charCodeAt(0) === 45; // '-'
  let i = negative ? 1 : 0;
  if (i === length || length - i > SHORT_DIGITS + 1) return undefined;
  let integer = 0;
  let digits = 0;
  let point = -1;
  let places = 0;
  let zeros = 0; // fraction zeros not (yet) followed by another digit
  for (; i < length; i++) {
    const code = text.charCodeAt(i);
    if (code === 46 /* '.' */ && point === -1 && digits > 0) {
      point = i;
      continue;
    }
    if (code < 48 || code > 57) return undefined;
    digits += 1;
    if (point === -1) {
      integer = integer * 10 + (code - 48);
    } else if (code === 48) {
      zeros += 1;
    } else {
      for (; zeros > 0; zeros--) integer *= 10;
      integer = integer * 10 + (code - 48);
      places = i - point;
    }
  }
  if (digits > SHORT_DIGITS || point === length - 1) return undefined;
  if (integer === 0) return EXACT_ZERO;
  return { units: BigInt(negative ? -integer : integer), places };
}

/**
 * A plain decimal string that has passed a strict grammar check (digits, at most one
 * point, an optional leading minus) as an integer of 10^-scale, rounded half-up beyond.
 */
export function fixedFromPlain(text: string, scale: number): bigint {
  const point = text.indexOf('.');
  if (point === -1) return BigInt(text) * pow10(scale);
  return rescale(BigInt(text.slice(0, point) + text.slice(point + 1)), text.length - point - 1, scale);
}

const PLAIN_RE = /^-?[0-9]+(\.[0-9]+)?$/;

/**
 * Plain decimal text of any length (a provider's price, a Decimal's digits) as an
 * `Exact`, rounded half-up beyond 30 places; anything else is a 400 naming the field.
 */
export function exactFromPlain(text: string, field = 'value'): Exact {
  const short = parseShort(text);
  if (short !== undefined) return short;
  if (!PLAIN_RE.test(text)) throw invalidDecimal(field, text);
  return exactOfPlain(text);
}

/** Plain decimal text that has passed a grammar check, rounded half-up beyond 30 places. */
function exactOfPlain(text: string): Exact {
  const point = text.indexOf('.');
  if (point === -1) return normalised(BigInt(text), 0);
  const places = text.length - point - 1;
  const units = BigInt(text.slice(0, point) + text.slice(point + 1));
  return places <= MAX_PLACES ? normalised(units, places) : normalised(rescale(units, places, MAX_PLACES), MAX_PLACES);
}

/** A Decimal as an `Exact` (rounded half-up beyond 30 places). */
export function exactFromDecimal(value: Decimal): Exact {
  return exactFromPlain(toPlain(value));
}

/** The value as an integer of 10^-scale (scale ≥ its places: exact). */
export function exactAt(value: Exact, scale: number): bigint {
  return value.units * pow10(scale - value.places);
}

/** a − b, exactly. */
export function exactMinus(a: Exact, b: Exact): Exact {
  const places = a.places > b.places ? a.places : b.places;
  return normalised(exactAt(a, places) - exactAt(b, places), places);
}

/** The plain decimal text of an exact value ("12.5", "-0.0001", "3"). */
export function plainExact(value: Exact): string {
  return formatFixed(value.units, value.places, value.places);
}

/**
 * An integer of 10^-scale as a decimal string with `places` fraction digits, rounded
 * half-up. Trailing zeros are kept unless `trim` is set (then "5", not "5.0000000000").
 */
export function formatFixed(value: bigint, scale: number, places: number, trim = false): string {
  const rounded = rescale(value, scale, places);
  const negative = rounded < 0n;
  let digits = (negative ? -rounded : rounded).toString();
  if (places > 0) {
    digits = digits.padStart(places + 1, '0');
    const point = digits.length - places;
    let end = digits.length;
    if (trim) while (end > point && digits.charCodeAt(end - 1) === 48 /* '0' */) end -= 1;
    digits = end === point ? digits.slice(0, point) : `${digits.slice(0, point)}.${digits.slice(point, end)}`;
  }
  return negative ? `-${digits}` : digits;
}

/** Every digit, trailing zeros trimmed ("1.5", "0.0000000001", "12"). */
export function plainFixed(value: bigint, scale: number): string {
  return formatFixed(value, scale, scale, true);
}

/** An amount of 10^-scale for display: half-up at the currency's minor unit, zeros kept (USD "12.30"). */
export function formatAmountFixed(value: Amount, scale: number, currency: string): string {
  return formatFixed(value, scale, minorUnits(currency));
}

/** n ÷ d (d > 0) as a decimal string with at most `places` digits, half-up, zeros trimmed. */
export function formatRatio(n: bigint, d: bigint, places: number): string {
  return formatFixed(divRoundHalfUp(n * pow10(places), d), places, places, true);
}

/** For interop and tests: the exact Decimal of an integer of 10^-scale. */
export function fixedToDecimal(value: bigint, scale: number): Decimal {
  return new Decimal(plainFixed(value, scale));
}
