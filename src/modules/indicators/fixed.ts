// The exact-number kernel behind the indicators (FAIL-002: no binary floating point in
// the computation). Two representations, chosen for speed without giving up exactness:
//
// 1. Prices as scaled integers: a decimal with at most MAX_DECIMALS places, times 10^D,
//    held in a double. Every such integer is below 2^53, so sums, differences and
//    products computed here stay exact; ExactSum switches to BigInt before a sum could
//    leave that range.
// 2. Smoothed state (EMA, Wilder) as fixed point at 10^-30, an integer split into three
//    base-10^12 limbs held in doubles: value = (h·10^24 + m·10^12 + l)·10^-30, with h
//    signed and 0 ≤ m, l < 10^12. The one operation the recurrences need,
//    round((s·a + mul·t) / d) for small integers a, mul, d, is long division limb by
//    limb in which every intermediate is an integer below 2^53, hence exact.
//
// Doubles are used only as integers here; a double quotient is a first guess that is
// corrected with an exact remainder. Division and square roots of the final outputs
// (SMA, RSI, Bollinger) are done on BigInt when a value is rendered.

/** Decimal places of the fixed-point state and of every rendered result that does not terminate earlier. */
export const SCALE_DIGITS = 30;
/** Base of one limb. */
export const LIMB = 1e12;
/** Most decimal places accepted in an input price. */
export const MAX_DECIMALS = 8;
/** Inputs must be strictly below this in absolute value (keeps every limb product below 2^53). */
export const MAX_ABS_PRICE = 1_000_000;

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const LIMB_BIG = 10n ** 12n;
const LIMB2_BIG = 10n ** 24n;
export const SCALE_BIG = 10n ** 30n;
const SQRT_MAX_SAFE = 94_906_265; // floor(sqrt(2^53 - 1)): x·x is exact below this

/** 10^k as a BigInt: the money kernel's cached powers. */
export { pow10 } from '../../money/index.ts';

/**
 * A fixed-point number at 10^-30 in three limbs [h, m, l] (see the file comment). A
 * Float64Array, not an object with three fields: V8 keeps typed-array elements unboxed,
 * so the hot loops store limbs without allocating. Mutable on purpose.
 */
export type Fixed = Float64Array;

export const newFixed = (): Fixed => new Float64Array(3);

export const fixedToBigInt = (f: Fixed): bigint => limbsToBigInt(f[0]!, f[1]!, f[2]!);

/** Sets f to v·10^-30 (v any integer whose top limb is a safe integer). */
export function fixedFromBigInt(f: Fixed, v: bigint): Fixed {
  // Floor division keeps m and l non-negative for negative values.
  let l = v % LIMB_BIG;
  let rest = v / LIMB_BIG;
  if (l < 0n) {
    l += LIMB_BIG;
    rest -= 1n;
  }
  let m = rest % LIMB_BIG;
  let h = rest / LIMB_BIG;
  if (m < 0n) {
    m += LIMB_BIG;
    h -= 1n;
  }
  if (h > BigInt(MAX_SAFE) || h < -BigInt(MAX_SAFE)) throw new RangeError('fixed-point value out of range');
  f[0] = Number(h);
  f[1] = Number(m);
  f[2] = Number(l);
  return f;
}

export const limbsToBigInt = (h: number, m: number, l: number): bigint =>
  BigInt(h) * LIMB2_BIG + BigInt(m) * LIMB_BIG + BigInt(l);

/**
 * Converts a scaled integer x·10^-decimals (decimals ≤ MAX_DECIMALS, |x·10^-decimals| < 2·MAX_ABS_PRICE)
 * into `out` at 10^-30. Exact: for decimals ≤ 6 the value fits the top limb alone.
 */
export function placeScaled(out: Fixed, x: number, decimals: number): Fixed {
  if (decimals <= 6) {
    out[0] = x * POW10_NUM[6 - decimals]!;
    out[1] = 0;
    out[2] = 0;
    return out;
  }
  const div = POW10_NUM[decimals - 6]!;
  let top = Math.floor(x / div);
  let rem = x - top * div;
  if (rem < 0) {
    top -= 1;
    rem += div;
  }
  out[0] = top;
  out[1] = rem * POW10_NUM[18 - decimals]!;
  out[2] = 0;
  return out;
}

const POW10_NUM: number[] = Array.from({ length: 16 }, (_, k) => 10 ** k);

/** Adds `t` to `acc` limb-wise without normalising (used for seed sums of at most 1000 terms). */
export function addUnnormalised(acc: Fixed, t: Fixed): void {
  acc[0] = acc[0]! + t[0]!;
  acc[1] = acc[1]! + t[1]!;
  acc[2] = acc[2]! + t[2]!;
}

const INV_LIMB = 1e-12;

/**
 * Splits x (an integer, |x| < 2^52) into floor(x / 10^12) and the remainder, exactly. The
 * product with 1e-12 is a first guess; the two corrections are almost never taken, which
 * keeps the hot loops free of unpredictable branches.
 */
function carryOf(x: number): number {
  let c = Math.floor(x * INV_LIMB);
  const rem = x - c * LIMB;
  if (rem < 0) c -= 1;
  else if (rem >= LIMB) c += 1;
  return c;
}

/**
 * s ← round_half_up((s·a + mul·t) / d), exactly, for integers 0 ≤ a < d ≤ 1001, 1 ≤ mul ≤ 2
 * and s, t of at most ~2·10^12 in the top limb (prices below 10^6; seed sums of up to 1000
 * terms are allowed unnormalised). The dividend is normalised to limbs below 10^12 first,
 * then divided limb by limb; every intermediate is an integer below 2^53, hence exact. A
 * double quotient can come out one off; the remainder check corrects it (rarely taken).
 */
export function smoothInto(s: Fixed, a: number, mul: number, t: Fixed, d: number): void {
  let xl = s[2]! * a + mul * t[2]!;
  let xm = s[1]! * a + mul * t[1]!;
  const c1 = carryOf(xl);
  xl -= c1 * LIMB;
  xm += c1;
  const c2 = carryOf(xm);
  xm -= c2 * LIMB;
  const xh = s[0]! * a + mul * t[0]! + c2;

  // Multiplying by 1/d (computed off the critical path) is much faster than dividing;
  // the product is within ±1 of the true quotient because every dividend is below 2^52,
  // and the exact remainder corrects it either way.
  const inv = 1 / d;
  let q = Math.floor(xh * inv);
  let r = xh - q * d;
  if (r < 0) {
    q -= 1;
    r += d;
  } else if (r >= d) {
    q += 1;
    r -= d;
  }
  let h = q;
  let x = r * LIMB + xm;
  q = Math.floor(x * inv);
  r = x - q * d;
  if (r < 0) {
    q -= 1;
    r += d;
  } else if (r >= d) {
    q += 1;
    r -= d;
  }
  let m = q;
  // Adding floor(d/2) before the last division rounds half up: floor((x + ⌊d/2⌋)/d).
  x = r * LIMB + xl + (d >> 1);
  let l = Math.floor(x * inv);
  r = x - l * d;
  if (r < 0) l -= 1;
  else if (r >= d) l += 1;
  // m and l are below 10^12 by construction, except when rounding up carries (rare).
  if (l >= LIMB) {
    l -= LIMB;
    m += 1;
    if (m >= LIMB) {
      m -= LIMB;
      h += 1;
    }
  }
  s[0] = h;
  s[1] = m;
  s[2] = l;
}

/** out ← a − b, exactly (normalised); borrows by arithmetic rather than by branches. */
export function subInto(out: Fixed, a: Fixed, b: Fixed): void {
  let l = a[2]! - b[2]! + LIMB;
  const c1 = carryOf(l); // 1 when no borrow is needed, else 0
  l -= c1 * LIMB;
  let m = a[1]! - b[1]! + c1 - 1 + LIMB;
  const c2 = carryOf(m);
  m -= c2 * LIMB;
  out[0] = a[0]! - b[0]! + c2 - 1;
  out[1] = m;
  out[2] = l;
}

/**
 * An exact running sum of integers: a double while the sum stays within ±(2^53 − 1), BigInt
 * from the first step that would leave that range on.
 */
export class ExactSum {
  num = 0;
  big: bigint | null = null;

  add(x: number): void {
    if (this.big === null) {
      const s = this.num + x;
      // A true sum beyond the safe range rounds to at least 2^53, so this test is exact.
      if (s <= MAX_SAFE && s >= -MAX_SAFE) {
        this.num = s;
        return;
      }
      this.big = BigInt(this.num);
    }
    this.big += BigInt(x);
  }

  addSquare(x: number, sign: 1 | -1): void {
    if (x < SQRT_MAX_SAFE && x > -SQRT_MAX_SAFE) {
      this.add(sign * x * x);
      return;
    }
    const sq = BigInt(x) * BigInt(x);
    this.big = (this.big ?? BigInt(this.num)) + (sign === 1 ? sq : -sq);
  }

  value(): bigint {
    return this.big ?? BigInt(this.num);
  }

  load(v: bigint): void {
    if (v <= BigInt(MAX_SAFE) && v >= -BigInt(MAX_SAFE)) {
      this.num = Number(v);
      this.big = null;
    } else {
      this.num = 0;
      this.big = v;
    }
  }
}

/** round_half_up(num / den) = floor((2·num + den) / (2·den)) for den > 0 (floor division, also for negative num). */
export function divRoundHalfUp(num: bigint, den: bigint): bigint {
  return floorDiv(2n * num + den, 2n * den);
}

export function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
}

/** floor(sqrt(z)) for z ≥ 0: Newton's method on BigInt from a double first guess. */
export function isqrt(z: bigint): bigint {
  if (z < 0n) throw new RangeError('isqrt of a negative number');
  if (z < 2n) return z;
  // A guess at or above the root makes Newton's iteration decrease monotonically to floor(sqrt(z)).
  const bits = z.toString(2).length;
  // sqrt of the double is within a relative 2^-52 of the root; 1e-14 of headroom puts the guess above it.
  let x = bits <= 1000 ? BigInt(Math.ceil(Math.sqrt(Number(z)) * (1 + 1e-14))) + 1n : 1n << BigInt((bits >> 1) + 1);
  for (;;) {
    const y = (x + z / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

/** Renders v·10^-scale as a plain decimal string: no exponent, no trailing fractional zeros. */
export function formatScaled(v: bigint, scale: number = SCALE_DIGITS): string {
  const negative = v < 0n;
  let digits = (negative ? -v : v).toString();
  if (scale > 0) {
    if (digits.length <= scale) digits = '0'.repeat(scale - digits.length + 1) + digits;
    const cut = digits.length - scale;
    let frac = digits.slice(cut);
    let end = frac.length;
    while (end > 0 && frac.charCodeAt(end - 1) === 48) end -= 1;
    frac = frac.slice(0, end);
    digits = frac.length > 0 ? `${digits.slice(0, cut)}.${frac}` : digits.slice(0, cut);
  }
  if (digits === '0') return '0';
  return negative ? `-${digits}` : digits;
}

const ZEROS = '000000000000';
const pad = (x: number, width: number) => {
  const t = String(x);
  return t.length >= width ? t : ZEROS.slice(0, width - t.length) + t;
};

/**
 * formatScaled for a value held in limbs, without BigInt (the rendering hot path): the
 * same string as formatScaled(limbsToBigInt(h, m, l)).
 */
export function formatLimbs(h: number, m: number, l: number): string {
  let sign = '';
  if (h < 0) {
    sign = '-';
    l = -l;
    m = -m;
    h = -h;
    if (l < 0) {
      l += LIMB;
      m -= 1;
    }
    if (m < 0) {
      m += LIMB;
      h -= 1;
    }
  }
  // The top limb holds the integer part and the first 6 decimals.
  const int = Math.floor(h / 1e6);
  const frac = pad(h - int * 1e6, 6) + pad(m, 12) + pad(l, 12);
  let end = frac.length;
  while (end > 0 && frac.charCodeAt(end - 1) === 48) end -= 1;
  if (end === 0) return int === 0 ? '0' : sign + String(int);
  return `${sign}${int}.${frac.slice(0, end)}`;
}

/** A price as a scaled integer: value·10^-decimals, trailing fractional zeros dropped. */
export interface ScaledPrice {
  value: number;
  decimals: number;
}

/**
 * Parses a plain decimal price ("12", "-0.0625", "3.10") straight into a scaled integer,
 * or says why it cannot be used. Without BigInt: at most 6 integer digits and 8 decimals
 * make at most 14 digits, exact in a double.
 */
export function parsePrice(text: string): ScaledPrice | string {
  let i = 0;
  let end = text.length;
  while (i < end && text.charCodeAt(i) <= 32) i++;
  while (end > i && text.charCodeAt(end - 1) <= 32) end--;
  const first = text.charCodeAt(i);
  const negative = first === 45;
  if (negative || first === 43) i++;
  const intStart = i;
  let value = 0;
  for (; i < end && isDigit(text.charCodeAt(i)); i++) value = value * 10 + (text.charCodeAt(i) - 48);
  if (i === intStart) return NOT_DECIMAL;
  // Long integer parts lose exactness in `value`, but stay ≥ 10^6, which is all we ask of them.
  if (value >= MAX_ABS_PRICE) return i < end && !isFraction(text, i, end) ? NOT_DECIMAL : OUT_OF_RANGE;
  let decimals = 0;
  if (i < end) {
    if (!isFraction(text, i, end)) return NOT_DECIMAL;
    let last = i; // the last non-zero digit after the point
    for (let j = i + 1; j < end; j++) if (text.charCodeAt(j) !== 48) last = j;
    decimals = last - i;
    if (decimals > MAX_DECIMALS) return TOO_MANY_PLACES;
    for (let j = i + 1; j <= last; j++) value = value * 10 + (text.charCodeAt(j) - 48);
  }
  return { value: negative && value !== 0 ? -value : value, decimals };
}

/** text[i..end) is "." followed by at least one digit and nothing else. */
function isFraction(text: string, i: number, end: number): boolean {
  if (text.charCodeAt(i) !== 46 || i + 1 >= end) return false;
  for (let j = i + 1; j < end; j++) if (!isDigit(text.charCodeAt(j))) return false;
  return true;
}

const isDigit = (c: number) => c >= 48 && c <= 57;
const NOT_DECIMAL = 'is not a plain decimal number';
const TOO_MANY_PLACES = `has more than ${MAX_DECIMALS} decimal places`;
const OUT_OF_RANGE = `is out of range (|value| must be below ${MAX_ABS_PRICE})`;

const DECIMAL_RE = /^([+-]?)(\d+)(?:\.(\d+))?$/;

/** A parsed decimal: value = int·10^-decimals, with trailing fractional zeros dropped. */
export interface ParsedDecimal {
  int: bigint;
  decimals: number;
}

/** Parses a plain decimal string ("12", "-0.0625", "3.10"); undefined if it is not one. */
export function parseDecimal(text: string): ParsedDecimal | undefined {
  const m = DECIMAL_RE.exec(text.trim());
  if (m === null) return undefined;
  let frac = m[3] ?? '';
  let end = frac.length;
  while (end > 0 && frac.charCodeAt(end - 1) === 48) end -= 1;
  frac = frac.slice(0, end);
  const int = BigInt(`${m[2]!}${frac}`);
  return { int: m[1] === '-' ? -int : int, decimals: frac.length };
}

/**
 * A rendered value rounded half up (ties towards +∞, as every rounding here) to exactly
 * `places` decimals, on BigInt: "1.23456", 2 → "1.23"; "-0.125", 2 → "-0.12"; "2", 2 → "2.00".
 */
export function roundToPlaces(text: string, places: number): string {
  const parsed = parseDecimal(text);
  if (parsed === undefined) throw new RangeError(`not a plain decimal: ${text}`);
  let v = parsed.int;
  if (parsed.decimals > places) v = divRoundHalfUp(v, 10n ** BigInt(parsed.decimals - places));
  else v *= 10n ** BigInt(places - parsed.decimals);
  const negative = v < 0n;
  let digits = (negative ? -v : v).toString();
  if (places > 0) {
    digits = digits.padStart(places + 1, '0');
    digits = `${digits.slice(0, digits.length - places)}.${digits.slice(digits.length - places)}`;
  }
  return negative && v !== 0n ? `-${digits}` : digits;
}
