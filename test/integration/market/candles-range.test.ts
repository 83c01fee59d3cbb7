// Candles and indicators that do what they say: `limit` without `from` is that many
// latest candles (weekends and holidays included in the look-back); `from`/`to` take a
// date or a date-time on every route; indicators warm up on earlier candles, so
// `limit=3` gives three values, the same as over a longer range.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createUser, type CreatedUser } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';
import { createPortfolio } from '../../helpers/portfolios.ts';

interface Candles {
  items: Array<{ ts: string; close: string }>;
}
interface Indicators {
  items: Array<{ ts: string; values: Record<string, string | null> }>;
}

describe('candle ranges and indicator warm-up', () => {
  let t: TestApp;
  let user: CreatedUser;
  before(async () => {
    t = await buildTestApp({ env: { MARKET_DATA_PROVIDER: 'simulated' } });
    user = await createUser(t);
  });
  after(async () => {
    await t.close();
  });

  const get = async <T>(url: string) => {
    const res = await t.app.inject({ method: 'GET', url, headers: user.headers });
    assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
    return res.json<T>();
  };

  it('limit without from: the latest `limit` daily candles, whatever weekends lie between', async () => {
    for (const limit of [1, 3, 7, 12]) {
      const { items } = await get<Candles>(`/v1/market/candles/AAPL?interval=1d&limit=${limit}`);
      assert.equal(items.length, limit, `limit=${limit}`);
    }
    const three = await get<Candles>('/v1/market/candles/AAPL?interval=1d&limit=3');
    const many = await get<Candles>('/v1/market/candles/AAPL?interval=1d&limit=40');
    assert.deepEqual(three.items, many.items.slice(-3));
    const weeks = await get<Candles>('/v1/market/candles/AAPL?interval=1w&limit=3');
    assert.equal(weeks.items.length, 3);
  });

  it('from/to take a date or a date-time, on candles, indicators and performance', async () => {
    const byDate = await get<Candles>('/v1/market/candles/MSFT?interval=1d&from=2024-01-02&to=2024-01-06');
    const byTime = await get<Candles>('/v1/market/candles/MSFT?interval=1d&from=2024-01-02T00:00:00Z&to=2024-01-06T00:00:00Z');
    assert.equal(byDate.items.length, 4);
    assert.deepEqual(byDate, byTime);
    const ind = await get<Indicators>('/v1/market/indicators/MSFT?name=sma&period=2&from=2024-01-02&to=2024-01-06');
    assert.equal(ind.items.length, 4);
    const portfolio = await createPortfolio(t, user);
    const perf = await get<{ from: string; to: string }>(`/v1/portfolios/${portfolio}/performance?range=custom&from=2025-01-01T10:00:00Z&to=2025-01-31`);
    assert.deepEqual([perf.from, perf.to], ['2025-01-01', '2025-01-31']);
    const bad = await t.app.inject({ method: 'GET', url: '/v1/market/candles/MSFT?from=2024-13-01', headers: user.headers });
    assert.equal(bad.statusCode, 400);
  });

  it('indicators warm up on earlier candles: limit=3 gives three values, equal to those over a longer range', async () => {
    const short = await get<Indicators>('/v1/market/indicators/GOOGL?indicators=sma:20,rsi:14,macd:12:26:9&interval=1d&limit=3');
    assert.equal(short.items.length, 3);
    for (const item of short.items) for (const [name, value] of Object.entries(item.values)) assert.notEqual(value, null, `${name} at ${item.ts}`);
    // SMA has no memory: over any longer range its last three values are the same.
    const long = await get<Indicators>('/v1/market/indicators/GOOGL?indicators=sma:20&interval=1d&limit=60');
    assert.deepEqual(short.items.map((i) => i.values.sma_20), long.items.slice(-3).map((i) => i.values.sma_20));
    // With a fixed range the warm-up comes from before `from`.
    const ranged = await get<Indicators>('/v1/market/indicators/GOOGL?name=sma&period=20&from=2024-03-04&to=2024-03-07');
    assert.equal(ranged.items.length, 3);
    assert.ok(ranged.items.every((i) => i.values.sma_20 !== null));
  });
});
