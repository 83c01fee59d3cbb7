// Share quantities as exact rationals (BigInt numerator / denominator). Decimal alone is
// not enough once splits exist: a 1-for-3 reverse split of 10 shares leaves 10/3, which
// no decimal holds, and a later 3-for-1 split must give back exactly 10. Every quantity
// entered is a terminating decimal, so it converts exactly; only splits introduce other
// denominators. Values leave as Decimal (60 significant digits) for valuation and display.
import { Decimal, toPlain } from '../../money/index.ts';

function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

export class Quantity {
  /** Numerator; the sign lives here. */
  readonly n: bigint;
  /** Denominator, always > 0 and coprime with n. */
  readonly d: bigint;

  private constructor(n: bigint, d: bigint) {
    if (d === 0n) throw new RangeError('zero denominator');
    const sign = d < 0n ? -1n : 1n;
    const g = gcd(n, d) || 1n;
    this.n = (sign * n) / g;
    this.d = (sign * d) / g;
  }

  static readonly ZERO = new Quantity(0n, 1n);

  static of(n: bigint, d = 1n): Quantity {
    return new Quantity(n, d);
  }

  /** Exact: a finite Decimal is a fraction over a power of ten. */
  static fromDecimal(value: Decimal): Quantity {
    const text = toPlain(value);
    const negative = text.startsWith('-');
    const [whole = '0', fraction = ''] = (negative ? text.slice(1) : text).split('.');
    const n = BigInt(whole + fraction) * (negative ? -1n : 1n);
    return new Quantity(n, 10n ** BigInt(fraction.length));
  }

  plus(other: Quantity): Quantity {
    return new Quantity(this.n * other.d + other.n * this.d, this.d * other.d);
  }

  minus(other: Quantity): Quantity {
    return new Quantity(this.n * other.d - other.n * this.d, this.d * other.d);
  }

  /** Multiplies by the integer ratio numerator/denominator (a split). */
  scale(numerator: bigint, denominator: bigint): Quantity {
    return new Quantity(this.n * numerator, this.d * denominator);
  }

  /** this / other as an exact rational (the fraction of a lot being sold). */
  ratioTo(other: Quantity): Quantity {
    return new Quantity(this.n * other.d, this.d * other.n);
  }

  cmp(other: Quantity): -1 | 0 | 1 {
    const left = this.n * other.d;
    const right = other.n * this.d;
    return left < right ? -1 : left > right ? 1 : 0;
  }

  isZero(): boolean {
    return this.n === 0n;
  }

  isPositive(): boolean {
    return this.n > 0n;
  }

  /** True when the value is a terminating decimal (denominator only has factors 2 and 5). */
  isTerminating(): boolean {
    let d = this.d;
    while (d % 2n === 0n) d /= 2n;
    while (d % 5n === 0n) d /= 5n;
    return d === 1n;
  }

  /** As a Decimal: exact when terminating, else correct to 60 significant digits. */
  toDecimal(): Decimal {
    return new Decimal(this.n.toString()).div(this.d.toString());
  }

  /** value × this, computed as (value × n) / d so only one rounding can happen. */
  times(value: Decimal): Decimal {
    return value.times(this.n.toString()).div(this.d.toString());
  }
}
