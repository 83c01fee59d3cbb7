import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import fc from 'fast-check';
import { AppError } from '../platform/errors.ts';
import { Decimal, DecimalString, formatAmount, formatDecimal, isCurrencyCode, isDecimalString, minorUnits, parseDecimal, sum, toPlain } from './index.ts';

describe('money: Decimal', () => {
  it('parses only the strict decimal grammar, naming the field', () => {
    for (const ok of ['0', '-0', '101.25', '-3.5', '0.0000000001', '123456789012345678901234567890.123456789012345678901234567890']) {
      assert.equal(isDecimalString(ok), true, ok);
      assert.equal(toPlain(parseDecimal(ok)), toPlain(new Decimal(ok)));
    }
    for (const bad of ['', ' 1', '1 ', '+1', '1.', '.5', '1e5', '1E-3', 'NaN', 'Infinity', '0x10', '1,5', '1_000', '--1', '١']) {
      assert.equal(isDecimalString(bad), false, bad);
      assert.throws(
        () => parseDecimal(bad, 'price'),
        (err: unknown) => err instanceof AppError && err.status === 400 && err.code === 'invalid_decimal' && err.errors?.[0]?.field === 'price',
      );
    }
  });

  it('is exact where binary floating point is not', () => {
    assert.equal(toPlain(new Decimal('0.1').plus('0.2')), '0.3');
    assert.equal(toPlain(sum(['0.1', '0.2', '0.3'].map((s) => new Decimal(s)))), '0.6');
    assert.equal(toPlain(new Decimal('1.1').times('1.1')), '1.21');
    // division that does not terminate is correct to 60 significant digits
    assert.equal(toPlain(new Decimal(1).div(3)), `0.${'3'.repeat(60)}`);
    assert.equal(formatAmount(new Decimal(100).div(3).times(3), 'USD'), '100.00');
  });

  it('prints plain notation, never an exponent, and no negative zero', () => {
    assert.equal(toPlain(new Decimal('0.00000000000000000001')), '0.00000000000000000001');
    assert.equal(toPlain(new Decimal('1e40')), '10000000000000000000000000000000000000000');
    assert.equal(toPlain(new Decimal('-0')), '0');
    assert.equal(toPlain(new Decimal('1.500')), '1.5');
  });

  it('formats each kind at its documented scale, half-up', () => {
    assert.equal(formatDecimal(new Decimal('1.23456789125'), 'quantity'), '1.2345678913');
    assert.equal(formatDecimal(new Decimal('0.000000000049'), 'quantity'), '0');
    assert.equal(formatDecimal(new Decimal('2.000000005'), 'price'), '2.00000001');
    assert.equal(formatDecimal(new Decimal('-2.000000005'), 'price'), '-2.00000001'); // half away from zero
    assert.equal(formatDecimal(new Decimal('12.3456785'), 'percent'), '12.345679');
    assert.equal(formatDecimal(new Decimal('100').div('3'), 'rate'), '33.3333333333');
  });

  it('formats amounts at the currency minor unit, zeros kept', () => {
    assert.equal(minorUnits('USD'), 2);
    assert.equal(minorUnits('JPY'), 0);
    assert.equal(minorUnits('KWD'), 3);
    assert.equal(formatAmount(new Decimal('1.005'), 'USD'), '1.01');
    assert.equal(formatAmount(new Decimal('2.5'), 'JPY'), '3');
    assert.equal(formatAmount(new Decimal('1.0005'), 'KWD'), '1.001');
    assert.equal(formatAmount(new Decimal('7'), 'EUR'), '7.00');
    assert.equal(formatAmount(new Decimal('-0.001'), 'USD'), '0.00');
    assert.equal(formatAmount(new Decimal('-0.005'), 'USD'), '-0.01');
  });

  it('knows ISO 4217 codes', () => {
    for (const code of ['USD', 'EUR', 'JPY', 'GBP', 'CHF', 'KWD']) assert.equal(isCurrencyCode(code), true, code);
    for (const code of ['usd', 'US', 'USDT', 'ZZZ', '', 'EU1']) assert.equal(isCurrencyCode(code), false, code);
  });

  it('DecimalString schema: strings only (a JSON number fails), unsigned when asked', () => {
    // As the app's validator does: the schema's x-decimal marker is an annotation, not a rule.
    const ajv = new Ajv({ coerceTypes: false, keywords: ['x-decimal'] });
    const signed = ajv.compile(DecimalString());
    const unsigned = ajv.compile(DecimalString({ unsigned: true }));
    assert.equal(signed('101.25'), true);
    assert.equal(signed('-1'), true);
    assert.equal(signed(101.25), false);
    assert.equal(signed('1e3'), false);
    assert.equal(unsigned('-1'), false);
    assert.equal(unsigned('0.5'), true);
  });

  it('property: string → Decimal → string is the identity on canonical decimals', () => {
    const canonical = fc
      .tuple(fc.boolean(), fc.bigInt({ min: 0n, max: 10n ** 30n - 1n }), fc.integer({ min: 0, max: 30 }))
      .map(([negative, digits, scale]) => {
        const text = digits.toString().padStart(scale + 1, '0');
        const whole = text.slice(0, text.length - scale);
        const fraction = text.slice(text.length - scale).replace(/0+$/, '');
        const body = fraction === '' ? whole : `${whole}.${fraction}`;
        return negative && body !== '0' ? `-${body}` : body;
      });
    fc.assert(fc.property(canonical, (text) => toPlain(parseDecimal(text)) === text));
  });
});
