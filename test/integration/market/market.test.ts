// Market API on the real app and database, with no live provider (MARKET_DATA_PROVIDER=
// none), so everything comes from CSV imports: import (atomic, idempotent), candles
// bucketed by hand-checkable rules, quotes from stored bars, indicators, validation and
// the tier-capped watchlist.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Decimal } from '../../../src/money/index.ts';
import { createUser, type CreatedUser } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';

const TTRC = readFileSync(new URL('../../fixtures/ttrc.csv', import.meta.url), 'utf8');

describe('market API (CSV data, no live provider)', () => {
  let t: TestApp;
  let admin: CreatedUser;
  let user: CreatedUser;

  const importCsv = (symbol: string, csv: string, who: CreatedUser = admin) =>
    t.app.inject({
      method: 'POST',
      url: `/v1/admin/market/prices/${symbol}/import`,
      headers: { ...who.headers, 'content-type': 'text/csv' },
      payload: csv,
    });
  const get = (url: string, who: CreatedUser = user) => t.app.inject({ method: 'GET', url, headers: who.headers });
  const count = async (symbol: string) =>
    (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM price_bars WHERE symbol = $1', [symbol])).rows[0]?.n;

  before(async () => {
    t = await buildTestApp({ env: { MARKET_DATA_PROVIDER: 'none', FREE_WATCHLIST_SYMBOLS: '3' } });
    admin = await createUser(t, { role: 'admin' });
    user = await createUser(t);
  });
  after(() => t.close());

  it('logs which time-series storage path it took (FAIL-003)', () => {
    const [line] = t.logs.events('timeseries_storage');
    assert.ok(line !== undefined);
    assert.equal(line.path, 'partitioned'); // no TimescaleDB on PGlite or on the CI PostgreSQL
  });

  it('imports ttrc.csv as daily bars; a re-import changes nothing (idempotent)', async () => {
    const first = await importCsv('TTRC', TTRC);
    assert.equal(first.statusCode, 200, first.body);
    assert.deepEqual(first.json(), { symbol: 'TTRC', interval: '1d', rows: 5550, inserted: 5550, updated: 0, unchanged: 0 });
    const again = await importCsv('ttrc', TTRC);
    assert.deepEqual(again.json(), { symbol: 'TTRC', interval: '1d', rows: 5550, inserted: 0, updated: 0, unchanged: 5550 });
    assert.equal(await count('TTRC'), 5550);
  });

  it('a bad row is reported with its line number and nothing is written', async () => {
    const lines = TTRC.split('\n');
    lines[4000] = '2001-01-02,10.5,11,10,oops,100';
    const res = await importCsv('BADROW', lines.join('\n'));
    assert.equal(res.statusCode, 422);
    const body = res.json<{ code: string; line: number; column: string; detail: string }>();
    assert.equal(body.code, 'invalid_csv_row');
    assert.equal(body.line, 4001);
    assert.equal(body.column, 'close');
    assert.match(body.detail, /^line 4001, close: "oops" is not a non-negative decimal/);
    assert.equal(await count('BADROW'), 0);
  });

  it('only admins import; the symbol and the content type are validated', async () => {
    assert.equal((await importCsv('TTRC', TTRC, user)).statusCode, 403);
    const unauthenticated = await t.app.inject({ method: 'POST', url: '/v1/admin/market/prices/TTRC/import', headers: { 'content-type': 'text/csv' }, payload: TTRC });
    assert.equal(unauthenticated.statusCode, 401);
    assert.equal((await importCsv('BAD$SYM', TTRC)).statusCode, 400);
    const json = await t.app.inject({ method: 'POST', url: '/v1/admin/market/prices/TTRC/import', headers: admin.headers, payload: { rows: [] } });
    assert.equal(json.statusCode, 415);
  });

  it('weekly candles from the imported days, checked by hand (week of Monday 1985-01-07)', async () => {
    const res = await get('/v1/market/candles/TTRC?interval=1w&from=1985-01-01T00:00:00Z&to=1985-01-14T00:00:00Z');
    assert.equal(res.statusCode, 200, res.body);
    const { items } = res.json<{ items: Array<Record<string, string>> }>();
    assert.equal(items.length, 2);
    assert.equal(items[0]?.ts, '1984-12-31T00:00:00.000Z'); // Wed 2 – Fri 4 Jan: the week's Monday
    const week = items[1];
    assert.equal(week?.ts, '1985-01-07T00:00:00.000Z');
    // Open of Mon 7th, max high, min low, close of Fri 11th, volume sum of the five days.
    assert.deepEqual(
      { open: new Decimal(week?.open ?? '').toString(), high: new Decimal(week?.high ?? '').toString(), low: new Decimal(week?.low ?? '').toString(), close: new Decimal(week?.close ?? '').toString(), volume: week?.volume },
      { open: '3.09', high: '3.29', low: '3.07', close: '3.23', volume: '20098964' },
    );
  });

  it('daily candles: the latest `limit` of the range, oldest first; the default range ends now', async () => {
    const res = await get('/v1/market/candles/TTRC?interval=1d&limit=3&from=1985-01-01T00:00:00Z&to=1985-01-10T00:00:00Z');
    const { items } = res.json<{ items: Array<{ ts: string; close: string }> }>();
    assert.deepEqual(items.map((c) => [c.ts.slice(0, 10), c.close]), [
      ['1985-01-07', '3.1'],
      ['1985-01-08', '3.11'],
      ['1985-01-09', '3.16'],
    ]);
    const latest = await get('/v1/market/candles/TTRC?interval=1d&limit=2&from=2006-01-01T00:00:00Z');
    assert.deepEqual(latest.json<{ items: Array<{ ts: string }> }>().items.map((c) => c.ts.slice(0, 10)), ['2006-12-28', '2006-12-29']);
  });

  it('minute bars bucket into 5m and 1h candles; re-importing changed bars is seen at once (cache keys carry a version)', async () => {
    const rows = ['Date,Open,High,Low,Close,Volume'];
    // 14:00–14:09 UTC: prices 10.00, 10.01 … with a spike at 14:03 and a dip at 14:07.
    for (let m = 0; m < 10; m++) {
      const p = new Decimal('10').plus(new Decimal(m).div(100));
      const high = m === 3 ? '12.5' : p.plus('0.005').toString();
      const low = m === 7 ? '9.1' : p.minus('0.005').toString();
      rows.push(`2024-01-02T14:0${m}:00Z,${p.toString()},${high},${low},${p.plus('0.002').toString()},${m + 1}`);
    }
    const res = await importCsv('MINS', `${rows.join('\n')}\n`);
    assert.equal(res.json<{ interval: string }>().interval, '1m');
    const five = await get('/v1/market/candles/MINS?interval=5m&from=2024-01-02T14:00:00Z&to=2024-01-02T15:00:00Z');
    assert.deepEqual(five.json<{ items: unknown[] }>().items, [
      { ts: '2024-01-02T14:00:00.000Z', open: '10', high: '12.5', low: '9.995', close: '10.042', volume: '15' },
      { ts: '2024-01-02T14:05:00.000Z', open: '10.05', high: '10.095', low: '9.1', close: '10.092', volume: '40' },
    ]);
    const hour = await get('/v1/market/candles/MINS?interval=1h&from=2024-01-02T14:00:00Z&to=2024-01-02T15:00:00Z');
    assert.deepEqual(hour.json<{ items: unknown[] }>().items, [
      { ts: '2024-01-02T14:00:00.000Z', open: '10', high: '12.5', low: '9.1', close: '10.092', volume: '55' },
    ]);
    // The daily candle is built from the minutes when no daily bar is stored.
    const day = await get('/v1/market/candles/MINS?interval=1d&from=2024-01-02T00:00:00Z&to=2024-01-03T00:00:00Z');
    assert.deepEqual(day.json<{ items: Array<{ close: string; volume: string }> }>().items.map((c) => [c.close, c.volume]), [['10.092', '55']]);
    // Change the last bar's close: the (cached) candle follows.
    rows[10] = '2024-01-02T14:09:00Z,10.09,10.095,10.085,10.09,10';
    const changed = await importCsv('MINS', `${rows.join('\n')}\n`);
    assert.deepEqual(changed.json<{ inserted: number; updated: number }>(), { symbol: 'MINS', interval: '1m', rows: 10, inserted: 0, updated: 1, unchanged: 9 });
    const again = await get('/v1/market/candles/MINS?interval=1h&from=2024-01-02T14:00:00Z&to=2024-01-02T15:00:00Z');
    assert.equal(again.json<{ items: Array<{ close: string }> }>().items[0]?.close, '10.09');
  });

  it('quotes come from the newest stored bar when there is no live provider, flagged stale by age', async () => {
    const res = await get('/v1/market/quotes?symbols=ttrc,NOSUCH');
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json<{ items: Array<Record<string, unknown>>; not_found: string[] }>();
    assert.deepEqual(body.items, [
      { symbol: 'TTRC', price: '51.95', previous_close: '52.02', as_of: '2006-12-30T00:00:00.000Z', stale: true, source: 'csv', simulated: false },
    ]);
    assert.deepEqual(body.not_found, ['NOSUCH']);
  });

  it('a symbol read while it had no price is priced at once by an import on this instance (the remembered absence is dropped)', async () => {
    const quote = async () => (await get('/v1/market/quotes?symbols=LATECOMER')).json<{ items: Array<{ price: string }>; not_found: string[] }>();
    assert.deepEqual((await quote()).not_found, ['LATECOMER']);
    assert.equal((await importCsv('LATECOMER', 'date,open,high,low,close,volume\n2024-01-02,10,11,9,10.5,100\n')).statusCode, 200);
    assert.deepEqual((await quote()).items.map((q) => q.price), ['10.5']);
  });

  it('quotes validation (FAIL-007): more than 50 symbols, a bad symbol or none at all answer 400', async () => {
    const many = Array.from({ length: 51 }, (_, i) => `S${i}`).join(',');
    for (const query of [`symbols=${many}`, 'symbols=AAPL,BAD$', 'symbols=AAPL,,MSFT', "symbols=A'%20OR%201=1", '', 'symbols=AAPL&extra=1']) {
      const res = await get(`/v1/market/quotes?${query}`);
      assert.equal(res.statusCode, 400, `${query}: ${res.body}`);
      assert.match(String(res.headers['content-type']), /problem\+json/);
    }
    const fifty = Array.from({ length: 50 }, (_, i) => `S${i}`).join(',');
    assert.equal((await get(`/v1/market/quotes?symbols=${fifty}`)).statusCode, 200);
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/market/quotes?symbols=AAPL' })).statusCode, 401);
  });

  it('candle parameters are validated', async () => {
    for (const query of ['interval=2d', 'limit=0', 'limit=5001', 'from=yesterday', 'interval=1d&from=2020-01-02T00:00:00Z&to=2020-01-01T00:00:00Z']) {
      const res = await get(`/v1/market/candles/TTRC?${query}`);
      assert.equal(res.statusCode, 400, `${query}: ${res.body}`);
    }
    assert.equal((await get('/v1/market/candles/TOO-LONG-SYMBOL-NAME')).statusCode, 400);
  });

  it('indicators over the candles use the exact engine (SMA 5 by hand)', async () => {
    const res = await get('/v1/market/indicators/TTRC?name=sma&period=5&interval=1d&from=1985-01-01T00:00:00Z&to=1985-01-10T00:00:00Z');
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json<{ columns: string[]; items: Array<{ ts: string; close: string; values: Record<string, string | null> }> }>();
    assert.deepEqual(body.columns, ['sma_5']);
    assert.equal(body.items.length, 6);
    assert.equal(body.items[3]?.values.sma_5, null);
    // (3.08 + 3.11 + 3.09 + 3.1 + 3.11) / 5 = 3.098; then (3.11 + 3.09 + 3.1 + 3.11 + 3.16) / 5 = 3.114.
    assert.ok(new Decimal(body.items[4]?.values.sma_5 ?? 'NaN').eq('3.098'));
    assert.ok(new Decimal(body.items[5]?.values.sma_5 ?? 'NaN').eq('3.114'));
    const list = await get('/v1/market/indicators/TTRC?indicators=rsi:14,macd:12:26:9&limit=100&from=2006-01-01T00:00:00Z');
    assert.equal(list.statusCode, 200, list.body);
    assert.deepEqual(list.json<{ columns: string[] }>().columns, ['rsi_14', 'macd_12_26_9', 'macd_signal_12_26_9', 'macd_hist_12_26_9']);
    assert.equal((await get('/v1/market/indicators/TTRC?name=nope')).statusCode, 400);
    assert.equal((await get('/v1/market/indicators/TTRC?name=sma&period=0')).statusCode, 400);
    assert.equal((await get('/v1/market/indicators/TTRC')).statusCode, 400);
    assert.equal((await get('/v1/market/indicators/NODATA?name=sma')).statusCode, 404);
  });

  it('search answers from stored instruments when no provider searches', async () => {
    const res = await get('/v1/market/search?q=ttr');
    assert.equal(res.statusCode, 200);
    assert.ok(Array.isArray(res.json<{ items: unknown[] }>().items));
    assert.equal((await get('/v1/market/search?q=%25%27%3B')).statusCode, 400);
  });

  it('watchlist: add (201, then 200), list, remove; capped by tier with a clear 409', async () => {
    const put = (symbol: string, who: CreatedUser = user) => t.app.inject({ method: 'PUT', url: `/v1/me/watchlist/${symbol}`, headers: who.headers });
    const added = await put('aapl');
    assert.equal(added.statusCode, 201);
    assert.equal(added.json<{ symbol: string }>().symbol, 'AAPL');
    assert.equal((await put('AAPL')).statusCode, 200);
    assert.equal((await put('MSFT')).statusCode, 201);
    assert.equal((await put('BRK.B')).statusCode, 201);
    const full = await put('TSLA');
    assert.equal(full.statusCode, 409);
    assert.equal(full.json<{ code: string; limit: number }>().code, 'watchlist_full');
    assert.equal(full.json<{ limit: number }>().limit, 3);
    const list = await get('/v1/me/watchlist');
    assert.deepEqual(list.json<{ items: Array<{ symbol: string }> }>().items.map((i) => i.symbol), ['AAPL', 'MSFT', 'BRK.B']);
    assert.equal(list.json<{ limit: number }>().limit, 3);
    const quota = await get('/v1/me/quota');
    assert.equal(quota.json<{ watchlist_symbols: { usage: number; limit: number } }>().watchlist_symbols.usage, 3);
    // Another user's list is separate; removing what is not there is 404.
    assert.equal((await put('TSLA', admin)).statusCode, 201);
    const del = await t.app.inject({ method: 'DELETE', url: '/v1/me/watchlist/MSFT', headers: user.headers });
    assert.equal(del.statusCode, 204);
    assert.equal((await t.app.inject({ method: 'DELETE', url: '/v1/me/watchlist/TSLA', headers: user.headers })).statusCode, 404);
    assert.equal((await put('TSLA')).statusCode, 201);
    assert.equal((await put('BAD$')).statusCode, 400);
  });

  it('watchlist cap holds under concurrent adds', async () => {
    const other = await createUser(t);
    const results = await Promise.all(
      ['A1', 'A2', 'A3', 'A4', 'A5', 'A6'].map((s) => t.app.inject({ method: 'PUT', url: `/v1/me/watchlist/${s}`, headers: other.headers })),
    );
    assert.equal(results.filter((r) => r.statusCode === 201).length, 3);
    assert.equal(results.filter((r) => r.statusCode === 409).length, 3);
  });
});
