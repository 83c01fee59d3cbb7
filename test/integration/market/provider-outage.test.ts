// The real app with Finnhub for quotes and Yahoo for history, both local fake servers.
// FAIL-017 / FAIL-023: when the quote provider hangs, calls time out within their bound,
// the breaker opens, and the last known quotes keep being served, flagged stale.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CreatedUser } from '../../helpers/auth.ts';
import type { TestApp } from '../../helpers/build-test-app.ts';
import type { TestClock } from '../../helpers/clock.ts';
import type { FakeFinnhub, FakeYahoo } from '../../helpers/fake-providers.ts';
import { NEAR_QUOTE_MS } from '../../../src/modules/market/market.service.ts';
import { startProviderApp, type ProviderApp } from '../../helpers/provider-app.ts';
import { watchStatements, type Statement } from '../../helpers/statements.ts';
import { waitFor } from '../../helpers/wait.ts';

const API_KEY = 'fh-app-test-key-abcdef';

interface QuoteBody {
  items: Array<{ symbol: string; price: string; previous_close: string | null; as_of: string; stale: boolean; source: string }>;
  not_found: string[];
}

describe('quotes from a live provider, and its outage (FAIL-017, FAIL-023)', () => {
  let t: TestApp;
  let finnhub: FakeFinnhub;
  let yahoo: FakeYahoo;
  let clock: TestClock;
  let user: CreatedUser;

  let p: ProviderApp;
  const quotes = (symbols: string) => p.quotes<QuoteBody>(symbols);
  const expireCache = () => p.expireCache();

  before(async () => {
    p = await startProviderApp({
      apiKey: API_KEY,
      env: {
        PROVIDER_TIMEOUT_MS: '1000',
        PROVIDER_RETRIES: '1',
        PROVIDER_BREAKER_FAILURES: '2',
        PROVIDER_BREAKER_HALF_OPEN_MS: '600000',
        QUOTE_STALE_SECONDS: '900',
      },
    });
    ({ t, finnhub, yahoo, clock, user } = p);
  });
  after(() => p.close());

  it('serves fresh provider quotes with exact prices; unknown (all-zero) symbols are not found', async () => {
    const now = Math.floor(clock.now().getTime() / 1000);
    finnhub.quotes.set('AAPL', { c: '189.9500000000000001', pc: '188.01', t: String(now - 30) });
    finnhub.quotes.set('MSFT', { c: '410.25', pc: '405', t: String(now - 30) });
    const body = await quotes('AAPL,msft,ZZZZ');
    assert.deepEqual(body.items.map((q) => [q.symbol, q.price, q.previous_close, q.stale, q.source]), [
      ['AAPL', '189.9500000000000001', '188.01', false, 'finnhub'],
      ['MSFT', '410.25', '405', false, 'finnhub'],
    ]);
    assert.deepEqual(body.not_found, ['ZZZZ']);
    // Cached: a second request within QUOTE_CACHE_SECONDS does not call Finnhub again.
    const calls = finnhub.requests.length;
    await quotes('AAPL,MSFT');
    assert.equal(finnhub.requests.length, calls);
    // FAIL-017: the key went in the header only, and no log line carries it.
    assert.ok(finnhub.requests.every((r) => r.headers['x-finnhub-token'] === API_KEY && !r.query.has('token')));
    assert.equal(t.logs.text().includes(API_KEY), false);
  });

  it('readers that find the same quote expired at once share one provider call', async () => {
    const now = Math.floor(clock.now().getTime() / 1000);
    finnhub.quotes.set('NVDA', { c: '880.25', pc: '870', t: String(now - 30) });
    await expireCache();
    finnhub.delayMs = 150; // so the readers overlap
    try {
      const before = finnhub.requests.filter((r) => r.path === '/quote' && r.query.get('symbol') === 'NVDA').length;
      const bodies = await Promise.all(Array.from({ length: 8 }, () => quotes('NVDA')));
      const calls = finnhub.requests.filter((r) => r.path === '/quote' && r.query.get('symbol') === 'NVDA').length - before;
      assert.equal(calls, 1);
      for (const body of bodies) assert.deepEqual(body.items.map((q) => [q.symbol, q.price, q.stale]), [['NVDA', '880.25', false]]);
    } finally {
      finnhub.delayMs = 0;
    }
  });

  it('a quote read in the last tenth of its cache lifetime is answered from the cache while the provider is still being asked, and refreshed in the background once', async () => {
    const amdCalls = () => finnhub.requests.filter((r) => r.path === '/quote' && r.query.get('symbol') === 'AMD').length;
    const now = Math.floor(clock.now().getTime() / 1000);
    finnhub.quotes.set('AMD', { c: '150.5', pc: '149', t: String(now - 30) });
    await expireCache();
    assert.deepEqual((await quotes('AMD')).items.map((q) => q.price), ['150.5']);
    assert.equal(amdCalls(), 1);

    finnhub.quotes.set('AMD', { c: '151.25', pc: '149', t: String(now - 20) });
    let release = () => {};
    finnhub.hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    try {
      // 0.95 of QUOTE_CACHE_SECONDS (1 s): still cached, past REFRESH_AHEAD (0.9).
      clock.advance(950);
      const served = await quotes('AMD');
      // Answered while the provider holds the refresh that this read started.
      assert.deepEqual(served.items.map((q) => [q.price, q.stale]), [['150.5', false]]);
      await waitFor('the refresh to reach the provider', () => Promise.resolve(amdCalls() === 2 ? true : undefined));
    } finally {
      finnhub.hold = undefined;
      release();
    }
    // The refreshed quote lands in the cache; reads meanwhile start no other refresh.
    await waitFor('the refreshed quote', async () => ((await quotes('AMD')).items[0]?.price === '151.25' ? true : undefined));
    assert.equal(amdCalls(), 2);
  });

  it('FAIL-017/FAIL-023: the provider hangs: calls time out, the breaker opens, and quotes are served stale', async () => {
    await expireCache();
    finnhub.mode = 'hang';
    const before = finnhub.requests.length;
    const body = await quotes('AAPL');
    assert.deepEqual(body.items.map((q) => [q.symbol, q.price, q.stale]), [['AAPL', '189.9500000000000001', true]]);
    // One attempt and one retry, each cut at PROVIDER_TIMEOUT_MS; two faults open the breaker.
    assert.equal(finnhub.requests.length - before, 2);
    assert.equal(t.logs.events('provider_circuit_open').length, 1);
    assert.ok(t.logs.events('quote_provider_unavailable').length >= 1);

    // With the breaker open Finnhub is not called at all, and every known quote stays available.
    await expireCache();
    const during = finnhub.requests.length;
    const both = await quotes('AAPL,MSFT,ZZZZ');
    assert.deepEqual(both.items.map((q) => [q.symbol, q.price, q.stale]), [
      ['AAPL', '189.9500000000000001', true],
      ['MSFT', '410.25', true],
    ]);
    assert.deepEqual(both.not_found, ['ZZZZ']);
    assert.equal(finnhub.requests.length, during);
  });

  it('FAIL-023: during an outage the last known quotes are kept for NEAR_QUOTE_MS: reads within it ask neither the provider nor the database, and after it the database once more', async () => {
    // The breaker is still open (previous test; half-open after 10 minutes). Counts the
    // app's statements on quotes or bars while the clock stands still between reads.
    await expireCache();
    const expected = [
      ['AAPL', '189.9500000000000001', true],
      ['MSFT', '410.25', true],
    ];
    const read = async () => (await quotes('AAPL,MSFT')).items.map((q) => [q.symbol, q.price, q.stale]);
    const readsOf = (statements: Statement[]) => statements.filter((s) => /\b(quotes|price_bars)\b/.test(s.text)).length;

    const first = await watchStatements(t, read);
    assert.deepEqual(first.result, expected);
    assert.ok(readsOf(first.statements) >= 1, 'the first read after the cache lapsed reads the last known values');
    const [warningsBefore, callsBefore] = [t.logs.events('quote_provider_unavailable').length, finnhub.requests.length];
    const within = await watchStatements(t, async () => {
      for (let i = 0; i < 10; i++) assert.deepEqual(await read(), expected);
    });
    assert.equal(readsOf(within.statements), 0, 'ten reads within the bound read nothing from the database');
    assert.equal(t.logs.events('quote_provider_unavailable').length - warningsBefore, 0, 'nor warn once more per read');
    assert.equal(finnhub.requests.length, callsBefore);

    clock.advance(NEAR_QUOTE_MS);
    const past = await watchStatements(t, read);
    assert.deepEqual(past.result, expected);
    assert.ok(readsOf(past.statements) >= 1, 'past the bound the last known values are read again');
  });

  it('daily candles are filled from the history provider on first request and stored', async () => {
    yahoo.charts.set('AAPL', {
      gmtoffset: -18000,
      price: '1',
      previousClose: '1',
      time: 1_700_000_000,
      days: [
        { t: 1_699_885_800, o: '185.82', h: '186.03', l: '184.21', c: '184.8', v: '43627500' },
        { t: 1_700_058_600, o: '187.85', h: '189.5', l: '187.78', c: '188.01', v: '53790500' },
      ],
    });
    const url = '/v1/market/candles/AAPL?interval=1d&from=2023-11-01T00:00:00Z&to=2023-12-01T00:00:00Z';
    const res = await t.app.inject({ method: 'GET', url, headers: user.headers });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json<{ items: Array<{ ts: string; close: string }> }>().items.map((c) => [c.ts.slice(0, 10), c.close]), [
      ['2023-11-13', '184.8'],
      ['2023-11-15', '188.01'],
    ]);
    const stored = await t.db.query<{ n: number; source: string }>(`SELECT count(*)::int AS n, min(source) AS source FROM price_bars WHERE symbol = 'AAPL'`);
    assert.deepEqual(stored.rows[0], { n: 2, source: 'yahoo' });
  });

  it('later requests ask only for what is not yet covered, before or after; a covered range is never asked again', async () => {
    yahoo.charts.get('AAPL')?.days.unshift({ t: 1_697_463_000, o: '178', h: '179', l: '177', c: '178.5', v: '100' }); // 2023-10-16
    await expireCache();
    const before = yahoo.requests.length;
    const res = await t.app.inject({ method: 'GET', url: '/v1/market/candles/AAPL?interval=1d&from=2023-10-01T00:00:00Z&to=2023-12-01T00:00:00Z', headers: user.headers });
    assert.deepEqual(res.json<{ items: Array<{ ts: string; close: string }> }>().items.map((c) => c.close), ['178.5', '184.8', '188.01']);
    // Asked for October only: November was covered by the first request.
    assert.deepEqual(yahoo.requests.slice(before).map((r) => [r.query.get('period1'), r.query.get('period2')]), [
      [String(Date.parse('2023-10-01T00:00:00Z') / 1000), String(Date.parse('2023-11-01T00:00:00Z') / 1000)],
    ]);
    const repeat = await t.app.inject({ method: 'GET', url: '/v1/market/candles/AAPL?interval=1d&limit=499&from=2023-10-15T00:00:00Z&to=2023-11-20T00:00:00Z', headers: user.headers });
    assert.equal(repeat.statusCode, 200);
    assert.equal(yahoo.requests.length, before + 1, 'a covered range is answered from storage');
  });

  it('FAIL-023: an unreachable history provider leaves candles empty (200), not an error', async () => {
    yahoo.mode = 'hang';
    const res = await t.app.inject({ method: 'GET', url: '/v1/market/candles/NVDA?interval=1d&from=2023-11-01T00:00:00Z&to=2023-12-01T00:00:00Z', headers: user.headers });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json<{ items: unknown[] }>().items, []);
    yahoo.mode = 'ok';
  });
});
