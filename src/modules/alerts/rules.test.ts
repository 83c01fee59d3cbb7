// Every rule kind on real daily data (test/fixtures/ttrc.csv, 5,550 bars) fires exactly at
// the bars an independent reference says it should: SMA, EMA (MACD), Wilder RSI and
// Bollinger bands recomputed here with decimal.js at 60 digits (not with the engines
// under test), crossings and level changes detected by plain comparisons.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Decimal as DecimalJs } from 'decimal.js';
import { createRuleEvaluator, type RuleSpec } from './rules.ts';

const Dx = DecimalJs.clone({ precision: 60 });
type Dx = InstanceType<typeof Dx>;

const closes: string[] = readFileSync(new URL('../../../test/fixtures/ttrc.csv', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((line) => line.split(',')[4] ?? '');

const sma = (values: Dx[], period: number): (Dx | null)[] =>
  values.map((_, i) => (i + 1 < period ? null : values.slice(i + 1 - period, i + 1).reduce((a, b) => a.plus(b), new Dx(0)).div(period)));

/** EMA seeded with the SMA of the first `period` values (TTR/TA-Lib). */
const ema = (values: (Dx | null)[], period: number): (Dx | null)[] => {
  const out: (Dx | null)[] = values.map(() => null);
  const alpha = new Dx(2).div(period + 1);
  const start = values.findIndex((v) => v !== null);
  if (start < 0) return out;
  let prev: Dx | null = null;
  for (let i = start; i < values.length; i += 1) {
    const v = values[i] as Dx;
    if (i < start + period - 1) continue;
    if (prev === null) {
      prev = (values.slice(start, start + period) as Dx[]).reduce((a, b) => a.plus(b), new Dx(0)).div(period);
    } else {
      prev = v.minus(prev).times(alpha).plus(prev);
    }
    out[i] = prev;
  }
  return out;
};

/** Wilder RSI: first averages are simple means of the first `period` changes. */
const rsi = (values: Dx[], period: number): (Dx | null)[] => {
  const out: (Dx | null)[] = values.map(() => null);
  let gain = new Dx(0);
  let loss = new Dx(0);
  for (let i = 1; i < values.length; i += 1) {
    const change = (values[i] as Dx).minus(values[i - 1] as Dx);
    const g = change.isPositive() ? change : new Dx(0);
    const l = change.isNegative() ? change.neg() : new Dx(0);
    if (i <= period) {
      gain = gain.plus(g);
      loss = loss.plus(l);
      if (i === period) {
        gain = gain.div(period);
        loss = loss.div(period);
      } else continue;
    } else {
      gain = gain.times(period - 1).plus(g).div(period);
      loss = loss.times(period - 1).plus(l).div(period);
    }
    out[i] = loss.isZero() ? new Dx(100) : new Dx(100).minus(new Dx(100).div(new Dx(1).plus(gain.div(loss))));
  }
  return out;
};

const bollinger = (values: Dx[], period: number, k: Dx): { upper: Dx | null; lower: Dx | null }[] =>
  sma(values, period).map((mid, i) => {
    if (mid === null) return { upper: null, lower: null };
    const window = values.slice(i + 1 - period, i + 1);
    const variance = window.reduce((a, v) => a.plus(v.minus(mid).pow(2)), new Dx(0)).div(period);
    const sd = variance.sqrt();
    return { upper: mid.plus(sd.times(k)), lower: mid.minus(sd.times(k)) };
  });

const prices = closes.map((c) => new Dx(c));

function fired(rule: RuleSpec): number[] {
  const evaluator = createRuleEvaluator(rule);
  const out: number[] = [];
  closes.forEach((close, i) => {
    if (evaluator.step({ close }) !== null) out.push(i);
  });
  return out;
}

/** Level: bars where the condition holds and did not at the previous evaluated bar. */
function levelBars(cond: (i: number) => boolean | null): number[] {
  const out: number[] = [];
  let met: boolean | null = null;
  for (let i = 0; i < closes.length; i += 1) {
    const c = cond(i);
    if (c === null) continue;
    if (c && met !== true) out.push(i);
    met = c;
  }
  return out;
}

/** Crossing: a pair on one side at bar i-1 (both defined) and strictly the other at bar i. */
function crossBars(value: (i: number) => Dx | null, line: (i: number) => Dx | null, up: boolean): number[] {
  const out: number[] = [];
  for (let i = 1; i < closes.length; i += 1) {
    const v0 = value(i - 1);
    const l0 = line(i - 1);
    const v1 = value(i);
    const l1 = line(i);
    if (v0 === null || l0 === null || v1 === null || l1 === null) continue;
    if (up ? v0.lte(l0) && v1.gt(l1) : v0.gte(l0) && v1.lt(l1)) out.push(i);
  }
  return out;
}

describe('alert rules on ttrc.csv against an independent decimal.js reference', () => {
  it('price_above / price_below fire when the close moves past the threshold (level, strict)', () => {
    const t = new Dx('30');
    const above = fired({ kind: 'price_above', threshold: '30', params: {} });
    assert.deepEqual(above, levelBars((i) => (prices[i] as Dx).gt(t)));
    assert.ok(above.length > 3, `fixture crosses 30 several times (${above.length})`);
    const below = fired({ kind: 'price_below', threshold: '30', params: {} });
    assert.deepEqual(below, levelBars((i) => (prices[i] as Dx).lt(t)));
  });

  it('percent_change over a window fires when the change reaches the threshold (up and down)', () => {
    for (const [threshold, window] of [['10', 5], ['-8', 3]] as const) {
      const t = new Dx(threshold);
      const expected = levelBars((i) => {
        if (i < window) return null;
        const ref = prices[i - window] as Dx;
        const change = (prices[i] as Dx).minus(ref).div(ref).times(100);
        return t.isNegative() ? change.lte(t) : change.gte(t);
      });
      assert.ok(expected.length > 3);
      assert.deepEqual(fired({ kind: 'percent_change', threshold, params: { window } }), expected, `${threshold}% over ${window}`);
    }
  });

  it('rsi_above / rsi_below (Wilder, period 14)', () => {
    const r = rsi(prices, 14);
    const above = levelBars((i) => (r[i] === null ? null : (r[i] as Dx).gt(70)));
    const below = levelBars((i) => (r[i] === null ? null : (r[i] as Dx).lt(30)));
    assert.ok(above.length > 10 && below.length > 10);
    assert.deepEqual(fired({ kind: 'rsi_above', threshold: '70', params: { period: 14 } }), above);
    assert.deepEqual(fired({ kind: 'rsi_below', threshold: '30', params: { period: 14 } }), below);
  });

  it('price_crosses_bollinger_upper / _lower (20, 2)', () => {
    const bands = bollinger(prices, 20, new Dx(2));
    const upper = crossBars((i) => prices[i] as Dx, (i) => bands[i]?.upper ?? null, true);
    const lower = crossBars((i) => prices[i] as Dx, (i) => bands[i]?.lower ?? null, false);
    assert.ok(upper.length > 20 && lower.length > 20);
    assert.deepEqual(fired({ kind: 'price_crosses_bollinger_upper', threshold: null, params: { period: 20, k: '2' } }), upper);
    assert.deepEqual(fired({ kind: 'price_crosses_bollinger_lower', threshold: null, params: { period: 20, k: '2' } }), lower);
  });

  it('macd_crosses_signal_up / _down (12, 26, 9)', () => {
    const fast = ema(prices, 12);
    const slow = ema(prices, 26);
    const macd = fast.map((f, i) => (f === null || slow[i] === null ? null : f.minus(slow[i] as Dx)));
    const signal = ema(macd, 9);
    const up = crossBars((i) => (signal[i] === null ? null : macd[i] ?? null), (i) => signal[i] ?? null, true);
    const down = crossBars((i) => (signal[i] === null ? null : macd[i] ?? null), (i) => signal[i] ?? null, false);
    assert.ok(up.length > 50 && down.length > 50);
    assert.deepEqual(fired({ kind: 'macd_crosses_signal_up', threshold: null, params: { fast: 12, slow: 26 } }), up);
    assert.deepEqual(fired({ kind: 'macd_crosses_signal_down', threshold: null, params: { fast: 12, slow: 26 } }), down);
  });

  it('sma_cross_up / _down (10, 30)', () => {
    const fast = sma(prices, 10);
    const slow = sma(prices, 30);
    const up = crossBars((i) => fast[i] ?? null, (i) => slow[i] ?? null, true);
    const down = crossBars((i) => fast[i] ?? null, (i) => slow[i] ?? null, false);
    assert.ok(up.length > 20 && down.length > 20);
    assert.deepEqual(fired({ kind: 'sma_cross_up', threshold: null, params: { fast: 10, slow: 30 } }), up);
    assert.deepEqual(fired({ kind: 'sma_cross_down', threshold: null, params: { fast: 10, slow: 30 } }), down);
  });

  it('a stored state continues exactly: split evaluation fires at the same bars', () => {
    const rule: RuleSpec = { kind: 'macd_crosses_signal_up', threshold: null, params: { fast: 12, slow: 26 } };
    const whole = fired(rule);
    let evaluator = createRuleEvaluator(rule);
    const out: number[] = [];
    closes.forEach((close, i) => {
      if (i === 2000) evaluator = createRuleEvaluator(rule, JSON.parse(JSON.stringify(evaluator.state())) as ReturnType<typeof evaluator.state>);
      if (evaluator.step({ close }) !== null) out.push(i);
    });
    assert.deepEqual(out, whole);
  });
});
