import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Decimal } from './decimal.ts';
import {
  AMOUNT_SCALE,
  amountFromDecimal,
  convert,
  divRoundHalfUp,
  fixedToDecimal,
  formatAmountFixed,
  formatFixed,
  formatRatio,
  INPUT_SCALE,
  parseScaled,
  plainFixed,
  scaledFromDecimal,
} from './fixed.ts';

// Decimal strings as the grammar accepts them: up to 12 integer and 30 fraction digits.
const decimalText = fc
  .tuple(fc.boolean(), fc.bigInt({ min: 0n, max: 10n ** 12n - 1n }), fc.integer({ min: 0, max: 30 }), fc.bigInt({ min: 0n, max: 10n ** 30n - 1n }))
  .map(([negative, whole, places, fraction]) => {
    const digits = places === 0 ? '' : `.${(fraction % 10n ** BigInt(places)).toString().padStart(places, '0')}`;
    return `${negative ? '-' : ''}${whole}${digits}`;
  });

describe('money: scaled integers', () => {
  it('FAIL-002: parses only the strict decimal grammar, naming the field', () => {
    assert.equal(parseScaled('1.5'), 15n * 10n ** 29n);
    assert.equal(parseScaled('-0.000000000000000000000000000001'), -1n);
    assert.equal(parseScaled('42'), 42n * 10n ** 30n);
    for (const bad of ['1e3', ' 1', '1.', '.5', '+1', '0x10', '', 'NaN', '1,5']) {
      assert.throws(
        () => parseScaled(bad, 'price'),
        (err: Error & { status?: number; errors?: Array<{ field: string }> }) => err.status === 400 && err.errors?.[0]?.field === 'price',
        bad,
      );
    }
  });

  it('0.1 + 0.2 is exactly 0.3, and products of three entered values are exact', () => {
    assert.equal(plainFixed(parseScaled('0.1') + parseScaled('0.2'), INPUT_SCALE), '0.3');
    // 3 × 33.3333333333 at an fx_rate of 0.9, to the last digit
    const gross = parseScaled('3') * parseScaled('33.3333333333') * parseScaled('0.9');
    assert.equal(plainFixed(gross, AMOUNT_SCALE), '89.99999999991');
    assert.equal(plainFixed(convert(parseScaled('1.5'), parseScaled('0.95')), AMOUNT_SCALE), '1.425');
  });

  it('rounds half away from zero, and only where asked', () => {
    assert.equal(divRoundHalfUp(5n, 2n), 3n);
    assert.equal(divRoundHalfUp(-5n, 2n), -3n);
    assert.equal(divRoundHalfUp(4n, 3n), 1n);
    assert.equal(divRoundHalfUp(-4n, 3n), -1n);
    assert.equal(formatFixed(parseScaled('2.345'), INPUT_SCALE, 2), '2.35');
    assert.equal(formatFixed(parseScaled('-2.345'), INPUT_SCALE, 2), '-2.35');
    assert.equal(formatFixed(parseScaled('-0.004'), INPUT_SCALE, 2), '0.00');
    assert.equal(formatFixed(parseScaled('-0.4'), INPUT_SCALE, 0), '0');
    assert.equal(formatFixed(parseScaled('5'), INPUT_SCALE, 10, true), '5');
    assert.equal(formatFixed(parseScaled('5.25'), INPUT_SCALE, 10, true), '5.25');
    assert.equal(formatRatio(100n, 3n, 8), '33.33333333');
    assert.equal(formatRatio(2n, 3n, 8), '0.66666667');
  });

  it('formats amounts at the currency minor unit, zeros kept', () => {
    const amount = convert(parseScaled('12.3'), parseScaled('1'));
    assert.equal(formatAmountFixed(amount, 'USD'), '12.30');
    assert.equal(formatAmountFixed(amount, 'JPY'), '12');
    assert.equal(formatAmountFixed(amount, 'KWD'), '12.300');
    assert.equal(formatAmountFixed(0n, 'USD'), '0.00');
  });

  it('property: formatting agrees with Decimal (ROUND_HALF_UP) at every scale', () => {
    fc.assert(
      fc.property(decimalText, fc.integer({ min: 0, max: 30 }), (text, places) => {
        // The reference: Decimal#toFixed is exact; it writes a rounded-away negative as "-0.00", we as "0.00".
        const expected = new Decimal(text).toFixed(places, Decimal.ROUND_HALF_UP).replace(/^-(0\.?0*)$/, '$1');
        assert.equal(formatFixed(parseScaled(text), INPUT_SCALE, places), expected);
      }),
    );
  });

  it('property: text → scaled → text, Decimal → scaled → Decimal and Decimal → amount are exact', () => {
    fc.assert(
      fc.property(decimalText, (text) => {
        const value = parseScaled(text);
        const canonical = new Decimal(text);
        assert.equal(fixedToDecimal(value, INPUT_SCALE).eq(canonical), true);
        assert.equal(scaledFromDecimal(canonical), value);
        assert.equal(amountFromDecimal(canonical), value * 10n ** 60n);
      }),
    );
  });
});
