// Performance that says what it knows: GET /v1/portfolios/:id/performance fetches the
// daily closes it needs from the history provider (a local fake Yahoo), so its answer does
// not depend on which candles were requested before; it reports per symbol how each held
// day was priced and whether the valuation is complete; and a recorded split shows no gain
// or loss on its day, whether the stored history is split-adjusted or as traded.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createUser, type CreatedUser } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';
import { createTestClock } from '../../helpers/clock.ts';
import { startFakeYahoo, type FakeYahoo, type YahooDay } from '../../helpers/fake-providers.ts';
import { addTransaction, createPortfolio } from '../../helpers/portfolios.ts';

const DAY = 86_400_000;
const NOW = Date.parse('2026-04-15T12:00:00.000Z');

/** Weekdays from `from` to `to` (inclusive), stamped at 14:30 UTC like a US open, priced by `price(date)`. */
function weekdays(from: string, to: string, price: (date: string) => string): YahooDay[] {
  const out: YahooDay[] = [];
  for (let d = Date.parse(`${from}T00:00:00Z`); d <= Date.parse(`${to}T00:00:00Z`); d += DAY) {
    const weekday = new Date(d).getUTCDay();
    if (weekday === 0 || weekday === 6) continue;
    const p = price(new Date(d).toISOString().slice(0, 10));
    out.push({ t: d / 1000 + 14.5 * 3600, o: p, h: p, l: p, c: p, v: '1000' });
  }
  return out;
}

interface Quality {
  symbol: string;
  days_held: number;
  close_days: number;
  carried_forward_days: number;
  longest_carry_days: number;
  trade_price_days: number;
  unpriced_days: number;
  split_adjusted_history_restored: number;
}
interface Performance {
  time_weighted_return: string | null;
  end_value: string;
  data_quality: { complete: boolean; symbols: Quality[] };
  series: Array<{ date: string; value: string; time_weighted_return: string }>;
}

describe('performance fetches its closes and reports their quality', () => {
  let t: TestApp;
  let yahoo: FakeYahoo;
  let user: CreatedUser;

  before(async () => {
    yahoo = await startFakeYahoo();
    const chart = (days: YahooDay[]) => ({ gmtoffset: -18000, price: '1', previousClose: '1', time: Math.floor(NOW / 1000), days });
    // Rises by one cent a calendar day from 100.00 on 2026-01-01.
    const rising = (date: string) => {
      const cents = 10_000 + (Date.parse(`${date}T00:00:00Z`) - Date.parse('2026-01-01T00:00:00Z')) / DAY;
      return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
    };
    yahoo.charts.set('AAA', chart(weekdays('2025-01-01', '2026-04-14', rising)));
    yahoo.charts.set('BBB', chart(weekdays('2025-01-01', '2026-04-14', rising)));
    // A 2:1 split on Monday 2026-03-02; the price is 200 before it and 101 on and after it
    // (a real 1 % move on the split day). Yahoo's closes are split-adjusted: 100 before.
    const SPLIT_DAY = '2026-03-02';
    yahoo.charts.set('SPLA', chart(weekdays('2026-01-01', '2026-04-14', (d) => (d < SPLIT_DAY ? '100' : '101'))));
    // The same history as traded (as a CSV import or an unadjusted provider has it).
    yahoo.charts.set('SPLR', chart(weekdays('2026-01-01', '2026-04-14', (d) => (d < SPLIT_DAY ? '200' : '101'))));
    t = await buildTestApp({
      clock: createTestClock(new Date(NOW)),
      env: { MARKET_DATA_PROVIDER: 'none', MARKET_HISTORY_PROVIDER: 'yahoo', YAHOO_BASE_URL: yahoo.url, PROVIDER_RETRIES: '0' },
    });
    user = await createUser(t);
  });
  after(async () => {
    await t.close();
    await yahoo.close();
  });

  const addTx = (portfolioId: string, tx: Record<string, unknown>) => addTransaction(t, user, portfolioId, tx);
  const performance = async (portfolioId: string, query: string): Promise<Performance> => {
    const res = await t.app.inject({ method: 'GET', url: `/v1/portfolios/${portfolioId}/performance?${query}`, headers: user.headers });
    assert.equal(res.statusCode, 200, res.body);
    return res.json<Performance>();
  };
  const candles = async (symbol: string, query: string) => {
    const res = await t.app.inject({ method: 'GET', url: `/v1/market/candles/${symbol}?interval=1d&limit=5000&${query}`, headers: user.headers });
    assert.equal(res.statusCode, 200, res.body);
  };

  it('the same request gives the same TWR before and after unrelated candle requests, valued from real closes', async () => {
    const id = await createPortfolio(t, user);
    await addTx(id, { type: 'deposit', amount: '10000', executed_at: '2026-01-02T09:00:00.000Z' });
    await addTx(id, { type: 'buy', symbol: 'AAA', quantity: '50', price: '100.01', executed_at: '2026-01-02T15:00:00.000Z' });

    const first = await performance(id, 'range=ytd');
    await candles('AAA', 'from=2025-01-01');
    await candles('BBB', 'from=2025-06-01');
    await candles('AAA', 'from=2026-03-01');
    const second = await performance(id, 'range=ytd');
    assert.deepEqual(second, first);

    // 2026-04-14's close is 101.03 (103 days after 2026-01-01): 50 × 101.03 + 4999.50 cash.
    assert.equal(first.end_value, '10051.00');
    assert.equal(first.time_weighted_return, '0.0051');
    assert.equal(first.data_quality.complete, true);
    const [aaa] = first.data_quality.symbols;
    assert.ok(aaa !== undefined);
    assert.equal(aaa.symbol, 'AAA');
    assert.equal(aaa.trade_price_days, 0, 'no day valued at the trade price');
    assert.equal(aaa.unpriced_days, 0);
    assert.equal(aaa.days_held, aaa.close_days + aaa.carried_forward_days);
    assert.ok(aaa.close_days >= 70, `${aaa.close_days} days from closes`);
    assert.ok(aaa.longest_carry_days <= 2, 'weekends only');
  });

  it('a symbol without history is valued at its trade price and the answer says it is not complete', async () => {
    const id = await createPortfolio(t, user);
    await addTx(id, { type: 'buy', symbol: 'NOHIST', quantity: '3', price: '10', executed_at: '2026-04-01T15:00:00.000Z' });
    const result = await performance(id, 'range=custom&from=2026-04-01&to=2026-04-10');
    assert.equal(result.data_quality.complete, false);
    assert.deepEqual(result.data_quality.symbols, [
      { symbol: 'NOHIST', days_held: 10, close_days: 0, carried_forward_days: 0, longest_carry_days: 0, trade_price_days: 10, unpriced_days: 0, split_adjusted_history_restored: 0 },
    ]);
  });

  for (const [symbol, history] of [
    ['SPLA', 'split-adjusted'],
    ['SPLR', 'as-traded'],
  ] as const) {
    it(`a recorded 2:1 split over ${history} history shows no gain or loss on the split day, only the real move`, async () => {
      const id = await createPortfolio(t, user);
      await addTx(id, { type: 'deposit', amount: '2000', executed_at: '2026-02-02T09:00:00.000Z' });
      await addTx(id, { type: 'buy', symbol, quantity: '10', price: '200', executed_at: '2026-02-02T15:00:00.000Z' });
      await addTx(id, { type: 'split', symbol, ratio_numerator: 2, ratio_denominator: 1, executed_at: '2026-03-02T00:00:00.000Z' });
      const result = await performance(id, 'range=custom&from=2026-02-02&to=2026-03-31');
      const value = (date: string) => result.series.find((p) => p.date === date)?.value;
      assert.equal(value('2026-02-27'), '2000.00', 'Friday before the split: 10 × 200');
      assert.equal(value('2026-03-02'), '2020.00', 'split day: 20 × 101, the 1 % move only');
      assert.equal(value('2026-03-31'), '2020.00');
      assert.equal(result.time_weighted_return, '0.01');
      assert.equal(result.data_quality.complete, true);
      assert.equal(result.data_quality.symbols[0]?.split_adjusted_history_restored, history === 'split-adjusted' ? 1 : 0);
    });
  }
});
