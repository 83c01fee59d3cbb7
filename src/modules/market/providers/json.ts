// Provider JSON carries prices as JSON numbers (binary floats once parsed). They are
// parsed here without ever becoming a JS number: the JSON.parse reviver's `source`
// argument (Node ≥ 21) hands over each number's original text, which is kept in a
// JsonNumber and converted to a plain decimal string exactly (exponents included).
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

/** Helpers that read provider fields and fail with a bad_response naming the field. */
export function fieldReader(provider: string) {
  const bad = (field: string, problem: string) => new ProviderError(provider, 'bad_response', `${field} ${problem}`);

  const decimal = (value: unknown, field: string): string => {
    if (value instanceof JsonNumber) return toPlain(new Decimal(value.source));
    throw bad(field, 'is not a number');
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
  const isZero = (value: unknown): boolean => value instanceof JsonNumber && new Decimal(value.source).isZero();
  return { bad, decimal, optionalDecimal, integer, string, optionalString, array, record, isZero };
}
