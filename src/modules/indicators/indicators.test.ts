// The six indicators on the real series ttrc.csv (test/fixtures, the file TTR ships).
//
// How the expected values were derived, independently of the code under test:
//  * SPOT: exact rational arithmetic in Python (fractions.Fraction) for every recurrence,
//    straight from INDICATORS.md, and Python's decimal module at 80 digits for the
//    Bollinger square root; printed to 32 decimal places (script in docs/indicators.md).
//  * REFERENCE: decimal.js at 60 significant digits, re-implementing each definition with
//    no shared code, compared on every bar of the series.
// Our values round the smoothed state at 10^-30 on each step, so they may differ from the
// exact rationals in the last few of their 30 places: tolerances are 1e-25 (1e-24 for
// RSI, whose division amplifies the state's relative error a hundredfold).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Decimal } from 'decimal.js';
import * as F from '../../../bench/indicators-float.ts';
import { readTtrc } from '../../../bench/indicators-data.ts';
import { AppError } from '../../platform/errors.ts';
import { computeIndicators, columnNames, firstIndexes, parseIndicatorList, type IndicatorColumn, type IndicatorSpec } from './index.ts';

const D = Decimal.clone({ precision: 60, rounding: Decimal.ROUND_HALF_UP });
type Dec = InstanceType<typeof D>;

const bars = readTtrc();
const specs = parseIndicatorList(undefined);
const columns = computeIndicators(bars, specs);
const column = (name: string): (string | null)[] => {
  const c = columns.find((x) => x.name === name);
  assert.ok(c, `column ${name}`);
  return c.values;
};

const SPOT: Record<string, Record<number, string>> = {
  sma_20: { 19: '3.242', 25: '3.336', 33: '3.433', 100: '3.3085', 259: '4.0825' },
  ema_20: {
    19: '3.242', 25: '3.32283551522634444432901425027721', 33: '3.42308796679768655881558506014958',
    100: '3.35737097673119838437968369220733', 259: '4.04898967251503882147375345878457',
  },
  rsi_14: {
    14: '67.2131147540983606557377049180327', 19: '74.1213364194552532708497844199771', 25: '62.9664099660417045508445799253854',
    33: '62.6154899216667076850486387361674', 100: '58.2076457261558069037466127571510', 259: '44.2953792073950444270263457551976',
  },
  macd_12_26_9: {
    25: '0.09499875700432286736536383556067', 33: '0.08854773807691089931459721638144',
    100: '0.03722642724218973091421895046085', 259: '0.01964075299316864274156975334072',
  },
  macd_signal_12_26_9: { 33: '0.09329040594254162008289815290253', 100: '0.02083533944859636278244182887846', 259: '0.04847654495622103551612804338133' },
  macd_hist_12_26_9: { 33: '-0.0047426678656307207683009365210', 100: '0.01639108779359336813177712158238', 259: '-0.0288357919630523927745582900406' },
  bb_lower_20_2: {
    19: '3.02887093112388446414915686714120', 25: '3.17078498857549293502212776603007', 33: '3.28656229993611617774685461034170',
    100: '3.07747835599234430173143995485544', 259: '3.91210340378986439389950305389675',
  },
  bb_middle_20_2: { 19: '3.242', 25: '3.336', 33: '3.433', 100: '3.3085', 259: '4.0825' },
  bb_upper_20_2: {
    19: '3.45512906887611553585084313285879', 25: '3.50121501142450706497787223396992', 33: '3.57943770006388382225314538965829',
    100: '3.53952164400765569826856004514455', 259: '4.25289659621013560610049694610324',
  },
  atr_14: {
    14: '0.08142857142857142857142857142857', 19: '0.08052909236372599852102440309734', 25: '0.07753387297478409336183096516039',
    33: '0.07064665168762644848978856168615', 100: '0.06169586529387958197940793597424', 259: '0.09858355052492031071998753635742',
  },
};

const tolerance = (name: string) => new D(name.startsWith('rsi') ? '1e-24' : '1e-25');

function assertClose(name: string, i: number, actual: string | null, expected: Dec | string | null): void {
  if (expected === null) {
    assert.equal(actual, null, `${name}[${i}] should be empty`);
    return;
  }
  assert.notEqual(actual, null, `${name}[${i}] should have a value`);
  const diff = new D(actual!).minus(expected).abs();
  assert.ok(diff.lte(tolerance(name)), `${name}[${i}] = ${actual}, expected ${expected.toString()} (|diff| ${diff.toExponential(3)})`);
}

/** decimal.js re-implementation of INDICATORS.md (reference only; nothing shared with the module). */
function reference(spec: IndicatorSpec, data: ReadonlyArray<{ close: string; high: string; low: string }>): Array<Array<Dec | null>> {
  const close = data.map((b) => new D(b.close));
  const n = close.length;
  const empty = () => new Array<Dec | null>(n).fill(null);
  const ema = (xs: Array<Dec | null>, p: number) => {
    const out = empty();
    const k = new D(2).div(p + 1);
    let seen = 0;
    let sum = new D(0);
    let e = new D(0);
    xs.forEach((x, i) => {
      if (x === null) return;
      seen++;
      if (seen < p) sum = sum.plus(x);
      else if (seen === p) out[i] = e = sum.plus(x).div(p);
      else out[i] = e = e.plus(k.times(x.minus(e)));
    });
    return out;
  };
  const wilder = (xs: Array<Dec | null>, p: number) => {
    const out = empty();
    let sum = new D(0);
    let a = new D(0);
    for (let i = 1; i < n; i++) {
      const x = xs[i]!;
      if (i < p) sum = sum.plus(x);
      else if (i === p) out[i] = a = sum.plus(x).div(p);
      else out[i] = a = a.times(p - 1).plus(x).div(p);
    }
    return out;
  };
  switch (spec.name) {
    case 'sma': {
      const out = empty();
      for (let i = spec.period - 1; i < n; i++) out[i] = D.sum(...close.slice(i - spec.period + 1, i + 1)).div(spec.period);
      return [out];
    }
    case 'ema':
      return [ema(close, spec.period)];
    case 'rsi': {
      const gains: Array<Dec | null> = close.map((c, i) => (i === 0 ? null : D.max(c.minus(close[i - 1]!), 0)));
      const losses: Array<Dec | null> = close.map((c, i) => (i === 0 ? null : D.max(close[i - 1]!.minus(c), 0)));
      const g = wilder(gains, spec.period);
      const l = wilder(losses, spec.period);
      return [g.map((x, i) => (x === null ? null : x.plus(l[i]!).isZero() ? new D(0) : x.times(100).div(x.plus(l[i]!))))];
    }
    case 'macd': {
      const fast = ema(close, spec.fast);
      const slow = ema(close, spec.slow);
      const line = slow.map((s, i) => (s === null ? null : fast[i]!.minus(s)));
      const signal = ema(line, spec.signal);
      return [line, signal, signal.map((s, i) => (s === null ? null : line[i]!.minus(s)))];
    }
    case 'bbands': {
      const lower = empty();
      const middle = empty();
      const upper = empty();
      const k = new D(spec.k);
      for (let i = spec.period - 1; i < n; i++) {
        const w = close.slice(i - spec.period + 1, i + 1);
        const mean = D.sum(...w).div(spec.period);
        const sd = D.sum(...w.map((x) => x.minus(mean).pow(2))).div(spec.period).sqrt();
        middle[i] = mean;
        lower[i] = mean.minus(k.times(sd));
        upper[i] = mean.plus(k.times(sd));
      }
      return [lower, middle, upper];
    }
    case 'atr': {
      const tr: Array<Dec | null> = data.map((b, i) => {
        if (i === 0) return null;
        const h = new D(b.high);
        const l = new D(b.low);
        const pc = close[i - 1]!;
        return D.max(h.minus(l), h.minus(pc).abs(), l.minus(pc).abs());
      });
      return [wilder(tr, spec.period)];
    }
  }
}

describe('indicators on ttrc.csv', () => {
  it('has the ten default columns, one value or null per bar', () => {
    assert.equal(bars.length, 5550);
    assert.deepEqual(columns.map((c) => c.name), specs.flatMap(columnNames));
    for (const c of columns) assert.equal(c.values.length, bars.length);
  });

  it('matches spot values derived with exact rationals (Python fractions)', () => {
    for (const [name, spots] of Object.entries(SPOT)) {
      for (const [i, expected] of Object.entries(spots)) assertClose(name, Number(i), column(name)[Number(i)]!, expected);
    }
  });

  it('terminating values are exact: SMA and the middle band equal the rational sum/n digit for digit', () => {
    assert.equal(column('sma_20')[19], '3.242');
    assert.equal(column('bb_middle_20_2')[100], '3.3085');
    for (let i = 19; i < bars.length; i++) {
      const cents = bars.slice(i - 19, i + 1).reduce((s, b) => s + BigInt(b.close.replace('.', '').padEnd(b.close.split('.')[0]!.length + 2, '0')), 0n);
      // sum of cents / 20 = sum·5 / 10^4 exactly
      const v = cents * 5n;
      const expected = `${v / 10000n}.${(v % 10000n).toString().padStart(4, '0')}`.replace(/\.?0+$/, '');
      assert.equal(column('sma_20')[i], expected, `sma_20[${i}]`);
    }
  });

  it('agrees with an independent decimal.js (60 digits) implementation on every bar', () => {
    const extra = parseIndicatorList('sma:7,ema:1,rsi:1,macd:3:10:4,bbands:9:1.5,atr:30');
    const mine = new Map<string, IndicatorColumn>([...columns, ...computeIndicators(bars, extra)].map((c) => [c.name, c]));
    for (const spec of [...specs, ...extra]) {
      const ref = reference(spec, bars);
      columnNames(spec).forEach((name, c) => {
        const values = mine.get(name)!.values;
        for (let i = 0; i < bars.length; i++) assertClose(name, i, values[i]!, ref[c]![i]!);
      });
    }
  });

  it('null prefixes have exactly the INDICATORS.md lengths', () => {
    for (const spec of [...specs, ...parseIndicatorList('sma:1,ema:5,rsi:2,macd:2:3:4,atr:1')]) {
      const out = computeIndicators(bars, [spec]);
      firstIndexes(spec).forEach((first, c) => {
        const values = out[c]!.values;
        assert.equal(values.findIndex((v) => v !== null), first, `${out[c]!.name} first value`);
        assert.ok(values.slice(first).every((v) => v !== null), `${out[c]!.name} has no gaps after its first value`);
      });
    }
  });

  it('invariants: lower ≤ middle ≤ upper, 0 ≤ RSI ≤ 100, ATR ≥ 0, histogram = macd − signal exactly', () => {
    const [lower, middle, upper] = [column('bb_lower_20_2'), column('bb_middle_20_2'), column('bb_upper_20_2')];
    const [line, signal, hist] = [column('macd_12_26_9'), column('macd_signal_12_26_9'), column('macd_hist_12_26_9')];
    for (let i = 0; i < bars.length; i++) {
      if (middle[i] !== null) {
        assert.ok(new D(lower[i]!).lte(middle[i]!) && new D(middle[i]!).lte(upper[i]!), `bands at ${i}`);
      }
      const rsi = column('rsi_14')[i];
      if (rsi !== null) assert.ok(new D(rsi!).gte(0) && new D(rsi!).lte(100), `rsi at ${i}`);
      const atr = column('atr_14')[i];
      if (atr !== null) assert.ok(new D(atr!).gte(0), `atr at ${i}`);
      if (hist[i] !== null) assert.ok(new D(line[i]!).minus(signal[i]!).eq(hist[i]!), `hist at ${i}`);
    }
  });

  it('values are plain decimal strings with the precision kept (no exponent, ≥ 12 places where they do not terminate)', () => {
    for (const c of columns) {
      for (const v of c.values) {
        if (v === null) continue;
        assert.match(v, /^-?\d+(\.\d*[1-9])?$/, `${c.name}: ${v}`);
      }
    }
    assert.ok((column('ema_20')[25]!.split('.')[1] ?? '').length >= 28);
  });

  it('agrees with the float floor (bench/indicators-float.ts) to a relative 1e-9', () => {
    const close = Float64Array.from(bars, (b) => Number(b.close));
    const high = Float64Array.from(bars, (b) => Number(b.high));
    const low = Float64Array.from(bars, (b) => Number(b.low));
    const floats: Record<string, Float64Array> = { sma_20: F.sma(close, 20), ema_20: F.ema(close, 20), rsi_14: F.rsi(close, 14), atr_14: F.atr(high, low, close, 14) };
    [floats.macd_12_26_9, floats.macd_signal_12_26_9, floats.macd_hist_12_26_9] = F.macd(close, 12, 26, 9);
    [floats.bb_lower_20_2, floats.bb_middle_20_2, floats.bb_upper_20_2] = F.bbands(close, 20, 2);
    for (const c of columns) {
      const f = floats[c.name]!;
      c.values.forEach((v, i) => {
        assert.equal(v === null, Number.isNaN(f[i]!), `${c.name}[${i}] presence`);
        if (v === null) return;
        const scale = Math.max(Math.abs(f[i]!), 1);
        assert.ok(Math.abs(Number(v) - f[i]!) / scale <= 1e-9, `${c.name}[${i}]: ${v} vs float ${f[i]}`);
      });
    }
  });

  it('FAIL-002: SMA is exact at ties where float rounding differs', () => {
    // The exact SMA of n cent prices is sum/n; for n = 8, 16, 40 it has 5 or 6 places, and
    // ties (…5 in the 5th place) are where a float's toFixed(4) lands on the wrong side.
    const close = Float64Array.from(bars, (b) => Number(b.close));
    const cents = bars.map((b) => BigInt(Math.round(Number(b.close) * 100))); // 2-place prices: exact
    let ties = 0;
    let floatWrong = 0;
    for (const n of [8, 16, 40]) {
      const mine = computeIndicators(bars, `sma:${n}`)[0]!.values;
      const float = F.sma(close, n);
      for (let i = n - 1; i < bars.length; i++) {
        const sum = cents.slice(i - n + 1, i + 1).reduce((a, b) => a + b, 0n);
        // Half-up at 4 places of sum/(100·n), in integers: floor((2·sum·100 + 100n·1) / (2·100n)) / 10^4 ...
        const scaled = (2n * sum * 10000n + 100n * BigInt(n)) / (2n * 100n * BigInt(n));
        const expected4 = `${scaled / 10000n}.${(scaled % 10000n).toString().padStart(4, '0')}`;
        const exactTie = (sum * 10000n * 2n) % (100n * BigInt(n)) === 0n && (sum * 10000n) % (100n * BigInt(n)) !== 0n;
        assert.equal(roundHalfUp4(mine[i]!), expected4, `sma_${n}[${i}]`);
        if (exactTie) ties++;
        if (float[i]!.toFixed(4) !== expected4) {
          floatWrong++;
          assert.ok(exactTie, `float differs only at exact ties (sma_${n}[${i}])`);
        }
      }
    }
    assert.ok(ties > 0 && floatWrong > 0, `ties ${ties}, float wrong ${floatWrong}`);
  });

  it('rejects a bad price with invalid_indicator_input naming the bar', () => {
    const bad = bars.slice(0, 30).map((b) => ({ ...b }));
    bad[17] = { ...bad[17]!, close: '3.1e2' };
    assert.throws(() => computeIndicators(bad, 'sma:5'), (err: unknown) =>
      err instanceof AppError && err.status === 400 && err.code === 'invalid_indicator_input' && err.extra?.index === 17 && /Bar 17: close/.test(err.detail ?? ''));
    bad[17] = { ...bad[17], close: '1000000' };
    assert.throws(() => computeIndicators(bad, 'sma:5'), /out of range/);
    const noHigh = bars.slice(0, 30).map(({ high: _h, ...rest }) => rest);
    assert.throws(() => computeIndicators(noHigh, 'atr:14'), /high is missing/);
    assert.equal(computeIndicators(noHigh, 'sma:5')[0]!.values[4], '3.098'); // high/low only matter to ATR
    assert.deepEqual(computeIndicators([], 'sma:5'), [{ name: 'sma_5', values: [] }]);
  });

  it('stays exact beyond 2^53: large prices with 8 decimals and long periods (BigInt sums) match decimal.js', () => {
    // Sums of 1000 prices near 10^6 at 8 places are ~10^17 and their squares ~10^31.
    const big = Array.from({ length: 1200 }, (_, i) => {
      const close = `${999000 + ((i * 7919) % 1000)}.${String((i * 104729) % 100000000).padStart(8, '0')}`;
      return { close, high: close, low: close, date: String(i) };
    });
    const wide = parseIndicatorList('sma:1000,bbands:1000:3,ema:1000,rsi:1000,macd:10:1000:9,atr:999');
    const out = new Map(computeIndicators(big, wide).map((c) => [c.name, c.values]));
    for (const spec of wide) {
      const ref = reference(spec, big);
      columnNames(spec).forEach((name, c) => {
        const values = out.get(name)!;
        for (let i = 0; i < big.length; i += 7) {
          if (ref[c]![i] === null) assert.equal(values[i], null);
          else assert.ok(new D(values[i]!).minus(ref[c]![i]!).abs().lte('1e-20'), `${name}[${i}] ${values[i]} vs ${ref[c]![i]!.toString()}`);
        }
      });
    }
  });
});

/** Half-up rounding of a plain non-negative decimal string to 4 places, in string/BigInt arithmetic. */
function roundHalfUp4(v: string): string {
  const [int, frac = ''] = v.split('.');
  const digits = (frac + '00000').slice(0, 5);
  let scaled = BigInt(int! + digits.slice(0, 4));
  if (Number(digits[4]) >= 5) scaled += 1n;
  return `${scaled / 10000n}.${(scaled % 10000n).toString().padStart(4, '0')}`;
}
