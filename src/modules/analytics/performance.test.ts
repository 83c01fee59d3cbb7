import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Decimal } from '../../money/index.ts';
import {
  computePerformance,
  computePerformanceAsync,
  DAILY_POINTS_MAX,
  seriesStep,
  WEEKLY_POINTS_MAX,
  npv,
  xirr,
  XIRR_RATE_TOLERANCE,
  type CashFlow,
  type DailyClose,
  type PerfTransaction,
  type PerfTransactionType,
} from './performance.ts';

const FIXTURES = path.join(import.meta.dirname, '../../../test/fixtures/performance');

interface FixtureTransaction {
  type: PerfTransactionType;
  symbol?: string;
  quantity?: string;
  price?: string;
  amount?: string;
  fee?: string;
  fx_rate?: string;
  executed_at: string;
  ratio_numerator?: number;
  ratio_denominator?: number;
}

interface Fixture {
  name: string;
  from: string;
  to: string;
  transactions: FixtureTransaction[];
  closes: Record<string, DailyClose[]>;
  arithmetic: string[];
  expected: {
    start_value: string;
    end_value: string;
    contributions: string;
    withdrawals: string;
    net_contributions: string;
    gain: string;
    simple_return: string | null;
    twr: string | null;
    twr_annualized: string | null;
    xirr_status: string;
    xirr: string | null;
    values: Record<string, string>;
  };
}

const dec = (value: string | undefined) => (value === undefined ? null : new Decimal(value));

function toTransaction(tx: FixtureTransaction): PerfTransaction {
  return {
    type: tx.type,
    symbol: tx.symbol ?? null,
    quantity: dec(tx.quantity),
    price: dec(tx.price),
    amount: dec(tx.amount),
    fee: new Decimal(tx.fee ?? '0'),
    fxRate: new Decimal(tx.fx_rate ?? '1'),
    executedAt: new Date(tx.executed_at),
    ratioNumerator: tx.ratio_numerator ?? null,
    ratioDenominator: tx.ratio_denominator ?? null,
  };
}

/** Equal within a relative 1e-25 (the expected strings carry 30+ significant digits). */
function assertClose(actual: Decimal | null, expected: string | null, label: string): void {
  if (expected === null) {
    assert.equal(actual, null, `${label} should be null`);
    return;
  }
  assert.ok(actual !== null, `${label} should not be null`);
  const want = new Decimal(expected);
  const tolerance = Decimal.max(want.abs(), 1).times('1e-25');
  assert.ok(actual.minus(want).abs().lte(tolerance), `${label}: got ${actual.toFixed()}, expected ${expected}`);
}

const fixtureFiles = readdirSync(FIXTURES).filter((f) => f.endsWith('.json')).sort();

describe('performance: hand-computed fixtures (test/fixtures/performance)', () => {
  it('has fixtures to check', () => assert.ok(fixtureFiles.length >= 5));
  for (const file of fixtureFiles) {
    const fixture = JSON.parse(readFileSync(path.join(FIXTURES, file), 'utf8')) as Fixture;
    it(`${file}: ${fixture.name}`, () => {
      assert.ok(fixture.arithmetic.length > 0, 'every fixture writes its arithmetic out');
      const result = computePerformance({
        transactions: fixture.transactions.map(toTransaction),
        closes: new Map(Object.entries(fixture.closes)),
        from: fixture.from,
        to: fixture.to,
      });
      const e = fixture.expected;
      for (const [label, actual, expected] of [
        ['start_value', result.startValue, e.start_value],
        ['end_value', result.endValue, e.end_value],
        ['contributions', result.contributions, e.contributions],
        ['withdrawals', result.withdrawals, e.withdrawals],
        ['net_contributions', result.netContributions, e.net_contributions],
        ['gain', result.gain, e.gain],
      ] as const) {
        assert.ok(actual.eq(expected), `${label}: got ${actual.toFixed()}, expected ${expected}`);
      }
      assertClose(result.simpleReturn, e.simple_return, 'simple_return');
      assertClose(result.twr, e.twr, 'twr');
      assertClose(result.twrAnnualized, e.twr_annualized, 'twr_annualized');
      assert.equal(result.xirr.status, e.xirr_status);
      assertClose(result.xirr.rate, e.xirr, 'xirr');
      const byDate = new Map(result.series.map((p) => [p.date, p]));
      for (const [date, value] of Object.entries(e.values)) {
        const point = byDate.get(date);
        assert.ok(point !== undefined, `series has ${date}`);
        assert.ok(point.value.eq(value), `value on ${date}: got ${point.value.toFixed()}, expected ${value}`);
      }
      assert.equal(result.series.length, result.days);
      // The last point's cumulative TWR is the period's TWR.
      assert.ok(result.twr === null || result.series.at(-1)?.twr.eq(result.twr));
    });
  }
});

describe('XIRR solver', () => {
  it('returns no_cash_flows without flows and no_solution when every flow has the same sign', () => {
    assert.equal(xirr([]).status, 'no_cash_flows');
    assert.equal(xirr([{ days: 0, amount: new Decimal(0) }]).status, 'no_cash_flows');
    const allIn: CashFlow[] = [
      { days: 0, amount: new Decimal(-100) },
      { days: 30, amount: new Decimal(-50) },
    ];
    assert.deepEqual(xirr(allIn), { status: 'no_solution', rate: null, iterations: 0, method: null });
    assert.equal(xirr([{ days: 0, amount: new Decimal(-100) }, { days: 0, amount: new Decimal(100) }]).status, 'no_solution');
  });

  it('falls back to bisection when Newton leaves the domain, and still solves', () => {
    // From a guess of 10, the first Newton step on −1000 now / +2000 in a year lands at
    // −39.5, outside (−1, ∞): the bracketed search takes over and finds r = 1.
    const flows: CashFlow[] = [
      { days: 0, amount: new Decimal(-1000) },
      { days: 365, amount: new Decimal(2000) },
    ];
    const result = xirr(flows, new Decimal(10));
    assert.equal(result.status, 'ok');
    assert.equal(result.method, 'bisection');
    assert.ok(result.rate?.minus(1).abs().lte('1e-20'), `got ${result.rate?.toFixed()}`);
  });

  it('property: NPV at the solved rate is zero to tolerance, for random investor flows', () => {
    const flowArb = fc.record({
      days: fc.integer({ min: 1, max: 3650 }),
      cents: fc.bigInt({ min: -10_000_000n, max: 10_000_000n }),
    });
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 100_000_000n }),
        fc.array(flowArb, { minLength: 0, maxLength: 8 }),
        fc.bigInt({ min: 1n, max: 200_000_000n }),
        fc.integer({ min: 1, max: 3650 }),
        (initialCents, middle, finalCents, extraDays) => {
          const flows: CashFlow[] = [
            { days: 0, amount: new Decimal(initialCents.toString()).div(100).negated() },
            ...middle.map((m) => ({ days: m.days, amount: new Decimal(m.cents.toString()).div(100) })),
          ];
          const lastDay = Math.max(...flows.map((f) => f.days)) + extraDays;
          flows.push({ days: lastDay, amount: new Decimal(finalCents.toString()).div(100) });
          flows.sort((a, b) => a.days - b.days);
          const result = xirr(flows);
          if (result.status !== 'ok') {
            // Only acceptable when NPV keeps one sign over the whole searched range.
            assert.equal(result.status, 'no_solution');
            const lo = npv(flows, new Decimal('-0.999999999999'));
            const hi = npv(flows, new Decimal('1000000'));
            assert.equal(lo.lt(0), hi.lt(0));
            return;
          }
          assert.ok(result.rate !== null && result.rate.gt(-1));
          // The root lies within 1e-20 of the reported rate: NPV changes sign across it.
          const below = npv(flows, result.rate.minus('1e-20'));
          const above = npv(flows, result.rate.plus('1e-20'));
          assert.ok(below.isZero() || above.isZero() || below.lt(0) !== above.lt(0), `no sign change around ${result.rate.toFixed()}`);
          // And for ordinary rates the residual itself is tiny relative to the flows
          // (near −100 % a year the discount factors are astronomically large, so only
          // the sign change above is meaningful there).
          if (result.rate.gte('-0.5') && result.rate.lte(10)) {
            const scale = flows.reduce((acc, f) => acc.plus(f.amount.abs()), new Decimal(0));
            const residual = npv(flows, result.rate).abs();
            assert.ok(residual.lte(scale.times('1e-15')), `NPV ${residual.toFixed()} at rate ${result.rate.toFixed()}`);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('documents its tolerance', () => assert.ok(XIRR_RATE_TOLERANCE.eq('1e-24')));
});

describe('computePerformance', () => {
  const buy = (at: string, quantity: string, price: string): PerfTransaction => ({
    type: 'buy',
    symbol: 'ABC',
    quantity: new Decimal(quantity),
    price: new Decimal(price),
    amount: null,
    fee: new Decimal(0),
    fxRate: new Decimal(1),
    executedAt: new Date(at),
    ratioNumerator: null,
    ratioDenominator: null,
  });

  it('the sliced computation (yielding to the event loop every slice, here every step) gives the identical result, every decimal digit', async () => {
    const deposit = (at: string, amount: string): PerfTransaction => ({ ...buy(at, '1', '1'), type: 'deposit', symbol: null, quantity: null, price: null, amount: new Decimal(amount) });
    const transactions = [
      deposit('1990-01-01T00:00:00Z', '1000'),
      buy('1990-01-03T00:00:00Z', '10', '10.5'),
      deposit('1995-06-01T00:00:00Z', '250.25'),
      buy('1995-06-02T00:00:00Z', '7', '31.125'),
      { ...buy('2001-03-04T00:00:00Z', '4', '40'), type: 'sell' as const },
    ];
    const closes = new Map([['ABC', [{ date: '1990-02-01', close: '11' }, { date: '1999-12-31', close: '47.75' }, { date: '2010-05-05', close: '33.3' }]]]);
    const input = { transactions, closes, from: '1990-01-01', to: '2012-12-31' };
    const sync = computePerformance(input);
    const sliced = await computePerformanceAsync(input, 0);
    // A Decimal serialises as its exact string (toJSON), so equal JSON means equal digits.
    const digits = (value: unknown): unknown => JSON.parse(JSON.stringify(value));
    assert.deepEqual(digits(sliced), digits(sync));
    assert.equal(sync.xirr.status, 'ok');
  });

  it('uses transactions before the period only for the starting value, and carries closes forward into the period', () => {
    const result = computePerformance({
      transactions: [buy('2024-01-02T10:00:00Z', '4', '25')],
      closes: new Map([['ABC', [{ date: '2024-01-31', close: '30' }]]]),
      from: '2024-02-01',
      to: '2024-02-03',
    });
    assert.ok(result.startValue.eq(120));
    assert.ok(result.endValue.eq(120));
    assert.ok(result.netContributions.isZero());
    assert.ok(result.twr?.isZero());
    assert.equal(result.xirr.status, 'ok');
    assert.ok(result.xirr.rate?.abs().lte('1e-20'));
  });

  it('with one deposit and no later flows, XIRR equals the TWR annualised over the same days', () => {
    const result = computePerformance({
      transactions: [buy('2024-01-01T10:00:00Z', '3', '10')],
      closes: new Map([['ABC', [{ date: '2024-01-20', close: '11' }]]]),
      from: '2024-01-01',
      to: '2024-01-31',
    });
    assert.ok(result.twr !== null && result.xirr.rate !== null);
    const annualised = result.twr.plus(1).pow(new Decimal(365).div(result.days)).minus(1);
    assert.ok(result.xirr.rate.minus(annualised).abs().lte(annualised.abs().times('1e-20')));
  });

  it('thins long series to weekly, then monthly points; each point keeps the cumulative values of its day and the flows since the last point', () => {
    const deposit = (at: string, amount: string): PerfTransaction => ({ ...buy(at, '1', '1'), type: 'deposit', symbol: null, quantity: null, price: null, amount: new Decimal(amount) });
    const transactions = [deposit('2000-01-01T00:00:00Z', '100'), buy('2000-01-03T00:00:00Z', '10', '10'), deposit('2000-01-04T00:00:00Z', '5')];
    const closes = new Map([['ABC', [{ date: '2001-01-01', close: '12' }]]]);
    assert.equal(seriesStep(DAILY_POINTS_MAX), 'day');
    assert.equal(seriesStep(DAILY_POINTS_MAX + 1), 'week');
    assert.equal(seriesStep(WEEKLY_POINTS_MAX * 7 + 1), 'month');

    const byDate = (from: string, to: string) => computePerformance({ transactions, closes, from, to });
    const weekly = byDate('2000-01-01', '2005-12-31');
    assert.equal(weekly.step, 'week');
    const days = byDate('2000-01-01', '2002-12-31');
    assert.equal(days.step, 'day');
    assert.equal(days.series.length, days.days);
    assert.equal(weekly.series.length, Math.ceil(weekly.days / 7));
    assert.equal(weekly.series.at(-1)?.date, '2005-12-31');
    assert.equal(weekly.series.at(-2)?.date, '2005-12-24');
    // Points fall every 7 days back from `to`; the second carries the flows since the first.
    assert.equal(weekly.series[0]?.date, '2000-01-01');
    assert.ok(weekly.series[0]?.flow.eq(100));
    assert.equal(weekly.series[1]?.date, '2000-01-08');
    assert.ok(weekly.series[1]?.flow.eq(5));
    assert.ok(weekly.series.at(-1)?.twr.eq(weekly.twr ?? 0));

    const monthly = byDate('2000-01-01', '2024-06-15');
    assert.equal(monthly.step, 'month');
    assert.deepEqual(
      monthly.series.slice(0, 3).map((p) => p.date),
      ['2000-01-31', '2000-02-29', '2000-03-31'],
    );
    assert.equal(monthly.series.at(-1)?.date, '2024-06-15');
    assert.equal(monthly.series.length, 24 * 12 + 6);
    assert.ok(monthly.series.at(-1)?.value.eq(monthly.endValue));
    assert.ok(monthly.series.at(-1)?.netContributions.eq(105));
  });

  it('refuses a period that ends before it starts', () => {
    assert.throws(() => computePerformance({ transactions: [], closes: new Map(), from: '2024-01-02', to: '2024-01-01' }), RangeError);
  });

  it('an empty portfolio has no returns and no cash flows', () => {
    const result = computePerformance({ transactions: [], closes: new Map(), from: '2024-01-01', to: '2024-01-01' });
    assert.equal(result.twr, null);
    assert.equal(result.simpleReturn, null);
    assert.equal(result.xirr.status, 'no_cash_flows');
    assert.equal(result.series.length, 1);
  });
});
