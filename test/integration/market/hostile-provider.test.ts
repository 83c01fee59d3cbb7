// The real app against a hostile provider (FAIL-017, FAIL-023): values outside the
// bounds (a negative price, a 401-digit price, an unbounded exponent) are bad responses.
// Nothing of them is stored, the last good quote keeps being served flagged stale, and
// a hostile history answer leaves candles as they were (200), never a 500.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CreatedUser } from '../../helpers/auth.ts';
import type { TestApp } from '../../helpers/build-test-app.ts';
import type { TestClock } from '../../helpers/clock.ts';
import type { FakeFinnhub, FakeYahoo } from '../../helpers/fake-providers.ts';
import { startProviderApp, type ProviderApp } from '../../helpers/provider-app.ts';

interface QuoteBody {
  items: Array<{ symbol: string; price: string; stale: boolean }>;
  not_found: string[];
}

describe('a hostile provider cannot poison stored prices (FAIL-017)', () => {
  let t: TestApp;
  let finnhub: FakeFinnhub;
  let yahoo: FakeYahoo;
  let clock: TestClock;
  let user: CreatedUser;

  let p: ProviderApp;
  const quotes = (symbols: string) => p.quotes<QuoteBody>(symbols);
  const expireCache = () => p.expireCache();
  const storedPrice = async (symbol: string) =>
    (await t.db.query<{ price: string }>('SELECT price::text AS price FROM quotes WHERE symbol = $1', [symbol])).rows[0]?.price;

  before(async () => {
    p = await startProviderApp({
      apiKey: 'fh-hostile-test-key-0123',
      env: {
        PROVIDER_TIMEOUT_MS: '2000',
        PROVIDER_RETRIES: '0',
        PROVIDER_BREAKER_FAILURES: '100',
      },
    });
    ({ t, finnhub, yahoo, clock, user } = p);
  });
  after(() => p.close());

  it('FAIL-017: a negative, a 401-digit or an unbounded-exponent price is refused; the last good quote is served, flagged stale, and stays stored', async () => {
    const now = String(Math.floor(clock.now().getTime() / 1000));
    finnhub.quotes.set('AAPL', { c: '189.95', pc: '188.01', t: now });
    assert.deepEqual((await quotes('AAPL')).items.map((q) => [q.price, q.stale]), [['189.95', false]]);
    for (const hostile of ['-5', '4'.repeat(401), '1e999999999']) {
      await expireCache();
      finnhub.quotes.set('AAPL', { c: hostile, pc: '188.01', t: now });
      const started = performance.now();
      const body = await quotes('AAPL');
      assert.ok(performance.now() - started < 5000, `answered in ${Math.round(performance.now() - started)} ms`);
      assert.deepEqual(body.items.map((q) => [q.symbol, q.price, q.stale]), [['AAPL', '189.95', true]], `after ${hostile.slice(0, 12)}`);
      assert.equal(await storedPrice('AAPL'), '189.95', 'the last good value was not overwritten');
    }
    assert.ok(t.logs.events('provider_bad_response').length >= 3);
    assert.equal(t.logs.events('unhandled_error').length, 0);
  });

  it('FAIL-017: hostile history bars leave candles empty (200) and store nothing', async () => {
    yahoo.charts.set('EVIL', {
      gmtoffset: -18000,
      price: '1',
      previousClose: '1',
      time: 1_700_000_000,
      days: [{ t: 1_699_885_800, o: '185', h: '186', l: '-184', c: '185', v: '1' }],
    });
    const res = await t.app.inject({
      method: 'GET',
      url: '/v1/market/candles/EVIL?interval=1d&from=2023-11-01T00:00:00Z&to=2023-12-01T00:00:00Z',
      headers: user.headers,
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json<{ items: unknown[] }>().items, []);
    const { rows } = await t.db.query<{ n: number }>(`SELECT count(*)::int8 AS n FROM price_bars WHERE symbol = 'EVIL'`);
    assert.deepEqual(rows, [{ n: 0 }]);
  });
});
