// Provider JSON carries prices as JSON numbers (binary floats once parsed). They are
// parsed here without ever becoming a JS number: the JSON.parse reviver's `source`
// argument (Node ≥ 21) hands over each number's original text, which is kept in a
// JsonNumber and converted to a plain decimal string exactly (exponents included).
//
// A provider is not trusted (FAIL-017): a number is read with a bounded grammar before
// any conversion (so `1e999999999` is refused in constant time instead of being expanded
// into a billion-digit string), and its plain value must fit the digits FinanceHub
// stores; prices must be positive and volumes non-negative. Anything else is a
// bad_response, which the HTTP client counts as a provider fault.
import { Decimal, toPlain } from '../../../money/index.ts';
import { ProviderError } from '../../../platform/http-client.ts';

export class JsonNumber {
  readonly source: string;
  constructor(source: string) {
    this.source = source;
  }
}

type Reviver = (this: unknown, key: string, value: unknown, context?: { source?: string }) => unknown;

const keepNumberText: Reviver = (_key, value, context) => {
  if (typeof value === 'number') {
    if (context?.source === undefined) throw new TypeError('JSON.parse did not provide the number source (Node ≥ 21 required)');
    return new JsonNumber(context.source);
  }
  return value;
};

/** Parses provider JSON; numbers arrive as JsonNumber. Malformed text is a bad_response. */
export function parseProviderJson(provider: string, text: string): unknown {
  try {
    return JSON.parse(text, keepNumberText);
  } catch (err) {
    throw new ProviderError(provider, 'bad_response', 'malformed JSON in the response', { cause: err });
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof JsonNumber);
}

/** Digits a provider number may have before and after its point, as written and once plain. */
export const PROVIDER_INTEGER_DIGITS = 20;
export const PROVIDER_FRACTION_DIGITS = 30;
/** The largest exponent magnitude accepted in a provider number (`1.475e2`). */
export const PROVIDER_MAX_EXPONENT = 30;

const NUMBER_TEXT = new RegExp(
  `^-?\\d{1,${PROVIDER_INTEGER_DIGITS}}(?:\\.\\d{1,${PROVIDER_FRACTION_DIGITS}})?(?:[eE]([+-]?\\d{1,3}))?$`,
);
const PLAIN_VALUE = new RegExp(`^-?\\d{1,${PROVIDER_INTEGER_DIGITS}}(?:\\.\\d{1,${PROVIDER_FRACTION_DIGITS}})?$`);

/** The plain decimal text of a provider number, or undefined when it is outside the bounds. */
export function boundedDecimal(source: string): string | undefined {
  // The grammar is checked on the text first: no conversion ever sees an unbounded exponent.
  const match = NUMBER_TEXT.exec(source);
  if (match === null) return undefined;
  const exponent = match[1];
  if (exponent !== undefined && Math.abs(Number.parseInt(exponent, 10)) > PROVIDER_MAX_EXPONENT) return undefined;
  const plain = toPlain(new Decimal(source));
  return PLAIN_VALUE.test(plain) ? plain : undefined;
}

/** Helpers that read provider fields and fail with a bad_response naming the field. */
export function fieldReader(provider: string) {
  const bad = (field: string, problem: string) => new ProviderError(provider, 'bad_response', `${field} ${problem}`);

  const decimal = (value: unknown, field: string): string => {
    if (!(value instanceof JsonNumber)) throw bad(field, 'is not a number');
    const plain = boundedDecimal(value.source);
    if (plain === undefined) {
      throw bad(field, `is outside the accepted range (at most ${PROVIDER_INTEGER_DIGITS} digits before the point and ${PROVIDER_FRACTION_DIGITS} after)`);
    }
    return plain;
  };
  /** A price: a bounded decimal greater than zero. */
  const price = (value: unknown, field: string): string => {
    const plain = decimal(value, field);
    if (!new Decimal(plain).greaterThan(0)) throw bad(field, 'is not a positive price');
    return plain;
  };
  const optionalPrice = (value: unknown, field: string): string | null =>
    value === null || value === undefined ? null : price(value, field);
  /** A volume or size: a bounded decimal, zero or more. */
  const nonNegative = (value: unknown, field: string): string => {
    const plain = decimal(value, field);
    if (new Decimal(plain).isNegative()) throw bad(field, 'is negative');
    return plain;
  };
  const optionalDecimal = (value: unknown, field: string): string | null =>
    value === null || value === undefined ? null : decimal(value, field);
  const integer = (value: unknown, field: string): number => {
    if (value instanceof JsonNumber && /^-?\d{1,15}$/.test(value.source)) return Number.parseInt(value.source, 10);
    throw bad(field, 'is not a whole number');
  };
  const string = (value: unknown, field: string): string => {
    if (typeof value === 'string') return value;
    throw bad(field, 'is not a string');
  };
  const optionalString = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);
  const array = (value: unknown, field: string): unknown[] => {
    if (Array.isArray(value)) return value as unknown[];
    throw bad(field, 'is not an array');
  };
  const record = (value: unknown, field: string): Record<string, unknown> => {
    if (isRecord(value)) return value;
    throw bad(field, 'is not an object');
  };
  /** Zero written any way (`0`, `0.0`, `0e5`); an unreadable number is not zero. */
  const isZero = (value: unknown): boolean => {
    if (!(value instanceof JsonNumber)) return false;
    const plain = boundedDecimal(value.source);
    return plain !== undefined && new Decimal(plain).isZero();
  };
  /** One bar's values: positive prices, non-negative volume, low ≤ open, close ≤ high. */
  const bar = (values: { open: unknown; high: unknown; low: unknown; close: unknown; volume: unknown }, field: string) => {
    const open = price(values.open, `${field}.open`);
    const high = price(values.high, `${field}.high`);
    const low = price(values.low, `${field}.low`);
    const close = price(values.close, `${field}.close`);
    const volume = values.volume === null || values.volume === undefined ? '0' : nonNegative(values.volume, `${field}.volume`);
    const [o, h, l, c] = [open, high, low, close].map((v) => new Decimal(v)) as [Decimal, Decimal, Decimal, Decimal];
    if (l.greaterThan(o) || l.greaterThan(c) || h.lessThan(o) || h.lessThan(c)) throw bad(field, 'has a low above or a high below its open or close');
    return { open, high, low, close, volume };
  };
  return { bad, decimal, optionalDecimal, price, optionalPrice, nonNegative, bar, integer, string, optionalString, array, record, isZero };
}
