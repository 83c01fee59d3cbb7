import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Decimal } from './decimal.ts';
import {
  divRoundHalfUp,
  EXACT_ONE,
  EXACT_ZERO,
  exactAt,
  exactFromDecimal,
  exactFromPlain,
  exactMinus,
  fixedToDecimal,
  formatAmountFixed,
  formatFixed,
  formatRatio,
  MAX_PLACES,
  parseExact,
  plainExact,
} from './fixed.ts';

// Decimal strings as the grammar accepts them: up to 12 integer and 30 fraction digits.
const decimalText = fc
  .tuple(fc.boolean(), fc.bigInt({ min: 0n, max: 10n ** 12n - 1n }), fc.integer({ min: 0, max: 30 }), fc.bigInt({ min: 0n, max: 10n ** 30n - 1n }))
  .map(([negative, whole, places, fraction]) => {
    const digits = places === 0 ? '' : `.${(fraction % 10n ** BigInt(places)).toString().padStart(places, '0')}`;
    return `${negative ? '-' : ''}${whole}${digits}`;
  });

describe('money: exact BigInt decimals', () => {
  it('FAIL-002: parses only the strict decimal grammar, naming the field', () => {
    assert.deepEqual(parseExact('1.5'), { units: 15n, places: 1 });
    assert.deepEqual(parseExact('-0.000000000000000000000000000001'), { units: -1n, places: 30 });
    assert.deepEqual(parseExact('42'), { units: 42n, places: 0 });
    for (const bad of ['1e3', ' 1', '1.', '.5', '+1', '0x10', '', '-', 'NaN', '1,5', '1.5.0', '--1', '1-', `1.${'0'.repeat(31)}`]) {
      assert.throws(
        () => parseExact(bad, 'price'),
        (err: Error & { status?: number; errors?: Array<{ field: string }> }) => err.status === 400 && err.errors?.[0]?.field === 'price',
        bad,
      );
    }
  });

  it('normalises: trailing fraction zeros are dropped, zero has no places', () => {
    assert.deepEqual(parseExact('12.50'), { units: 125n, places: 1 });
    assert.deepEqual(parseExact('1.000'), EXACT_ONE);
    assert.deepEqual(parseExact('-0.00'), EXACT_ZERO);
    assert.deepEqual(parseExact('100'), { units: 100n, places: 0 });
    assert.deepEqual(parseExact('0.0100'), { units: 1n, places: 2 });
    // the long path (more than 15 digits) normalises the same way
    assert.deepEqual(parseExact('1234567890.1234567000'), { units: 12345678901234567n, places: 7 });
  });

  it('a provider price of any length is taken, rounded half-up beyond 30 places', () => {
    assert.deepEqual(exactFromPlain(`0.${'0'.repeat(29)}15`), { units: 2n, places: 30 });
    assert.deepEqual(exactFromPlain(`-0.${'0'.repeat(29)}15`), { units: -2n, places: 30 });
    assert.deepEqual(exactFromPlain(`-0.${'0'.repeat(30)}4`), EXACT_ZERO);
    assert.deepEqual(exactFromPlain(`${'9'.repeat(40)}.5`), { units: BigInt(`${'9'.repeat(40)}5`), places: 1 });
    assert.deepEqual(exactFromPlain(`1.${'0'.repeat(35)}`), EXACT_ONE);
    for (const bad of ['1e3', '', '1.', '.5', 'abc', '1 ']) {
      assert.throws(
        () => exactFromPlain(bad, 'price'),
        (err: Error & { status?: number }) => err.status === 400,
        bad,
      );
    }
  });

  it('0.1 + 0.2 is exactly 0.3, and products of entered values are exact', () => {
    const a = parseExact('0.1');
    const b = parseExact('0.2');
    assert.equal(formatFixed(exactAt(a, 10) + exactAt(b, 10), 10, 10, true), '0.3');
    // 3 × 33.3333333333 at an fx_rate of 0.9, to the last digit: places add up
    const [q, p, fx] = [parseExact('3'), parseExact('33.3333333333'), parseExact('0.9')];
    assert.equal(formatFixed(q.units * p.units * fx.units, q.places + p.places + fx.places, 30, true), '89.99999999991');
    assert.equal(plainExact(exactMinus(parseExact('10.25'), parseExact('10.2500001'))), '-0.0000001');
    assert.deepEqual(exactMinus(parseExact('1.5'), parseExact('0.5')), EXACT_ONE);
  });

  it('rounds half away from zero, and only where asked', () => {
    assert.equal(divRoundHalfUp(5n, 2n), 3n);
    assert.equal(divRoundHalfUp(-5n, 2n), -3n);
    assert.equal(divRoundHalfUp(4n, 3n), 1n);
    assert.equal(divRoundHalfUp(-4n, 3n), -1n);
    assert.equal(formatFixed(2345n, 3, 2), '2.35');
    assert.equal(formatFixed(-2345n, 3, 2), '-2.35');
    assert.equal(formatFixed(-4n, 3, 2), '0.00');
    assert.equal(formatFixed(-4n, 1, 0), '0');
    assert.equal(formatFixed(5n, 0, 10, true), '5');
    assert.equal(formatFixed(525n, 2, 10, true), '5.25');
    assert.equal(formatRatio(100n, 3n, 8), '33.33333333');
    assert.equal(formatRatio(2n, 3n, 8), '0.66666667');
  });

  it('formats amounts at the currency minor unit, zeros kept', () => {
    const amount = exactAt(parseExact('12.3'), 10);
    assert.equal(formatAmountFixed(amount, 10, 'USD'), '12.30');
    assert.equal(formatAmountFixed(amount, 10, 'JPY'), '12');
    assert.equal(formatAmountFixed(amount, 10, 'KWD'), '12.300');
    assert.equal(formatAmountFixed(0n, 10, 'USD'), '0.00');
    assert.equal(formatAmountFixed(12345n, 3, 'USD'), '12.35');
  });

  it('property: formatting agrees with Decimal (ROUND_HALF_UP) at every scale', () => {
    fc.assert(
      fc.property(decimalText, fc.integer({ min: 0, max: 30 }), (text, places) => {
        // The reference: Decimal#toFixed is exact; it writes a rounded-away negative as "-0.00", we as "0.00".
        const expected = new Decimal(text).toFixed(places, Decimal.ROUND_HALF_UP).replace(/^-(0\.?0*)$/, '$1');
        const value = parseExact(text);
        assert.equal(formatFixed(value.units, value.places, places), expected);
        assert.equal(formatFixed(exactAt(value, MAX_PLACES), MAX_PLACES, places), expected);
      }),
    );
  });

  it('property: text → exact → text and Decimal → exact → Decimal are exact, short and long paths alike', () => {
    fc.assert(
      fc.property(decimalText, (text) => {
        const value = parseExact(text);
        const canonical = new Decimal(text);
        assert.equal(fixedToDecimal(value.units, value.places).eq(canonical), true);
        assert.equal(plainExact(value), canonical.isZero() ? '0' : canonical.toFixed());
        assert.deepEqual(exactFromDecimal(canonical), value);
        // normalised: no trailing zero in the fraction
        assert.ok(value.places === 0 || value.units % 10n !== 0n);
      }),
    );
  });

  it('property: a − b is exact', () => {
    fc.assert(
      fc.property(decimalText, decimalText, (a, b) => {
        assert.equal(fixedToDecimal(exactMinus(parseExact(a), parseExact(b)).units, exactMinus(parseExact(a), parseExact(b)).places).eq(new Decimal(a).minus(b)), true);
      }),
    );
  });
});
