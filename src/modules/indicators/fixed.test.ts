// The exact-number kernel, checked against plain BigInt arithmetic (an independent and
// obviously exact model) on random and edge-case inputs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  divRoundHalfUp, ExactSum, fixedFromBigInt, fixedToBigInt, floorDiv, formatLimbs, formatScaled, isqrt, limbsToBigInt, LIMB, newFixed,
  parseDecimal, parsePrice, placeScaled, smoothInto, subInto,
} from './fixed.ts';

const B = 10n ** 12n;
/** A fixed-point value whose top limb stays within the documented bound (|price| < 10^6 → |h| ≤ 2·10^12). */
const arbFixed = fc.tuple(fc.integer({ min: -2_000_000_000_000, max: 2_000_000_000_000 }), fc.integer({ min: 0, max: 999_999_999_999 }), fc.integer({ min: 0, max: 999_999_999_999 }))
  .map(([h, m, l]) => BigInt(h) * B * B + BigInt(m) * B + BigInt(l));
const roundHalfUp = (num: bigint, den: bigint) => floorDiv(2n * num + den, 2n * den);

describe('fixed-point kernel', () => {
  it('smoothInto equals round_half_up((s·a + mul·t)/d) computed with BigInt', () => {
    fc.assert(
      fc.property(arbFixed, arbFixed, fc.integer({ min: 2, max: 1001 }), fc.integer({ min: 1, max: 2 }), fc.nat(), (s, t, d, mul, aSeed) => {
        const a = aSeed % d; // 0 ≤ a < d
        const sf = fixedFromBigInt(newFixed(), s);
        smoothInto(sf, a, mul, fixedFromBigInt(newFixed(), t), d);
        assert.equal(fixedToBigInt(sf), roundHalfUp(s * BigInt(a) + BigInt(mul) * t, BigInt(d)));
        assert.ok(sf[1]! >= 0 && sf[1]! < LIMB && sf[2]! >= 0 && sf[2]! < LIMB, 'lower limbs normalised');
      }),
      { numRuns: 5000 },
    );
  });

  it('smoothInto is exact when the dividend is an exact multiple of d (where a reciprocal guess is one low)', () => {
    fc.assert(
      fc.property(arbFixed, fc.integer({ min: 1, max: 1001 }), (v, d) => {
        const scaled = v / BigInt(d); // keeps the top limb within bounds
        const t = fixedFromBigInt(newFixed(), scaled * BigInt(d));
        const out = newFixed();
        smoothInto(out, 0, 1, t, d);
        assert.equal(fixedToBigInt(out), scaled);
        // and with the largest a: (s·(d−1) + s)/d = s
        const s = fixedFromBigInt(newFixed(), scaled);
        smoothInto(s, d - 1, 1, fixedFromBigInt(newFixed(), scaled), d);
        assert.equal(fixedToBigInt(s), scaled);
      }),
      { numRuns: 5000 },
    );
  });

  it('smoothInto rounds exact halves up (towards +∞), also for negative values', () => {
    const s = fixedFromBigInt(newFixed(), 0n);
    smoothInto(s, 0, 1, fixedFromBigInt(newFixed(), 5n), 2); // 2.5 → 3
    assert.equal(fixedToBigInt(s), 3n);
    smoothInto(s.fill(0), 0, 1, fixedFromBigInt(newFixed(), -5n), 2); // −2.5 → −2
    assert.equal(fixedToBigInt(s), -2n);
    smoothInto(s.fill(0), 0, 1, fixedFromBigInt(newFixed(), -7n), 2); // −3.5 → −3
    assert.equal(fixedToBigInt(s), -3n);
  });

  it('smoothInto divides unnormalised seed sums of up to 1000 terms exactly', () => {
    fc.assert(
      fc.property(fc.array(arbFixed, { minLength: 1, maxLength: 1000 }), (values) => {
        const acc = newFixed();
        for (const v of values) {
          const f = fixedFromBigInt(newFixed(), v);
          acc[0] = acc[0]! + f[0]!;
          acc[1] = acc[1]! + f[1]!;
          acc[2] = acc[2]! + f[2]!;
        }
        const out = newFixed();
        smoothInto(out, 0, 1, acc, values.length);
        const sum = values.reduce((x, y) => x + y, 0n);
        assert.equal(fixedToBigInt(out), roundHalfUp(sum, BigInt(values.length)));
      }),
      { numRuns: 200 },
    );
  });

  it('subInto is exact subtraction', () => {
    fc.assert(
      fc.property(arbFixed, arbFixed, (a, b) => {
        const out = newFixed();
        subInto(out, fixedFromBigInt(newFixed(), a), fixedFromBigInt(newFixed(), b));
        assert.equal(fixedToBigInt(out), a - b);
        assert.ok(out[1]! >= 0 && out[1]! < LIMB && out[2]! >= 0 && out[2]! < LIMB);
      }),
      { numRuns: 5000 },
    );
    const out = newFixed();
    subInto(out, fixedFromBigInt(newFixed(), 10n ** 24n), fixedFromBigInt(newFixed(), 1n));
    assert.equal(fixedToBigInt(out), 10n ** 24n - 1n);
  });

  it('placeScaled puts x·10^-decimals at 10^-30 exactly for every supported number of places', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 8 }), fc.bigInt({ min: -(10n ** 14n) + 1n, max: 10n ** 14n - 1n }), (decimals, x) => {
        const bound = 2n * 10n ** BigInt(6 + decimals);
        const v = x % bound;
        const f = placeScaled(newFixed(), Number(v), decimals);
        assert.equal(fixedToBigInt(f), v * 10n ** BigInt(30 - decimals));
      }),
      { numRuns: 3000 },
    );
  });

  it('ExactSum stays exact across 2^53 by switching to BigInt', () => {
    const s = new ExactSum();
    const big = 2 ** 52;
    s.add(big);
    s.add(big);
    s.add(big);
    s.add(1);
    assert.equal(s.value(), 3n * 2n ** 52n + 1n);
    assert.notEqual(s.big, null);
    const q = new ExactSum();
    q.addSquare(99_999_999_999, 1); // the square is far above 2^53
    q.addSquare(3, 1);
    q.addSquare(99_999_999_999, -1);
    assert.equal(q.value(), 9n);
  });

  it('isqrt is floor(sqrt(z)) for small, large and perfect-square inputs', () => {
    for (const z of [0n, 1n, 2n, 3n, 4n, 15n, 16n, 17n, 10n ** 60n, 10n ** 60n - 1n, (10n ** 40n + 7n) ** 2n, 2n ** 1200n + 12345n]) {
      const r = isqrt(z);
      assert.ok(r * r <= z && (r + 1n) * (r + 1n) > z, `isqrt(${z})`);
    }
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 120n }), (z) => {
        const r = isqrt(z);
        assert.ok(r * r <= z && (r + 1n) * (r + 1n) > z);
      }),
      { numRuns: 2000 },
    );
  });

  it('divRoundHalfUp and floorDiv round as documented for both signs', () => {
    assert.equal(divRoundHalfUp(5n, 2n), 3n);
    assert.equal(divRoundHalfUp(-5n, 2n), -2n);
    assert.equal(divRoundHalfUp(7n, 3n), 2n);
    assert.equal(floorDiv(-7n, 2n), -4n);
    assert.equal(floorDiv(7n, 2n), 3n);
  });

  it('formatScaled writes plain decimals without exponent or trailing zeros', () => {
    assert.equal(formatScaled(0n), '0');
    assert.equal(formatScaled(10n ** 30n), '1');
    assert.equal(formatScaled(-(10n ** 30n) / 2n), '-0.5');
    assert.equal(formatScaled(1n), '0.000000000000000000000000000001');
    assert.equal(formatScaled(123_456_000n, 6), '123.456');
    assert.equal(formatScaled(-1n, 2), '-0.01');
    assert.equal(formatScaled(10n ** 50n), '100000000000000000000');
  });

  it('parseDecimal reads plain decimals only', () => {
    assert.deepEqual(parseDecimal('3.10'), { int: 31n, decimals: 1 });
    assert.deepEqual(parseDecimal('-0.0625'), { int: -625n, decimals: 4 });
    assert.deepEqual(parseDecimal('+12'), { int: 12n, decimals: 0 });
    for (const bad of ['', '1e5', '1.', '.5', 'NaN', '1,5', '0x10', ' ']) assert.equal(parseDecimal(bad), undefined, bad);
  });

  it('parsePrice gives the exact scaled integer, or why the price cannot be used', () => {
    assert.deepEqual(parsePrice('3.10'), { value: 31, decimals: 1 });
    assert.deepEqual(parsePrice(' -0.06250 '), { value: -625, decimals: 4 });
    assert.deepEqual(parsePrice('+12'), { value: 12, decimals: 0 });
    assert.deepEqual(parsePrice('-0.000'), { value: 0, decimals: 0 });
    assert.deepEqual(parsePrice('999999.99999999'), { value: 99999999999999, decimals: 8 });
    assert.deepEqual(parsePrice('0.100000000000000000'), { value: 1, decimals: 1 });
    for (const bad of ['', '1e5', '1.', '.5', 'NaN', '1,5', '0x10', ' ', '-', '1.2.3', '1 2', '--1', '1.-2']) {
      assert.equal(parsePrice(bad), 'is not a plain decimal number', bad);
    }
    assert.match(parsePrice('1000000') as string, /out of range/);
    assert.match(parsePrice('-1000000.5') as string, /out of range/);
    assert.match(parsePrice('123456789012345678901234567890') as string, /out of range/);
    assert.match(parsePrice('1.123456789') as string, /more than 8 decimal places/);
    // Against parseDecimal (BigInt) on random plain decimals within bounds.
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 14n) + 1n, max: 10n ** 14n - 1n }), fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 4 }), (int, places, zeros) => {
        const digits = (int < 0n ? -int : int).toString().padStart(places + 1, '0');
        const whole = digits.slice(0, digits.length - places);
        if (whole.replace(/^0+/, '').length > 6) return;
        const text = `${int < 0n ? '-' : ''}${whole}${places > 0 ? `.${digits.slice(-places)}${'0'.repeat(zeros)}` : ''}`;
        const p = parsePrice(text);
        const q = parseDecimal(text)!;
        assert.ok(typeof p !== 'string', text);
        assert.equal(BigInt(p.value), q.int, text);
        assert.equal(p.decimals, q.decimals, text);
      }),
      { numRuns: 3000 },
    );
  });

  it('formatLimbs writes the same string as formatScaled through BigInt', () => {
    fc.assert(
      fc.property(arbFixed, (v) => {
        const f = fixedFromBigInt(newFixed(), v);
        assert.equal(formatLimbs(f[0]!, f[1]!, f[2]!), formatScaled(limbsToBigInt(f[0]!, f[1]!, f[2]!)));
      }),
      { numRuns: 5000 },
    );
    for (const v of [0n, 1n, -1n, 10n ** 30n, -(10n ** 30n), 5n * 10n ** 29n, -(10n ** 24n) + 1n]) {
      const f = fixedFromBigInt(newFixed(), v);
      assert.equal(formatLimbs(f[0]!, f[1]!, f[2]!), formatScaled(v), String(v));
    }
  });
});

describe('roundToPlaces (financehub indicators --places)', () => {
  it('rounds half up (ties towards +∞) to exactly N places, on the decimal digits', async () => {
    const { roundToPlaces } = await import('./fixed.ts');
    const cases: Array<[string, number, string]> = [
      ['1.005', 2, '1.01'],
      ['-1.005', 2, '-1.00'],
      ['1.00499999999999999999999999999', 2, '1.00'],
      ['2', 2, '2.00'],
      ['0.5', 0, '1'],
      ['-0.5', 0, '0'],
      ['-0.0004', 3, '0.000'],
      ['47.123456789012345678901234567891', 6, '47.123457'],
      ['3.242', 30, '3.242000000000000000000000000000'],
    ];
    for (const [value, places, expected] of cases) assert.equal(roundToPlaces(value, places), expected, `${value} → ${places}`);
  });
});
