// The web app's number formatting works on the API's decimal strings: digits are grouped
// and punctuated per locale, never converted to a float (web/src/format.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { changeFrom, formatDecimal, formatMoney, formatRate, roundDecimal, shiftDecimal, sumDecimals } from '../../web/src/format.ts';

describe('web formatting of exact decimal strings', () => {
  it('groups digits with the locale separators and keeps every digit, beyond float precision too', () => {
    assert.equal(formatDecimal('1234567.891', 'en-US'), '1,234,567.891');
    assert.equal(formatDecimal('1234567.891', 'de-DE'), '1.234.567,891');
    assert.equal(formatDecimal('12345678901234567890.123456789012345678', 'en-US'), '12,345,678,901,234,567,890.123456789012345678');
    assert.equal(formatDecimal('0.1', 'en-US'), '0.1');
    assert.equal(formatDecimal('-1000', 'en-US'), '−1,000');
    assert.equal(formatMoney('999.10', 'USD', 'en-US'), '999.10 USD', 'trailing zeros kept');
    assert.equal(formatDecimal(null, 'en-US'), '—');
  });

  it('rounds half away from zero and shifts the point by string arithmetic', () => {
    assert.equal(roundDecimal('0.125', 2), '0.13');
    assert.equal(roundDecimal('9.995', 2), '10.00');
    assert.equal(roundDecimal('-0.004', 2), '0.00');
    assert.equal(roundDecimal('1.1', 2), '1.1');
    assert.equal(shiftDecimal('0.0512345678', 2), '5.12345678');
    assert.equal(shiftDecimal('1', 2), '100');
    assert.equal(formatRate('0.0512345678', 'en-US'), '5.12 %');
    assert.equal(formatRate('-0.1', 'en-US'), '−10 %');
  });
});

describe('changeFrom (watchlist day change)', () => {
  it('subtracts and takes the percentage on the digits, beyond float precision', () => {
    assert.deepEqual(changeFrom('101.5', '100'), { change: '1.5', percent: '1.50' });
    assert.deepEqual(changeFrom('99.995', '100.00'), { change: '-0.005', percent: '-0.01' });
    assert.deepEqual(changeFrom('12345678901234567.89', '12345678901234567.88'), { change: '0.01', percent: '0.00' });
    assert.deepEqual(changeFrom('0.3', '0.1'), { change: '0.2', percent: '200.00' });
    assert.deepEqual(changeFrom('1', '0'), { change: '1', percent: undefined });
    assert.equal(changeFrom('abc', '1'), undefined);
  });
});

describe('sumDecimals (allocation by currency)', () => {
  it('adds decimal strings exactly, where floats would not', () => {
    assert.equal(sumDecimals(['0.1', '0.2']), '0.3');
    assert.equal(sumDecimals(['33.3333333333333333', '33.3333333333333333', '33.3333333333333334']), '100');
    assert.equal(sumDecimals(['12345678901234567890.5', '0.25']), '12345678901234567890.75');
    assert.equal(sumDecimals(['-1.5', '1']), '-0.5');
    assert.equal(sumDecimals([]), '0');
    assert.throws(() => sumDecimals(['1e3']), RangeError);
    // Money keeps its scale: the overview's live totals read like the figures they add up.
    assert.equal(sumDecimals(['100414.70', '0.00'], { keepScale: true }), '100414.70');
    assert.equal(sumDecimals(['1.50', '2.5'], { keepScale: true }), '4.00');
    assert.equal(sumDecimals(['-1.50', '1.50'], { keepScale: true }), '0.00');
    assert.equal(sumDecimals(['3'], { keepScale: true }), '3');
  });
});
