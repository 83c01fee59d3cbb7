// Share quantities as exact rationals (BigInt numerator / denominator). A decimal alone is
// not enough once splits exist: a 1-for-3 reverse split of 10 shares leaves 10/3, which
// no decimal holds, and a later 3-for-1 split must give back exactly 10. Every quantity
// entered is a terminating decimal, so it converts exactly; only splits introduce other
// denominators.
//
// Speed: an entered quantity's denominator is a power of ten (10^places), and the
// fraction is not reduced after every operation, so the adds, subtracts and compares of a
// replay are one BigInt operation each while the places match, and one multiplication
// when they differ. Other denominators are brought to their least common multiple.
import { Decimal, divRoundHalfUp, formatRatio, pow10, rescale, type Amount, type Exact } from '../../money/index.ts';

function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

/** k when d is 10^k, else -1. */
function placesOf(d: bigint): number {
  let k = 0;
  let rest = d;
  while (rest % 10n === 0n) {
    rest /= 10n;
    k += 1;
  }
  return rest === 1n ? k : -1;
}

export class Quantity {
  /** Numerator; the sign lives here. */
  readonly n: bigint;
  /** Denominator, always > 0; not necessarily coprime with n. */
  readonly d: bigint;
  /** k when the denominator is 10^k (a decimal with k places), -1 when it is not. */
  readonly places: number;

  private constructor(n: bigint, d: bigint, places: number) {
    this.n = n;
    this.d = d;
    this.places = places;
  }

  static readonly ZERO = new Quantity(0n, 1n, 0);

  /** n/d in lowest terms (d ≠ 0). */
  static of(n: bigint, d = 1n): Quantity {
    if (d === 0n) throw new RangeError('zero denominator');
    const sign = d < 0n ? -1n : 1n;
    const g = gcd(n, d) || 1n;
    const denominator = (sign * d) / g;
    return new Quantity((sign * n) / g, denominator, placesOf(denominator));
  }

  /** An entered quantity: exact. */
  static fromExact(value: Exact): Quantity {
    return new Quantity(value.units, pow10(value.places), value.places);
  }

  /** Numerators of a and b over a common denominator, that denominator and its places. */
  private static common(a: Quantity, b: Quantity): [bigint, bigint, bigint, number] {
    if (a.d === b.d) return [a.n, b.n, a.d, a.places];
    if (a.places >= 0 && b.places >= 0) {
      return a.places > b.places ? [a.n, b.n * pow10(a.places - b.places), a.d, a.places] : [a.n * pow10(b.places - a.places), b.n, b.d, b.places];
    }
    if (a.d % b.d === 0n) return [a.n, b.n * (a.d / b.d), a.d, a.places];
    if (b.d % a.d === 0n) return [a.n * (b.d / a.d), b.n, b.d, b.places];
    const lcm = (a.d / gcd(a.d, b.d)) * b.d;
    return [a.n * (lcm / a.d), b.n * (lcm / b.d), lcm, -1];
  }

  plus(other: Quantity): Quantity {
    if (this.d === other.d) return new Quantity(this.n + other.n, this.d, this.places); // the common case, without the array
    const [a, b, d, places] = Quantity.common(this, other);
    return new Quantity(a + b, d, places);
  }

  minus(other: Quantity): Quantity {
    if (this.d === other.d) return new Quantity(this.n - other.n, this.d, this.places);
    const [a, b, d, places] = Quantity.common(this, other);
    return new Quantity(a - b, d, places);
  }

  cmp(other: Quantity): -1 | 0 | 1 {
    let a = this.n;
    let b = other.n;
    if (this.d !== other.d) [a, b] = Quantity.common(this, other);
    return a < b ? -1 : a > b ? 1 : 0;
  }

  /** Multiplies by the integer ratio numerator/denominator (a split); exact. */
  scale(numerator: bigint, denominator: bigint): Quantity {
    const n = this.n * numerator;
    if (n % denominator === 0n) return new Quantity(n / denominator, this.d, this.places);
    const g = gcd(n, denominator);
    return new Quantity(n / g, this.d * (denominator / g), -1);
  }

  /**
   * this ÷ whole × cost, where cost is an integer of 10^-scale, rounded half-up to
   * `places` decimal places (≤ scale) and given at the same scale: a partly sold lot's cost.
   */
  shareOf(whole: Quantity, cost: Amount, scale: number, places: number): Amount {
    const [part, all] = Quantity.common(this, whole);
    if (scale === places) return divRoundHalfUp(cost * part, all);
    const unit = pow10(scale - places);
    return divRoundHalfUp(cost * part, all * unit) * unit;
  }

  isZero(): boolean {
    return this.n === 0n;
  }

  isPositive(): boolean {
    return this.n > 0n;
  }

  /** True when the value is a terminating decimal (the reduced denominator only has factors 2 and 5). */
  isTerminating(): boolean {
    if (this.places >= 0) return true;
    let d = this.d / (gcd(this.n, this.d) || 1n);
    while (d % 2n === 0n) d /= 2n;
    while (d % 5n === 0n) d /= 5n;
    return d === 1n;
  }

  /** The value rounded half-up to `places` decimal places. */
  roundedTo(places: number): Quantity {
    return new Quantity(divRoundHalfUp(this.n * pow10(places), this.d), pow10(places), places);
  }

  /** As a Decimal (for interop and tests): exact when terminating, else correct to 60 significant digits. */
  toDecimal(): Decimal {
    return new Decimal(this.n.toString()).div(this.d.toString());
  }

  /** For display: half-up at `places`, trailing zeros trimmed. */
  format(places: number): string {
    return formatRatio(this.n, this.d, places);
  }

  /** Places `valueAt` needs to be exact (0 when the quantity is not a decimal, which no scale makes exact). */
  valuePlaces(price: Exact, fxRate: Exact): number {
    return this.places >= 0 ? this.places + price.places + fxRate.places : 0;
  }

  /**
   * this × price × fx_rate as an integer of 10^-scale: exact when `scale` ≥ valuePlaces
   * and the quantity is a decimal, else rounded half-up there.
   */
  valueAt(price: Exact, fxRate: Exact, scale: number): Amount {
    const product = fxRate.units === 1n ? this.n * price.units : this.n * price.units * fxRate.units;
    if (this.places >= 0) return rescale(product, this.places + price.places + fxRate.places, scale);
    return divRoundHalfUp(product * pow10(scale), this.d * pow10(price.places + fxRate.places));
  }

  /** amount (of 10^-scale) ÷ this, half-up at `places`, trailing zeros trimmed (a cost per share for display). */
  formatPerUnit(amount: Amount, scale: number, places: number): string {
    return formatRatio(amount * this.d, this.n * pow10(scale), places);
  }
}
