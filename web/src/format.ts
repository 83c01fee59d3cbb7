// Locale formatting of exact decimal strings. Amounts never become JS numbers here: the
// digits of the API's string are grouped and punctuated with the locale's separators (read
// once from Intl), so what the page shows is exactly what the API computed.

const DECIMAL = /^(-?)([0-9]+)(?:\.([0-9]+))?$/;

interface Separators {
  group: string;
  decimal: string;
}

let cached: { locale: string; seps: Separators } | undefined;

export function separators(locale?: string): Separators {
  const key = locale ?? navigator.language;
  if (cached?.locale === key) return cached.seps;
  // A constant probe, not an amount: only the separator characters are read from it.
  const parts = new Intl.NumberFormat(key).formatToParts(1234567.5);
  const seps = {
    group: parts.find((p) => p.type === 'group')?.value ?? ',',
    decimal: parts.find((p) => p.type === 'decimal')?.value ?? '.',
  };
  cached = { locale: key, seps };
  return seps;
}

/** Round a decimal string half away from zero to `places` fraction digits, as a string. */
export function roundDecimal(value: string, places: number): string {
  const m = DECIMAL.exec(value);
  if (m === null) return value;
  const [, sign = '', int = '0', frac = ''] = m;
  if (frac.length <= places) return value;
  const keep = `${int}${frac.slice(0, places)}`;
  const up = (frac.charCodeAt(places) - 48) >= 5;
  let digits = keep;
  if (up) {
    const arr = keep.split('');
    let i = arr.length - 1;
    for (; i >= 0; i -= 1) {
      if (arr[i] === '9') arr[i] = '0';
      else {
        arr[i] = String.fromCharCode((arr[i] ?? '0').charCodeAt(0) + 1);
        break;
      }
    }
    digits = (i < 0 ? '1' : '') + arr.join('');
  }
  const intPart = digits.slice(0, digits.length - places) || '0';
  const fracPart = digits.slice(digits.length - places);
  const isZero = /^0*$/.test(intPart + fracPart);
  return `${isZero ? '' : sign}${intPart.replace(/^0+(?=[0-9])/, '')}${places > 0 ? `.${fracPart}` : ''}`;
}

/**
 * The exact sum of decimal strings (BigInt on a common scale; never through a float). Trailing
 * fraction zeros are dropped unless `keepScale`, which keeps the inputs' largest scale, as money
 * adds: 1.50 + 2.50 = 4.00.
 */
export function sumDecimals(values: readonly string[], { keepScale = false }: { keepScale?: boolean } = {}): string {
  let scale = 0;
  const parts: Array<{ negative: boolean; digits: string; frac: string }> = [];
  for (const value of values) {
    const m = DECIMAL.exec(value);
    if (m === null) throw new RangeError(`not a decimal: ${value}`);
    const [, sign = '', int = '0', frac = ''] = m;
    parts.push({ negative: sign === '-', digits: int, frac });
    scale = Math.max(scale, frac.length);
  }
  let total = 0n;
  for (const p of parts) {
    const scaled = BigInt(`${p.digits}${p.frac.padEnd(scale, '0')}`);
    total += p.negative ? -scaled : scaled;
  }
  const negative = total < 0n;
  const digits = (negative ? -total : total).toString().padStart(scale + 1, '0');
  const int = digits.slice(0, digits.length - scale);
  const frac = keepScale ? digits.slice(digits.length - scale) : digits.slice(digits.length - scale).replace(/0+$/, '');
  return `${negative ? '-' : ''}${int}${frac === '' ? '' : `.${frac}`}`;
}

/** Move the decimal point right by `places` (e.g. a fraction to a percentage). */
export function shiftDecimal(value: string, places: number): string {
  const m = DECIMAL.exec(value);
  if (m === null) return value;
  const [, sign = '', int = '0', frac = ''] = m;
  const padded = frac.padEnd(places, '0');
  const newInt = `${int}${padded.slice(0, places)}`.replace(/^0+(?=[0-9])/, '');
  const rest = padded.slice(places);
  return `${sign}${newInt}${rest === '' ? '' : `.${rest}`}`;
}

/** "1234567.891" → "1,234,567.891" (en) or "1.234.567,891" (de), digits untouched. */
export function formatDecimal(value: string | null | undefined, locale?: string): string {
  if (value === null || value === undefined) return '—';
  const m = DECIMAL.exec(value);
  if (m === null) return value;
  const [, sign = '', int = '0', frac] = m;
  const { group, decimal } = separators(locale);
  const grouped = int.replace(/\B(?=([0-9]{3})+(?![0-9]))/g, group);
  return `${sign === '-' ? '−' : ''}${grouped}${frac === undefined ? '' : `${decimal}${frac}`}`;
}

export const formatMoney = (value: string | null | undefined, currency: string | null | undefined, locale?: string) =>
  value === null || value === undefined ? '—' : `${formatDecimal(value, locale)}${currency ? ` ${currency}` : ''}`;

/** A fraction string ("0.0512345678") as a percentage with two places ("5.12 %"). */
export const formatRate = (value: string | null | undefined, locale?: string) =>
  value === null || value === undefined ? '—' : `${formatDecimal(roundDecimal(shiftDecimal(value, 2), 2), locale)} %`;

/** A percentage string ("12.3456") with two places. */
export const formatPercent = (value: string | null | undefined, locale?: string) =>
  value === null || value === undefined ? '—' : `${formatDecimal(roundDecimal(value, 2), locale)} %`;

export const isNegative = (value: string | null | undefined) => value !== null && value !== undefined && value.startsWith('-') && !/^-0*(\.0*)?$/.test(value);

/** A decimal string the API accepts (unsigned): digits with an optional fraction. */
export const UNSIGNED_DECIMAL = /^[0-9]{1,20}(\.[0-9]{1,18})?$/;

function scaled(value: string, scale: number): bigint | undefined {
  const m = DECIMAL.exec(value);
  if (m === null) return undefined;
  const [, sign = '', int = '0', frac = ''] = m;
  const n = BigInt(`${int}${frac.padEnd(scale, '0')}`);
  return sign === '-' ? -n : n;
}

function unscaled(n: bigint, scale: number): string {
  const neg = n < 0n;
  const digits = (neg ? -n : n).toString().padStart(scale + 1, '0');
  const int = digits.slice(0, digits.length - scale);
  const frac = digits.slice(digits.length - scale);
  return `${neg ? '-' : ''}${int}${scale > 0 ? `.${frac}` : ''}`;
}

/**
 * The change from `previous` to `current`, exactly (BigInt on the decimal digits, no float):
 * the difference with the inputs' larger scale, and the percentage rounded half away from
 * zero to two places (undefined when `previous` is zero).
 */
export function changeFrom(current: string, previous: string): { change: string; percent: string | undefined } | undefined {
  const scale = Math.max((current.split('.')[1] ?? '').length, (previous.split('.')[1] ?? '').length);
  const a = scaled(current, scale);
  const b = scaled(previous, scale);
  if (a === undefined || b === undefined) return undefined;
  const diff = a - b;
  const percent = b === 0n ? undefined : roundDecimal(unscaled((diff * 100_000_000n) / b, 6), 2);
  return { change: unscaled(diff, scale), percent };
}
