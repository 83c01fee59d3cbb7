// Company news through the real app and a local server that answers like Finnhub's
// /company-news: duplicates (same id, same URL) stored once, sentiment a decimal string
// in [-1, 1], a `<script>` headline returned as the same plain text, a `javascript:` URL
// dropped, new items published on `news.published`, the default symbols are the caller's
// watchlist and the symbols of their transactions.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createUser, type CreatedUser } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';
import { addTransaction, createPortfolio } from '../../helpers/portfolios.ts';
import { startFakeFinnhub, type FakeFinnhub } from '../../helpers/fake-providers.ts';

interface NewsJson {
  id: string;
  symbol: string;
  headline: string;
  summary: string;
  url: string | null;
  image_url: string | null;
  sentiment: string;
  published_at: string;
}

const NOW = Math.floor(Date.now() / 1000);
const item = (id: number | string, headline: string, url: string, extra = '') =>
  `{"category":"company news","datetime":${NOW - 3600},"headline":${JSON.stringify(headline)},"id":${typeof id === 'number' ? id : JSON.stringify(id)},"image":"","related":"NWS","source":"Example Wire","summary":"Details.","url":${JSON.stringify(url)}${extra}}`;

describe('company news', () => {
  let t: TestApp;
  let fake: FakeFinnhub;
  let user: CreatedUser;
  const published: { symbol: string; item: NewsJson }[] = [];

  before(async () => {
    fake = await startFakeFinnhub();
    // A symbol the provider knows, so the watchlist accepts it.
    fake.quotes.set('NWS', { c: '12.50', pc: '12.00', t: String(Math.floor(Date.now() / 1000)) });
    fake.news.set(
      'NWS',
      `[${[
        item(1, 'Shares surge after excellent results', 'https://news.example/a'),
        item(1, 'Shares surge after excellent results', 'https://news.example/a'),
        item(2, 'Same story, other id', 'https://news.example/a'),
        item(3, '<script>alert("x")</script> Terrible losses & fraud fears', 'javascript:alert(1)', ',"image":"javascript:alert(2)"'),
        item(4, 'Neutral note on widgets', 'https://news.example/d', ',"image":"https://img.example/d.png"'),
      ].join(',')}]`,
    );
    fake.news.set('TRD', `[${item(5, 'Traded company opens a plant', 'https://news.example/t').replace('"related":"NWS"', '"related":"TRD"')}]`);
    t = await buildTestApp({
      env: { MARKET_DATA_PROVIDER: 'finnhub', FINNHUB_API_KEY: 'test-key-000000000000', FINNHUB_BASE_URL: fake.url, MARKET_HISTORY_PROVIDER: 'none', ALERTS_TICK_SECONDS: '0' },
    });
    user = await createUser(t);
    await t.pubsub.subscribe('news.published', (m) => published.push(m as (typeof published)[number]));
  });
  after(async () => {
    await t.close();
    await fake.close();
  });

  it('stores duplicates once, scores sentiment as a decimal string in [-1, 1], keeps text plain and drops non-http(s) URLs', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/news?symbols=nws', headers: user.headers });
    assert.equal(res.statusCode, 200, res.body);
    const items = res.json<{ items: NewsJson[] }>().items;
    assert.equal(items.length, 3, 'same id and same URL stored once');
    const stored = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM news_items WHERE symbol = 'NWS'");
    assert.equal(stored.rows[0]?.n, 3);
    for (const i of items) {
      assert.equal(typeof i.sentiment, 'string');
      assert.match(i.sentiment, /^-?\d+(\.\d{1,4})?$/);
      const s = i.sentiment.startsWith('-') ? i.sentiment.slice(1) : i.sentiment;
      assert.ok(s === '1' || s.startsWith('0'), `${i.sentiment} in [-1, 1]`);
    }
    const script = items.find((i) => i.headline.includes('<script>'));
    assert.equal(script?.headline, '<script>alert("x")</script> Terrible losses & fraud fears', 'returned as the same plain text');
    assert.match(res.headers['content-type'] ?? '', /application\/json/);
    assert.equal(script?.url, null, 'javascript: URL dropped');
    assert.equal(script?.image_url, null);
    assert.ok(script.sentiment.startsWith('-'), 'negative words score below zero');
    const good = items.find((i) => i.headline.startsWith('Shares surge'));
    assert.ok(good !== undefined && !good.sentiment.startsWith('-') && good.sentiment !== '0');
    assert.equal(items.find((i) => i.headline.startsWith('Neutral'))?.image_url, 'https://img.example/d.png');
    assert.equal(published.filter((p) => p.symbol === 'NWS').length, 3, 'each new item published once');
    assert.equal(typeof published[0]?.item.sentiment, 'string');

    // Asking again stores nothing new.
    await t.app.inject({ method: 'GET', url: '/v1/news?symbols=NWS', headers: user.headers });
    assert.equal((await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM news_items WHERE symbol = 'NWS'")).rows[0]?.n, 3);
  });

  it('defaults to the watchlist; bad queries are 400', async () => {
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/news', headers: user.headers })).json<{ items: unknown[] }>().items.length, 0);
    await t.app.inject({ method: 'PUT', url: '/v1/me/watchlist/NWS', headers: user.headers });
    const res = await t.app.inject({ method: 'GET', url: '/v1/news?limit=2', headers: user.headers });
    const page = res.json<{ items: NewsJson[]; next_cursor: string | null }>();
    assert.equal(page.items.length, 2);
    assert.ok(page.next_cursor !== null);
    const rest = await t.app.inject({ method: 'GET', url: `/v1/news?limit=2&cursor=${page.next_cursor}`, headers: user.headers });
    assert.equal(rest.json<{ items: NewsJson[] }>().items.length, 1);
    for (const q of ['symbols=a%20b', 'from=yesterday', 'limit=0', 'cursor=bad!', 'from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z']) {
      assert.equal((await t.app.inject({ method: 'GET', url: `/v1/news?${q}`, headers: user.headers })).statusCode, 400, q);
    }
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/news' })).statusCode, 401);
  });

  it("without symbols, also covers the symbols of the caller's transactions, and never another user's", async () => {
    const trader = await createUser(t);
    const portfolioId = await createPortfolio(t, trader);
    await addTransaction(t, trader, portfolioId, { type: 'buy', symbol: 'TRD', quantity: '3', price: '90.00', currency: 'USD', executed_at: '2024-06-03T10:00:00Z' });
    const mine = await t.app.inject({ method: 'GET', url: '/v1/news', headers: trader.headers });
    assert.deepEqual(
      mine.json<{ items: NewsJson[] }>().items.map((news) => [news.symbol, news.headline]),
      [['TRD', 'Traded company opens a plant']],
    );
    // The first user watches NWS and trades nothing: TRD's news is not theirs.
    const theirs = await t.app.inject({ method: 'GET', url: '/v1/news', headers: user.headers });
    assert.ok(theirs.json<{ items: NewsJson[] }>().items.every((news) => news.symbol === 'NWS'));
  });
});
