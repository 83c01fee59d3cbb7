// Exact decimals as scaled BigInt integers, for the hot paths of financial code (the
// holdings engine replays thousands of transactions per request). `Decimal` stays the
// value type at the edges and for transcendental maths (XIRR); these are its fast,
// allocation-light counterpart for sums, differences and products, which BigInt does
// exactly at any size (FAIL-002: no binary floating point anywhere).
//
// Two fixed scales:
// - `Scaled`: a value as entered (quantity, price, amount, fee, rate) as an integer count
//   of 10^-30. The decimal grammar allows at most 30 fraction digits, so every accepted
//   value converts exactly.
// - `Amount`: a base-currency amount as an integer count of 10^-90. An amount is at most
//   a product of three entered values (quantity × price × fx_rate), whose places add up
//   to at most 90, so it too is exact.
// Rounding happens only where a function says so, and is ROUND_HALF_UP (half away from
// zero), as everywhere in src/money.
import { Decimal, invalidDecimal, isDecimalString, minorUnits, toPlain } from './decimal.ts';

/** Fraction digits of a `Scaled` value. */
export const INPUT_SCALE = 30;
/** Fraction digits of an `Amount`: three entered values multiplied. */
export const AMOUNT_SCALE = 3 * INPUT_SCALE;

/** An entered value as an integer count of 10^-30 ("1.5" is 15 × 10^29). */
export type Scaled = bigint;
/** A base-currency amount as an integer count of 10^-90. */
export type Amount = bigint;

const POWERS = Array.from({ length: 2 * AMOUNT_SCALE + 1 }, (_, k) => 10n ** BigInt(k));

/** 10^k as a BigInt (cached up to 10^180). */
export function pow10(k: number): bigint {
  return POWERS[k] ?? 10n ** BigInt(k);
}

/** 1 as a `Scaled` value. */
export const SCALED_ONE: Scaled = pow10(INPUT_SCALE);
/** 10^60: turns a `Scaled` value into an `Amount`. */
const AMOUNT_PER_SCALED = pow10(AMOUNT_SCALE - INPUT_SCALE);

/** n ÷ d rounded half away from zero; d must be positive. */
export function divRoundHalfUp(n: bigint, d: bigint): bigint {
  const q = n / d;
  const r = n - q * d; // one division: a product is much cheaper than a second one
  if (r === 0n) return q;
  const twice = r < 0n ? -2n * r : 2n * r;
  if (twice < d) return q;
  return n < 0n ? q - 1n : q + 1n;
}

/** An integer of 10^-from as an integer of 10^-to (rounded half-up when places are dropped). */
export function rescale(value: bigint, from: number, to: number): bigint {
  if (from === to) return value;
  return to > from ? value * pow10(to - from) : divRoundHalfUp(value, pow10(from - to));
}

/**
 * Parses a decimal string into a `Scaled` value. The grammar is the one of
 * `parseDecimal` (no exponent, no sign but `-`, no spaces); anything else is a 400
 * naming the field. A string with more than 30 fraction digits (only a provider's price
 * can have one) is rounded half-up at the 30th.
 */
export function parseScaled(text: string, field = 'value'): Scaled {
  const short = parseShort(text);
  if (short !== undefined) return short;
  if (!isDecimalString(text)) throw invalidDecimal(field, text);
  return fixedFromPlain(text, INPUT_SCALE);
}

/** Digits a double holds exactly as an integer (below 2^53). */
const SHORT_DIGITS = 15;

/**
 * The common case of parseScaled, without a RegExp or string copies: at most 15 digits,
 * accumulated as an integer in a double (exact below 2^53), then scaled in BigInt.
 * Answers undefined for anything else, which the strict path then takes or refuses.
 */
function parseShort(text: string): Scaled | undefined {
  // A fee of "0" and an fx_rate of "1" are most of a ledger's values.
  if (text === '0') return 0n;
  if (text === '1') return SCALED_ONE;
  const length = text.length;
  const negative = length > 0 && text.charCodeAt(0) === 45; // '-'
  let i = negative ? 1 : 0;
  if (i === length || length - i > SHORT_DIGITS + 1) return undefined;
  let digits = 0;
  let integer = 0;
  let places = -1;
  for (; i < length; i++) {
    const code = text.charCodeAt(i);
    if (code === 46 /* '.' */ && places === -1 && digits > 0) {
      places = 0;
      continue;
    }
    if (code < 48 || code > 57) return undefined;
    integer = integer * 10 + (code - 48);
    digits += 1;
    if (places !== -1) places += 1;
  }
  if (digits > SHORT_DIGITS || places === 0) return undefined;
  const scaled = BigInt(integer) * pow10(places === -1 ? INPUT_SCALE : INPUT_SCALE - places);
  return negative ? -scaled : scaled;
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

/** A Decimal as a `Scaled` value (rounded half-up beyond 30 places). */
export function scaledFromDecimal(value: Decimal): Scaled {
  return fixedFromPlain(toPlain(value), INPUT_SCALE);
}

/** value × fx_rate, both entered values, as an amount: exact. */
export function convert(value: Scaled, fxRate: Scaled): Amount {
  if (value === 0n) return 0n;
  return fxRate === SCALED_ONE ? value * AMOUNT_PER_SCALED : value * fxRate * SCALED_ONE;
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
    let text = `${digits.slice(0, -places)}.${digits.slice(-places)}`;
    if (trim) text = text.replace(/\.?0+$/, '');
    digits = text;
  }
  return negative ? `-${digits}` : digits;
}

/** Every digit, trailing zeros trimmed ("1.5", "0.0000000001", "12"). */
export function plainFixed(value: bigint, scale: number): string {
  return formatFixed(value, scale, scale, true);
}

/** An amount for display: half-up at the currency's minor unit, zeros kept (USD "12.30"). */
export function formatAmountFixed(value: Amount, currency: string): string {
  return formatFixed(value, AMOUNT_SCALE, minorUnits(currency));
}

/** n ÷ d (d > 0) as a decimal string with at most `places` digits, half-up, zeros trimmed. */
export function formatRatio(n: bigint, d: bigint, places: number): string {
  return formatFixed(divRoundHalfUp(n * pow10(places), d), places, places, true);
}

/** For interop and tests: the exact Decimal of an integer of 10^-scale. */
export function fixedToDecimal(value: bigint, scale: number): Decimal {
  return new Decimal(plainFixed(value, scale));
}

/** The exact amount of a Decimal (rounded half-up beyond 90 places). */
export function amountFromDecimal(value: Decimal): Amount {
  return fixedFromPlain(toPlain(value), AMOUNT_SCALE);
}
