// The incremental form against the batch form: identical strings for every bar, state
// that survives JSON and continues exactly, O(1) state size for the recurrences.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readTtrc } from '../../../bench/indicators-data.ts';
import { AppError } from '../../platform/errors.ts';
import { columnNames, computeIndicators, createIncremental, parseIndicatorList, type IncrementalState } from './index.ts';

const bars = readTtrc();
const SPECS = parseIndicatorList('sma:20,ema:20,rsi:14,macd:12:26:9,bbands:20:2,atr:14,bbands:7:2.75,rsi:1,ema:1,macd:2:3:2');

describe('incremental indicators', () => {
  it('batch = incremental for every value of every spec on ttrc.csv', () => {
    for (const spec of SPECS) {
      const batch = computeIndicators(bars, [spec]);
      const inc = createIncremental(spec);
      bars.forEach((bar, i) => {
        const values = inc.update(bar);
        const expected = Object.fromEntries(batch.map((c) => [c.name, c.values[i]!]));
        if (Object.values(expected).every((v) => v === null)) assert.equal(values, null, `${spec.name} bar ${i}`);
        else assert.deepEqual(values, expected, `${spec.name} bar ${i}`);
      });
    }
  });

  it('batch = incremental when the prices have different numbers of decimal places', () => {
    // The batch scales the series to its widest price (here 5 places), the incremental form to 8 places.
    const mixed = bars.slice(0, 400).map((b, i) => {
      const extra = ['', '1', '25', '125', '00005'][i % 5]!;
      const add = (v: string) => (v.includes('.') ? v + extra : `${v}.${extra || '0'}`);
      return { ...b, close: add(b.close), high: add(b.high), low: b.low };
    });
    for (const spec of SPECS) {
      const batch = computeIndicators(mixed, [spec]);
      const inc = createIncremental(spec);
      mixed.forEach((bar, i) => {
        const values = inc.update(bar);
        for (const c of batch) assert.equal(values?.[c.name] ?? null, c.values[i], `${c.name}[${i}]`);
      });
    }
  });

  it('state() survives JSON and restore() continues exactly where it stopped', () => {
    for (const spec of SPECS) {
      for (const cut of [0, 1, 5, 13, 14, 20, 40, 700]) {
        const a = createIncremental(spec);
        for (const bar of bars.slice(0, cut)) a.update(bar);
        const saved = JSON.parse(JSON.stringify(a.state())) as IncrementalState;
        const b = createIncremental(spec);
        b.restore(saved);
        for (const bar of bars.slice(cut, cut + 60)) assert.deepEqual(b.update(bar), a.update(bar), `${spec.name} after ${cut} bars`);
      }
    }
  });

  it('keeps O(1) state for the recurrences and one window for SMA/Bollinger', () => {
    const ema = createIncremental('ema:20');
    const sma = createIncremental('sma:20');
    for (const bar of bars) {
      ema.update(bar);
      sma.update(bar);
    }
    assert.ok(JSON.stringify(ema.state()).length < 300, JSON.stringify(ema.state()));
    assert.equal((sma.state().engine.window as string[]).length, 20);
  });

  it('reports the columns, accepts spec text, and refuses state of another spec or a bad bar', () => {
    const macd = createIncremental('macd');
    assert.deepEqual(macd.columns, columnNames(macd.spec));
    const other = createIncremental('macd:5:35:5');
    assert.throws(() => other.restore(macd.state()), /not "macd:5:35:5"/);
    assert.throws(() => createIncremental('sma:0'), (err: unknown) => err instanceof AppError && err.code === 'invalid_indicator');
    assert.throws(() => macd.update({ close: 'abc' }), (err: unknown) => err instanceof AppError && err.code === 'invalid_indicator_input');
    assert.throws(() => createIncremental('atr').update({ close: '1' }), /high is missing/);
    assert.throws(() => createIncremental('sma:2').update({ close: '0.123456789' }), /decimal places/);
  });
});
