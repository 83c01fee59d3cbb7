// The holdings answer is kept per portfolio revision, variant and quotes, and sent again
// while none of them changed (src/modules/portfolios/portfolios.service.ts). These tests
// change each input in turn and check that the answer follows, through the real app and
// database. Quotes come from the market module's quotes table (MARKET_DATA_PROVIDER=none).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NEAR_QUOTE_MS } from '../../../src/modules/market/market.service.ts';
import { createUser, type CreatedUser } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';
import { createPortfolio } from '../../helpers/portfolios.ts';

const START = new Date('2024-06-30T12:00:00.000Z');

interface Holdings {
  items: Array<{ symbol: string; quantity: string; price: string | null; price_as_of: string | null; stale: boolean; market_value: string | null }>;
  totals: { market_value: string; stale: boolean };
}

describe('holdings answers kept between reads', () => {
  let t: TestApp;
  let user: CreatedUser;
  let portfolioId: string;
  let now = new Date(START);

  const read = async (query = ''): Promise<{ body: string; holdings: Holdings }> => {
    const res = await t.app.inject({ method: 'GET', url: `/v1/portfolios/${portfolioId}/holdings${query}`, headers: user.headers });
    assert.equal(res.statusCode, 200, res.body);
    assert.match(String(res.headers['content-type']), /^application\/json; charset=utf-8$/);
    return { body: res.body, holdings: res.json<Holdings>() };
  };
  const trade = async (type: 'buy' | 'sell', symbol: string, quantity: string, price: string) => {
    const res = await t.app.inject({
      method: 'POST',
      url: `/v1/portfolios/${portfolioId}/transactions`,
      headers: user.headers,
      payload: { type, symbol, quantity, price, currency: 'USD', executed_at: '2024-06-03T10:00:00Z' },
    });
    assert.equal(res.statusCode, 201, res.body);
  };
  const setQuote = (symbol: string, price: string, asOf: Date) =>
    t.db.query(
      `INSERT INTO quotes (symbol, price, previous_close, as_of, source) VALUES ($1, $2, NULL, $3, 'test')
       ON CONFLICT (symbol) DO UPDATE SET price = EXCLUDED.price, as_of = EXCLUDED.as_of`,
      [symbol, price, asOf],
    );
  const row = (h: Holdings, symbol: string) => h.items.find((i) => i.symbol === symbol);

  before(async () => {
    t = await buildTestApp({ clock: { now: () => new Date(now) }, env: { MARKET_DATA_PROVIDER: 'none', QUOTE_STALE_SECONDS: '120' } });
    user = await createUser(t);
    portfolioId = await createPortfolio(t, user);
    await trade('buy', 'QKEEP', '2', '10');
    await setQuote('QKEEP', '12', new Date(START.getTime() - 60_000));
  });
  after(() => t.close());

  it('a repeated read with nothing changed gets the same answer, schema-serialized', async () => {
    const first = await read();
    const second = await read();
    assert.equal(second.body, first.body);
    assert.equal(row(first.holdings, 'QKEEP')?.price, '12');
    assert.equal(row(first.holdings, 'QKEEP')?.market_value, '24.00');
    // The route's serializer decided the fields: exactly the schema's, in its order.
    assert.deepEqual(Object.keys(JSON.parse(first.body) as object), ['portfolio_id', 'base_currency', 'items', 'cash', 'totals']);
  });

  it('a new quote stored by another writer is valued within NEAR_QUOTE_MS', async () => {
    // Without a live provider the last known quote is kept in memory for NEAR_QUOTE_MS; a
    // quote this instance stores replaces it at once, another writer's within the bound.
    await setQuote('QKEEP', '13', new Date(START.getTime() - 30_000));
    assert.equal(row((await read()).holdings, 'QKEEP')?.price, '12', 'within the bound');
    now = new Date(now.getTime() + NEAR_QUOTE_MS);
    const h = (await read()).holdings;
    assert.equal(row(h, 'QKEEP')?.price, '13');
    assert.equal(row(h, 'QKEEP')?.market_value, '26.00');
    assert.equal(row(h, 'QKEEP')?.price_as_of, new Date(START.getTime() - 30_000).toISOString());
  });

  it('a quote that ages past its freshness is flagged stale, at the same price', async () => {
    assert.equal(row((await read()).holdings, 'QKEEP')?.stale, false);
    now = new Date(START.getTime() + 5 * 60_000);
    const h = (await read()).holdings;
    assert.equal(row(h, 'QKEEP')?.stale, true);
    assert.equal(row(h, 'QKEEP')?.price, '13');
    assert.equal(h.totals.stale, true);
  });

  it('a new transaction changes the answer', async () => {
    await trade('buy', 'QKEEP', '1', '11');
    assert.equal(row((await read()).holdings, 'QKEEP')?.quantity, '3');
  });

  it('with and without closed positions are kept apart', async () => {
    await trade('buy', 'QGONE', '1', '5');
    await trade('sell', 'QGONE', '1', '6');
    const open = await read();
    const all = await read('?include_closed=true');
    const openAgain = await read();
    assert.equal(row(open.holdings, 'QGONE'), undefined);
    assert.equal(row(all.holdings, 'QGONE')?.quantity, '0');
    assert.equal(openAgain.body, open.body);
    assert.equal((await read('?include_closed=true')).body, all.body);
  });
});
