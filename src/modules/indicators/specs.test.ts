import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '../../platform/errors.ts';
import { columnNames, DEFAULT_INDICATORS, firstIndexes, formatIndicatorSpec, parseIndicatorList, parseIndicatorSpec } from './specs.ts';

const rejects = (fn: () => unknown, pattern: RegExp) =>
  assert.throws(fn, (err: unknown) => err instanceof AppError && err.status === 400 && err.code === 'invalid_indicator' && pattern.test(err.detail ?? ''));

describe('indicator specs', () => {
  it('parses every indicator, with defaults for parameters left out', () => {
    assert.deepEqual(parseIndicatorSpec('macd:12:26:9'), { name: 'macd', fast: 12, slow: 26, signal: 9 });
    assert.deepEqual(parseIndicatorSpec('MACD'), { name: 'macd', fast: 12, slow: 26, signal: 9 });
    assert.deepEqual(parseIndicatorSpec('macd:5'), { name: 'macd', fast: 5, slow: 26, signal: 9 });
    assert.deepEqual(parseIndicatorSpec('sma'), { name: 'sma', period: 20 });
    assert.deepEqual(parseIndicatorSpec(' rsi:7 '), { name: 'rsi', period: 7 });
    assert.deepEqual(parseIndicatorSpec('bbands:20:2.50'), { name: 'bbands', period: 20, k: '2.5' });
    assert.deepEqual(parseIndicatorSpec('bbands:10:0.5'), { name: 'bbands', period: 10, k: '0.5' });
    assert.deepEqual(parseIndicatorSpec('atr:1000'), { name: 'atr', period: 1000 });
  });

  it('the default list gives the issue\'s ten columns in order', () => {
    const columns = parseIndicatorList(undefined).flatMap(columnNames);
    assert.deepEqual(columns, [
      'sma_20', 'ema_20', 'rsi_14', 'macd_12_26_9', 'macd_signal_12_26_9', 'macd_hist_12_26_9',
      'bb_lower_20_2', 'bb_middle_20_2', 'bb_upper_20_2', 'atr_14',
    ]);
    assert.deepEqual(parseIndicatorList(''), parseIndicatorList(DEFAULT_INDICATORS));
    assert.deepEqual(columnNames(parseIndicatorSpec('bbands:50:2.5')), ['bb_lower_50_2.5', 'bb_middle_50_2.5', 'bb_upper_50_2.5']);
  });

  it('round-trips through formatIndicatorSpec', () => {
    for (const text of DEFAULT_INDICATORS.split(',').concat(['bbands:5:0.25', 'macd:3:4:5'])) {
      assert.equal(formatIndicatorSpec(parseIndicatorSpec(text)), text);
    }
  });

  it('first-value indexes follow INDICATORS.md', () => {
    assert.deepEqual(firstIndexes(parseIndicatorSpec('sma:20')), [19]);
    assert.deepEqual(firstIndexes(parseIndicatorSpec('ema:20')), [19]);
    assert.deepEqual(firstIndexes(parseIndicatorSpec('rsi:14')), [14]);
    assert.deepEqual(firstIndexes(parseIndicatorSpec('atr:14')), [14]);
    assert.deepEqual(firstIndexes(parseIndicatorSpec('macd:12:26:9')), [25, 33, 33]);
    assert.deepEqual(firstIndexes(parseIndicatorSpec('bbands:20:2')), [19, 19, 19]);
  });

  it('rejects unknown names, bad periods and bad multipliers with invalid_indicator', () => {
    rejects(() => parseIndicatorSpec('wma:10'), /unknown indicator/);
    rejects(() => parseIndicatorSpec(''), /unknown indicator/);
    rejects(() => parseIndicatorSpec('sma:0'), /period/);
    rejects(() => parseIndicatorSpec('sma:1001'), /period/);
    rejects(() => parseIndicatorSpec('sma:-1'), /period/);
    rejects(() => parseIndicatorSpec('sma:2.5'), /period/);
    rejects(() => parseIndicatorSpec('sma:1e3'), /period/);
    rejects(() => parseIndicatorSpec('sma:20:3'), /at most 1 parameter/);
    rejects(() => parseIndicatorSpec('macd:26:12:9'), /fast period must be shorter/);
    rejects(() => parseIndicatorSpec('macd:12:12:9'), /fast period must be shorter/);
    rejects(() => parseIndicatorSpec('bbands:20:0'), /k must be/);
    rejects(() => parseIndicatorSpec('bbands:20:10.5'), /at most 10/);
    rejects(() => parseIndicatorSpec('bbands:20:-2'), /k must be/);
    rejects(() => parseIndicatorSpec('bbands:20:2e0'), /k must be/);
    rejects(() => parseIndicatorSpec('bbands:20:0.123456789'), /decimal places/);
    rejects(() => parseIndicatorList('sma:20,,rsi'), /empty entry/);
    rejects(() => parseIndicatorList('sma:20,sma'), /requested twice/);
    rejects(() => parseIndicatorList(Array.from({ length: 21 }, (_, i) => `sma:${i + 1}`).join(',')), /At most 20/);
  });
});
