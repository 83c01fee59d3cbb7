// Indicator requests are bounded (FAIL-023): total work per request is capped before any is
// done, computed columns are cached per exact bar series, and each user has at most
// INDICATOR_MAX_CONCURRENT indicator requests in progress at once — in one instance, and
// (with Redis) across instances. Candles come from a local fake Yahoo the test can hold,
// so "in progress" is a state the test controls, not a timing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createUser, type CreatedUser } from '../../helpers/auth.ts';
import { buildTestApp, usingRedis, type TestApp } from '../../helpers/build-test-app.ts';
import { createTestClock } from '../../helpers/clock.ts';
import { startFakeYahoo, yahooWeekdays as weekdays, type FakeYahoo } from '../../helpers/fake-providers.ts';
import { waitFor } from '../../helpers/wait.ts';

const DAY = 86_400_000;

describe('indicator limits: work cap, column cache, concurrent requests per user (FAIL-023)', () => {
  let t: TestApp;
  let second: TestApp | undefined;
  let yahoo: FakeYahoo;
  let admin: CreatedUser;
  let alice: CreatedUser;
  let bob: CreatedUser;
  const now = Date.now();
  const env = (yahooUrl: string) => ({
    MARKET_DATA_PROVIDER: 'none',
    MARKET_HISTORY_PROVIDER: 'yahoo',
    YAHOO_BASE_URL: yahooUrl,
    PROVIDER_RETRIES: '0',
    INDICATOR_MAX_VALUES: '1000',
    INDICATOR_MAX_CONCURRENT: '2',
    LOG_LEVEL: 'debug',
  });

  before(async () => {
    yahoo = await startFakeYahoo();
    const chart = { gmtoffset: -18000, price: '1', previousClose: '1', time: Math.floor(now / 1000), days: weekdays(now, 400) };
    for (const symbol of ['AAA', 'BBB', 'H1', 'H2', 'H3', 'H4', 'H5', 'X1', 'X2', 'X3']) yahoo.charts.set(symbol, chart);
    t = await buildTestApp({ clock: createTestClock(new Date(now)), env: env(yahoo.url) });
    admin = await createUser(t, { role: 'admin' });
    alice = await createUser(t);
    bob = await createUser(t);
  });
  after(async () => {
    await second?.close();
    await t.close();
    await yahoo.close();
  });

  const indicators = (who: CreatedUser, symbol: string, query: string, app: TestApp = t) =>
    app.app.inject({ method: 'GET', url: `/v1/market/indicators/${symbol}?interval=1d&${query}`, headers: who.headers });
  /** Holds every provider answer until the returned function is called. */
  const holdProvider = () => {
    let release = () => {};
    yahoo.hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    return () => {
      yahoo.hold = undefined;
      release();
    };
  };

  it('FAIL-023: candles × columns over INDICATOR_MAX_VALUES is a 400 problem naming both; exactly at the cap is served', async () => {
    const over = await indicators(alice, 'AAA', 'limit=501&indicators=sma:5,ema:5');
    assert.equal(over.statusCode, 400, over.body);
    assert.match(String(over.headers['content-type']), /application\/problem\+json/);
    const body = over.json<{ code: string; values: number; max_values: number; detail: string }>();
    assert.equal(body.code, 'indicator_work_exceeded');
    assert.equal(body.values, 1002);
    assert.equal(body.max_values, 1000);
    assert.match(body.detail, /501 candles × 2 indicator columns/);
    // MACD has three columns: 334 × 3 = 1002 is over, 333 × 3 = 999 is not.
    assert.equal((await indicators(alice, 'AAA', 'limit=334&name=macd')).statusCode, 400);
    const at = await indicators(alice, 'AAA', 'limit=500&indicators=sma:5,ema:5');
    assert.equal(at.statusCode, 200, at.body);
    assert.equal(at.json<{ items: unknown[] }>().items.length, weekdays(now, 400).length); // every bar the provider has
  });

  it('FAIL-023: computed columns are cached per exact bar series; equal answers; new bars are computed again', async () => {
    const query = 'limit=100&indicators=sma:10,ema:10,rsi:14';
    const seen = () => t.logs.events('indicator_columns').filter((l) => l.symbol === 'BBB').map((l) => [l.computed, l.cached]);
    const first = await indicators(alice, 'BBB', query);
    assert.equal(first.statusCode, 200, first.body);
    const again = await indicators(bob, 'BBB', query);
    assert.equal(again.statusCode, 200, again.body);
    assert.deepEqual(again.json(), first.json());
    // One new spec next to a cached one: only the new one is computed.
    const mixed = await indicators(alice, 'BBB', 'limit=100&indicators=sma:10,atr:14');
    assert.equal(mixed.statusCode, 200, mixed.body);
    assert.deepEqual(seen(), [[3, 0], [0, 3], [1, 1]]);
    // A new bar (today's, imported): the series changes, so every column is computed afresh.
    const today = new Date(now - (now % DAY)).toISOString().slice(0, 10);
    const imported = await t.app.inject({
      method: 'POST',
      url: '/v1/admin/market/prices/BBB/import',
      headers: { ...admin.headers, 'content-type': 'text/csv' },
      payload: `Date,Open,High,Low,Close,Volume\n${today},120,121,119,120.5,1000\n`,
    });
    assert.equal(imported.statusCode, 200, imported.body);
    const fresh = await indicators(alice, 'BBB', query);
    assert.equal(fresh.statusCode, 200, fresh.body);
    assert.equal(fresh.json<{ items: Array<{ close: string }> }>().items.at(-1)?.close, '120.5');
    assert.deepEqual(seen().at(-1), [3, 0]);
  });

  it('FAIL-023: parallel requests beyond INDICATOR_MAX_CONCURRENT get 429 with Retry-After; other users are unaffected; slots come back', async () => {
    const release = holdProvider();
    const answers: Array<{ statusCode: number; headers: Record<string, unknown>; body: string } | undefined> = [];
    const all = ['H1', 'H2', 'H3', 'H4', 'H5'].map((symbol, i) =>
      indicators(alice, symbol, 'limit=50&indicators=sma:5').then((res) => {
        answers[i] = res;
        return res;
      }),
    );
    try {
      // Two are held at the provider; the other three are refused without waiting for them.
      const refused = await waitFor('three refusals', () => {
        const done = answers.filter((a) => a !== undefined);
        return Promise.resolve(done.length >= 3 ? done : undefined);
      });
      assert.equal(refused.length, 3);
      for (const res of refused) {
        assert.equal(res.statusCode, 429, res.body);
        assert.equal(res.headers['retry-after'], '1');
        assert.equal((JSON.parse(res.body) as { code: string }).code, 'too_many_concurrent_requests');
      }
      // Another user (cached data, no provider call) is served meanwhile.
      assert.equal((await indicators(bob, 'AAA', 'limit=50&indicators=sma:5')).statusCode, 200);
    } finally {
      release();
    }
    const settled = await Promise.all(all);
    assert.deepEqual(settled.map((r) => r.statusCode).sort(), [200, 200, 429, 429, 429]);
    // Both slots were given back.
    const after1 = await Promise.all([indicators(alice, 'AAA', 'limit=50&indicators=sma:6'), indicators(alice, 'AAA', 'limit=50&indicators=sma:7')]);
    assert.deepEqual(after1.map((r) => r.statusCode), [200, 200]);
  });

  it('FAIL-023: the cap holds across instances sharing Redis', { skip: usingRedis ? false : 'needs TEST_REDIS_URL' }, async () => {
    second = await buildTestApp({ shareWith: t, clock: createTestClock(new Date(now)), env: env(yahoo.url) });
    const release = holdProvider();
    const held = ['X1', 'X2'].map((symbol) => indicators(alice, symbol, 'limit=50&indicators=sma:5'));
    try {
      await waitFor('both held at the provider', () =>
        Promise.resolve(['X1', 'X2'].every((s) => yahoo.requests.some((r) => r.path.endsWith(`/${s}`))) ? true : undefined),
      );
      const other = await indicators(alice, 'AAA', 'limit=50&indicators=sma:8', second);
      assert.equal(other.statusCode, 429, other.body);
      assert.equal(other.headers['retry-after'], '1');
    } finally {
      release();
    }
    assert.deepEqual((await Promise.all(held)).map((r) => r.statusCode), [200, 200]);
    assert.equal((await indicators(alice, 'AAA', 'limit=50&indicators=sma:8', second)).statusCode, 200);
  });
});
