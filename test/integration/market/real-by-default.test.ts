// Real prices by default, and an honest simulation when chosen: the simulated provider
// prices only its demo universe (a typo is a 404, not a made-up price), every simulated
// quote and candle says so, start-up logs it, and watchlist adds are checked against the
// provider.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createUser, type CreatedUser } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';

describe('the simulated provider, chosen explicitly', () => {
  let t: TestApp;
  let user: CreatedUser;
  before(async () => {
    t = await buildTestApp({ env: { MARKET_DATA_PROVIDER: 'simulated' } });
    user = await createUser(t);
  });
  after(async () => {
    await t.close();
  });
  const get = (url: string) => t.app.inject({ method: 'GET', url, headers: user.headers });

  it('start-up says the market data is simulated and names the demo universe', () => {
    const line = t.logs.events('market_data_simulated')[0];
    assert.ok(line, 'a market_data_simulated line');
    assert.equal(line.level, 'warn');
    assert.match(String(line.msg), /SIMULATED.*AAPL, MSFT, GOOGL, AMZN/);
  });

  it('quotes and candles of demo symbols are marked simulated; unknown symbols are not priced (quotes not_found, candles 404)', async () => {
    const quotes = await get('/v1/market/quotes?symbols=AAPL,SAP,XXXXXXXX');
    assert.equal(quotes.statusCode, 200, quotes.body);
    const body = quotes.json<{ items: Array<{ symbol: string; source: string; simulated: boolean }>; not_found: string[] }>();
    assert.deepEqual(body.items.map((q) => [q.symbol, q.source, q.simulated]), [['AAPL', 'simulated', true], ['SAP', 'simulated', true]]);
    assert.deepEqual(body.not_found, ['XXXXXXXX']);

    const candles = await get('/v1/market/candles/VOO?interval=1d&limit=5');
    assert.equal(candles.statusCode, 200, candles.body);
    const c = candles.json<{ simulated: boolean; items: unknown[] }>();
    assert.equal(c.simulated, true);
    assert.equal(c.items.length, 5);
    const ind = await get('/v1/market/indicators/VTI?name=sma&period=3&limit=2');
    assert.equal(ind.json<{ simulated: boolean }>().simulated, true);

    const typo = await get('/v1/market/candles/MSFTT?interval=1d&limit=5');
    assert.equal(typo.statusCode, 404, typo.body);
    assert.equal(typo.json<{ code: string }>().code, 'unknown_symbol');
    assert.match(typo.json<{ detail: string }>().detail, /not in the simulated demo universe/);
  });

  it('search finds demo symbols only; a watchlist add of an unknown symbol is a 404 and adds nothing', async () => {
    const search = await get('/v1/market/search?q=XXXXXXXX');
    assert.deepEqual(search.json<{ items: unknown[] }>().items, []);
    const bad = await t.app.inject({ method: 'PUT', url: '/v1/me/watchlist/XXXXXXXX', headers: user.headers });
    assert.equal(bad.statusCode, 404, bad.body);
    assert.equal(bad.json<{ code: string }>().code, 'unknown_symbol');
    const good = await t.app.inject({ method: 'PUT', url: '/v1/me/watchlist/MSFT', headers: user.headers });
    assert.equal(good.statusCode, 201, good.body);
    assert.deepEqual((await get('/v1/me/watchlist')).json<{ items: Array<{ symbol: string }> }>().items.map((i) => i.symbol), ['MSFT']);
  });
});
