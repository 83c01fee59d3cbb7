// Share quantities as exact rationals (BigInt numerator / denominator). A decimal alone is
// not enough once splits exist: a 1-for-3 reverse split of 10 shares leaves 10/3, which
// no decimal holds, and a later 3-for-1 split must give back exactly 10. Every quantity
// entered is a terminating decimal, so it converts exactly; only splits introduce other
// denominators.
//
// Speed: an entered quantity has the denominator 10^30 (it is a `Scaled` value), and the
// fraction is not reduced after every operation, so the adds, subtracts and compares of a
// replay are one BigInt operation each while the denominators match. Denominators that
// differ are brought to their least common multiple, which stays a multiple of 10^30.
import { AMOUNT_SCALE, Decimal, divRoundHalfUp, formatRatio, INPUT_SCALE, pow10, SCALED_ONE, type Amount, type Scaled } from '../../money/index.ts';

function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

export class Quantity {
  /** Numerator; the sign lives here. */
  readonly n: bigint;
  /** Denominator, always > 0; not necessarily coprime with n. */
  readonly d: bigint;

  private constructor(n: bigint, d: bigint) {
    this.n = n;
    this.d = d;
  }

  static readonly ZERO = new Quantity(0n, SCALED_ONE);

  /** n/d in lowest terms (d ≠ 0). */
  static of(n: bigint, d = 1n): Quantity {
    if (d === 0n) throw new RangeError('zero denominator');
    const sign = d < 0n ? -1n : 1n;
    const g = gcd(n, d) || 1n;
    return new Quantity((sign * n) / g, (sign * d) / g);
  }

  /** An entered quantity: exact. */
  static fromScaled(value: Scaled): Quantity {
    return new Quantity(value, SCALED_ONE);
  }

  /** Numerators of a and b over a common denominator. */
  private static common(a: Quantity, b: Quantity): [bigint, bigint, bigint] {
    if (a.d === b.d) return [a.n, b.n, a.d];
    if (a.d % b.d === 0n) return [a.n, b.n * (a.d / b.d), a.d];
    if (b.d % a.d === 0n) return [a.n * (b.d / a.d), b.n, b.d];
    const lcm = (a.d / gcd(a.d, b.d)) * b.d;
    return [a.n * (lcm / a.d), b.n * (lcm / b.d), lcm];
  }

  plus(other: Quantity): Quantity {
    const [a, b, d] = Quantity.common(this, other);
    return new Quantity(a + b, d);
  }

  minus(other: Quantity): Quantity {
    const [a, b, d] = Quantity.common(this, other);
    return new Quantity(a - b, d);
  }

  cmp(other: Quantity): -1 | 0 | 1 {
    const [a, b] = Quantity.common(this, other);
    return a < b ? -1 : a > b ? 1 : 0;
  }

  /** Multiplies by the integer ratio numerator/denominator (a split); exact. */
  scale(numerator: bigint, denominator: bigint): Quantity {
    const n = this.n * numerator;
    if (n % denominator === 0n) return new Quantity(n / denominator, this.d);
    const g = gcd(n, denominator);
    return new Quantity(n / g, this.d * (denominator / g));
  }

  /** this ÷ whole × cost, rounded half-up to `places` decimal places of the amount (a partly sold lot's cost). */
  shareOf(whole: Quantity, cost: Amount, places: number): Amount {
    const [part, all] = Quantity.common(this, whole);
    const unit = pow10(AMOUNT_SCALE - places);
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
    if (this.d === SCALED_ONE) return true;
    let d = this.d / (gcd(this.n, this.d) || 1n);
    while (d % 2n === 0n) d /= 2n;
    while (d % 5n === 0n) d /= 5n;
    return d === 1n;
  }

  /** The value rounded half-up to `places` decimal places, as an entered value (`places` ≤ 30). */
  roundedScaled(places: number): Scaled {
    return divRoundHalfUp(this.n * pow10(places), this.d) * pow10(INPUT_SCALE - places);
  }

  /** As a Decimal (for interop and tests): exact when terminating, else correct to 60 significant digits. */
  toDecimal(): Decimal {
    return new Decimal(this.n.toString()).div(this.d.toString());
  }

  /** For display: half-up at `places`, trailing zeros trimmed. */
  format(places: number): string {
    return formatRatio(this.n, this.d, places);
  }

  /** this × price × fx_rate as an amount: exact whenever the result terminates within 90 places, else rounded half-up there. */
  valueAt(price: Scaled, fxRate: Scaled): Amount {
    const product = this.n * price * fxRate;
    if (this.d === SCALED_ONE) return product;
    return divRoundHalfUp(product * SCALED_ONE, this.d);
  }

  /** amount ÷ this, half-up at `places`, trailing zeros trimmed (a cost per share for display). */
  formatPerUnit(amount: Amount, places: number): string {
    return formatRatio(amount * this.d, this.n * pow10(AMOUNT_SCALE), places);
  }
}
