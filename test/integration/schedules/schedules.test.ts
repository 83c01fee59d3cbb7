// Each scheduled job does its effect, run as a job by the app's worker, against local
// servers answering like Finnhub (quotes, news) and Yahoo (daily history):
//   - quote refresh asks only for watched, held and alerted symbols, at most its share
//     of the provider's per-minute budget per run, oldest quotes first (a rotation);
//   - daily candles store the last days' daily bars of those symbols;
//   - news is fetched for watched and held symbols only;
//   - cache warming makes the next quote and candle requests of the most watched symbol
//     answer without asking a provider;
//   - a large price import or candle fill enqueues ANALYZE of price_bars, a small one not.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { importPricesFile } from '../../../src/cli/commands/import-prices.ts';
import { ANALYZE_QUEUE } from '../../../src/modules/maintenance/maintenance.jobs.ts';
import { CACHE_WARM_QUEUE, DAILY_CANDLES_QUEUE, NEWS_REFRESH_QUEUE, QUOTE_REFRESH_QUEUE } from '../../../src/modules/schedules/schedules.jobs.ts';
import { createLogger } from '../../../src/platform/logger.ts';
import { createUser, type CreatedUser } from '../../helpers/auth.ts';
import { buildTestApp, usingRedis, type TestApp } from '../../helpers/build-test-app.ts';
import { startFakeFinnhub, startFakeYahoo, type FakeFinnhub, type FakeYahoo, type YahooDay } from '../../helpers/fake-providers.ts';
import { addTransaction, createPortfolio } from '../../helpers/portfolios.ts';
import { waitFor } from '../../helpers/wait.ts';

const DAY = 86_400_000;
const NOW = Date.now();

/** Weekdays of the last `days` days before today, stamped at 14:30 UTC like a US open. */
function weekdays(days: number): YahooDay[] {
  const out: YahooDay[] = [];
  const today = NOW - (NOW % DAY);
  for (let d = today - days * DAY; d < today; d += DAY) {
    const weekday = new Date(d).getUTCDay();
    if (weekday === 0 || weekday === 6) continue;
    out.push({ t: d / 1000 + 14.5 * 3600, o: '100.00', h: '101.50', l: '99.25', c: '100.75', v: '1000' });
  }
  return out;
}

describe('scheduled jobs', () => {
  let t: TestApp;
  let finnhub: FakeFinnhub;
  let yahoo: FakeYahoo;
  let user: CreatedUser;
  /** Watched (by two users: the most watched), held, alerted, and one nobody cares about. */
  const WATCHED = 'WTCH';
  const HELD = 'HELD';
  const ALERTED = 'ALRT';
  const IGNORED = 'IGNR';

  before(async () => {
    finnhub = await startFakeFinnhub();
    yahoo = await startFakeYahoo();
    for (const symbol of [WATCHED, HELD, ALERTED, IGNORED]) {
      finnhub.quotes.set(symbol, { c: '100.50', pc: '99.00', t: String(Math.floor(NOW / 1000)) });
      yahoo.charts.set(symbol, { gmtoffset: -18000, price: '100.75', previousClose: '100', time: Math.floor(NOW / 1000), days: weekdays(10) });
    }
    t = await buildTestApp({
      worker: true,
      env: {
        MARKET_DATA_PROVIDER: 'finnhub',
        FINNHUB_API_KEY: 'test-key-000000000000',
        FINNHUB_BASE_URL: finnhub.url,
        MARKET_HISTORY_PROVIDER: 'yahoo',
        YAHOO_BASE_URL: yahoo.url,
        // 30 calls a minute (the file makes about 15), 7 % of it for a one-minute refresh: 2 quotes per run.
        FINNHUB_CALLS_PER_MINUTE: '30',
        SCHEDULE_PROVIDER_BUDGET_PERCENT: '7',
        ANALYZE_AFTER_ROWS: '5',
        ALERTS_TICK_SECONDS: '0',
        JOBS_POLL_INTERVAL_MS: '500',
        PROVIDER_RETRIES: '0',
      },
    });
    user = await createUser(t);
    const other = await createUser(t);
    for (const u of [user, other]) {
      const res = await t.app.inject({ method: 'PUT', url: `/v1/me/watchlist/${WATCHED}`, headers: u.headers });
      assert.ok(res.statusCode === 200 || res.statusCode === 201, res.body);
    }
    const pid = await createPortfolio(t, user);
    await addTransaction(t, user, pid, { type: 'buy', symbol: HELD, quantity: '3', price: '90.00', currency: 'USD', executed_at: '2024-06-03T10:00:00Z' });
    const alert = await t.app.inject({ method: 'POST', url: '/v1/alerts', headers: user.headers, payload: { kind: 'price_above', symbol: ALERTED, threshold: '500' } });
    assert.equal(alert.statusCode, 201, alert.body);
  });
  after(async () => {
    await t?.close();
    await finnhub?.close();
    await yahoo?.close();
  });

  /** Enqueues `queue` and waits for the job's log line `event` (the n-th one). */
  const runJob = async (queue: string, event: string): Promise<Record<string, unknown>> => {
    const before = t.logs.events(event).length;
    await t.jobs.enqueue(undefined, queue, {});
    return waitFor(`the ${queue} job`, () => Promise.resolve(t.logs.events(event)[before]));
  };
  const quoteRequests = (since: number) => finnhub.requests.slice(since).filter((r) => r.path === '/quote').map((r) => r.query.get('symbol'));

  it('quote refresh asks for watched, held and alerted symbols only, within the budget, oldest quotes first', async () => {
    const start = finnhub.requests.length;
    const first = await runJob(QUOTE_REFRESH_QUEUE, 'schedule_quotes_refreshed');
    assert.deepEqual(first, { ...first, symbols: 3, asked: 2, priced: 2 }, 'three symbols cared for, two quotes within the budget');
    // Never-quoted symbols first, in symbol order: ALRT, HELD.
    assert.deepEqual(quoteRequests(start).sort(), [ALERTED, HELD]);
    const mid = finnhub.requests.length;
    await runJob(QUOTE_REFRESH_QUEUE, 'schedule_quotes_refreshed');
    assert.deepEqual(quoteRequests(mid), [WATCHED], 'the next run takes the symbol without a stored quote (the others are cached)');
    assert.ok(!quoteRequests(start).includes(IGNORED), 'a symbol nobody watches, holds or alerts on is never asked for');
    const stored = await t.db.query<{ symbol: string; price: string }>('SELECT symbol, price::text AS price FROM quotes ORDER BY symbol');
    assert.deepEqual(
      stored.rows.filter((r) => r.symbol !== IGNORED).map((r) => r.symbol),
      [ALERTED, HELD, WATCHED],
    );
    assert.ok(stored.rows.every((r) => r.price.startsWith('100.5')));
  });

  it('daily candles store the last days of daily bars for cared-for symbols, and a fill that large enqueues ANALYZE', async () => {
    const analyzedBefore = t.logs.events('table_analyzed').length;
    const start = yahoo.requests.length;
    const line = await runJob(DAILY_CANDLES_QUEUE, 'schedule_daily_candles_filled');
    const expected = weekdays(10).filter((d) => d.t * 1000 >= NOW - 8 * DAY).length;
    assert.ok(expected > 0);
    const rows = await t.db.query<{ symbol: string; n: number }>(`SELECT symbol, count(*)::int AS n FROM price_bars WHERE "interval" = '1d' GROUP BY symbol ORDER BY symbol`);
    assert.deepEqual(
      rows.rows.map((r) => r.symbol),
      [ALERTED, HELD, WATCHED],
    );
    for (const r of rows.rows) assert.ok(r.n >= expected - 1, `${r.symbol}: ${r.n} daily bars stored`);
    assert.equal(line.symbols, 3);
    assert.ok(Number(line.bars) >= 3 * (expected - 1));
    const asked = yahoo.requests.slice(start).map((r) => decodeURIComponent(r.path.split('/').pop() ?? ''));
    assert.deepEqual([...new Set(asked)].sort(), [ALERTED, HELD, WATCHED]);
    // Each symbol's fill wrote ≥ 5 rows (ANALYZE_AFTER_ROWS): ANALYZE was enqueued and ran.
    await waitFor('ANALYZE after the candle fill', () => Promise.resolve(t.logs.events('table_analyzed')[analyzedBefore]));
  });

  it('news is fetched for watched and held symbols only, and stored', async () => {
    const start = finnhub.requests.length;
    const line = await runJob(NEWS_REFRESH_QUEUE, 'schedule_news_refreshed');
    const asked = finnhub.requests.slice(start).filter((r) => r.path === '/company-news').map((r) => r.query.get('symbol'));
    assert.deepEqual(asked.sort(), [HELD, WATCHED]);
    const stored = await t.db.query<{ symbol: string }>('SELECT DISTINCT symbol FROM news_items ORDER BY symbol');
    assert.deepEqual(
      stored.rows.map((r) => r.symbol),
      [HELD, WATCHED],
    );
    assert.equal(line.added, 2);
    // Idempotent: the same run again adds nothing.
    assert.equal((await runJob(NEWS_REFRESH_QUEUE, 'schedule_news_refreshed')).added, 0);
  });

  it('cache warming makes the most watched symbols\' quote and default candles answer without a provider call', async () => {
    // A symbol never asked for before, now the most watched (three watchers).
    const WARM = 'WARM';
    finnhub.quotes.set(WARM, { c: '42.00', pc: '41.00', t: String(Math.floor(NOW / 1000)) });
    yahoo.charts.set(WARM, { gmtoffset: -18000, price: '42', previousClose: '41', time: Math.floor(NOW / 1000), days: weekdays(30) });
    for (const u of [user, await createUser(t), await createUser(t)]) {
      const res = await t.app.inject({ method: 'PUT', url: `/v1/me/watchlist/${WARM}`, headers: u.headers });
      assert.ok(res.statusCode === 200 || res.statusCode === 201, res.body);
    }
    const line = await runJob(CACHE_WARM_QUEUE, 'schedule_cache_warmed');
    assert.equal(line.symbols, 2, 'both watched symbols (CACHE_WARM_SYMBOLS is 50)');
    const finnhubBefore = finnhub.requests.length;
    const yahooBefore = yahoo.requests.length;
    const quote = await t.app.inject({ method: 'GET', url: `/v1/market/quotes?symbols=${WARM}`, headers: user.headers });
    assert.equal(quote.statusCode, 200, quote.body);
    assert.equal(quote.json<{ items: { price: string }[] }>().items[0]?.price, '42', 'the quote of the provider, not a stored bar');
    const candles = await t.app.inject({ method: 'GET', url: `/v1/market/candles/${WARM}`, headers: user.headers });
    assert.equal(candles.statusCode, 200, candles.body);
    assert.ok(candles.json<{ items: unknown[] }>().items.length > 0);
    assert.equal(finnhub.requests.length, finnhubBefore, 'the quote came from the warmed cache');
    assert.equal(yahoo.requests.length, yahooBefore, 'the candles came from the warmed cache and stored bars');
  });

  it('FAIL-008: cache warming writes only keys from the namespaced builder (financehub:v1:<kind>:…) to Redis', { skip: usingRedis ? false : 'needs TEST_REDIS_URL' }, async () => {
    const redis = t.redis;
    assert.ok(redis !== undefined);
    // The warmed symbol's keys as the running app wrote them, found under this app's prefix.
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${t.redisPrefix}*`, 'COUNT', 500);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    const unprefixed = keys.map((key) => key.slice(t.redisPrefix.length));
    assert.ok(unprefixed.includes('financehub:v1:quote:WARM'), `the warmed quote is cached: ${unprefixed.join(', ')}`);
    assert.ok(unprefixed.some((key) => key.startsWith('financehub:v1:candles:WARM:1d:')), 'the warmed candles are cached');
    for (const key of unprefixed) assert.match(key, /^financehub:v1:[a-z][a-z0-9_-]*:/, `key outside the namespace: ${key}`);
  });

  it('a price import of at least ANALYZE_AFTER_ROWS bars enqueues ANALYZE of price_bars (run by a worker); a smaller one does not', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'fh-analyze-'));
    try {
      const csv = (days: number) => ['Date,Open,High,Low,Close,Volume', ...Array.from({ length: days }, (_, i) => `2020-01-${String(i + 1).padStart(2, '0')},1,2,0.5,1.5,10`)].join('\n');
      const small = path.join(dir, 'small.csv');
      const large = path.join(dir, 'large.csv');
      await writeFile(small, csv(4));
      await writeFile(large, csv(20));
      const io = { out: () => undefined, err: (s: string) => assert.fail(s) };
      const deps = { db: t.db, logger: createLogger('silent'), config: t.config, jobs: t.jobs };
      const jobsIn = async () =>
        (await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t.jobs.schema}.job WHERE name = $1`, [ANALYZE_QUEUE])).rows[0]?.n ?? 0;
      // Earlier fills enqueued ANALYZE too (a singleton): let those finish first.
      await waitFor('earlier ANALYZE jobs to finish', async () => {
        const { rows } = await t.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM ${t.jobs.schema}.job WHERE name = $1 AND state IN ('created', 'retry', 'active')`,
          [ANALYZE_QUEUE],
        );
        return rows[0]?.n === 0 ? true : undefined;
      });
      const before = await jobsIn();
      assert.equal(await importPricesFile(deps, { symbol: 'IMPT', file: small }, io), 0);
      assert.equal(await jobsIn(), before, '4 bars: no ANALYZE');
      const analyzed = t.logs.events('table_analyzed').length;
      assert.equal(await importPricesFile(deps, { symbol: 'IMPT', file: large }, io), 0);
      assert.equal(await jobsIn(), before + 1, '16 new bars: one ANALYZE job');
      const line = await waitFor('the ANALYZE job', () => Promise.resolve(t.logs.events('table_analyzed')[analyzed]));
      assert.equal(line.table, 'price_bars');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
