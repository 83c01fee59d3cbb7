// History that does not depend on request order: candles are filled from the history
// provider (a local fake Yahoo) for every uncovered part of the range, before and after
// what is stored, and one fill per symbol and resolution runs at a time, in one process
// and across instances sharing the database.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createMarket } from '../../../src/modules/market/index.ts';
import { createLogger } from '../../../src/platform/logger.ts';
import { createUser, type CreatedUser } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';
import { createTestClock } from '../../helpers/clock.ts';
import { startFakeYahoo, yahooWeekdays as weekdays, type FakeYahoo } from '../../helpers/fake-providers.ts';

const DAY = 86_400_000;

describe('history coverage: gaps before and after are filled, single flight per symbol and interval', () => {
  let t: TestApp;
  let yahoo: FakeYahoo;
  let user: CreatedUser;
  const now = Date.now();
  const days = weekdays(now, 800);
  const chart = { gmtoffset: -18000, price: '1', previousClose: '1', time: Math.floor(now / 1000), days };
  const isoDay = (ms: number) => new Date(ms - (ms % DAY)).toISOString();

  before(async () => {
    yahoo = await startFakeYahoo();
    for (const symbol of ['AAA', 'BBB', 'CCC', 'DDD', 'EEE']) yahoo.charts.set(symbol, chart);
    t = await buildTestApp({
      clock: createTestClock(new Date(now)),
      env: { MARKET_DATA_PROVIDER: 'none', MARKET_HISTORY_PROVIDER: 'yahoo', YAHOO_BASE_URL: yahoo.url, PROVIDER_RETRIES: '0' },
    });
    user = await createUser(t);
  });
  after(async () => {
    await t.close();
    await yahoo.close();
  });

  const candles = async (symbol: string, query: string) => {
    const res = await t.app.inject({ method: 'GET', url: `/v1/market/candles/${symbol}?interval=1d&limit=5000&${query}`, headers: user.headers });
    assert.equal(res.statusCode, 200, res.body);
    return res.json<{ items: Array<{ ts: string; close: string }> }>().items;
  };
  const asked = (symbol: string, since = 0) =>
    yahoo.requests.slice(since).filter((r) => r.path.endsWith(`/${symbol}`)).map((r) => [Number(r.query.get('period1')) * 1000, Number(r.query.get('period2')) * 1000] as const);
  /** Every day was asked of the provider at most once. */
  const noOverlap = (ranges: ReadonlyArray<readonly [number, number]>) => {
    const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < sorted.length; i++) assert.ok(sorted[i]![0] >= sorted[i - 1]![1], `asked twice: ${JSON.stringify(sorted.map((r) => r.map((x) => new Date(x).toISOString())))}`);
  };

  it('a later, earlier `from` fills the gap before the stored range: same answer as a fresh symbol', async () => {
    const recentFrom = isoDay(now - 61 * DAY);
    const oldFrom = isoDay(now - 600 * DAY);
    const recent = await candles('AAA', `from=${recentFrom}`);
    const expectedRecent = days.filter((d) => d.t * 1000 >= Date.parse(recentFrom)).length;
    assert.equal(recent.length, expectedRecent);

    const before = yahoo.requests.length;
    const later = await candles('AAA', `from=${oldFrom}`);
    const fresh = await candles('BBB', `from=${oldFrom}`);
    const expected = days.filter((d) => d.t * 1000 >= Date.parse(oldFrom)).length;
    assert.ok(expected > 400);
    assert.equal(fresh.length, expected);
    assert.equal(later.length, expected, 'the earlier part was filled, not only what lies after the stored bars');
    assert.deepEqual(later, fresh);
    assert.equal(later[0]?.ts, new Date(days.find((d) => d.t * 1000 >= Date.parse(oldFrom))!.t * 1000 - 14.5 * 3600_000).toISOString());

    // Only the uncovered gap before was asked: from the old `from` up to the first one.
    const gaps = asked('AAA', before);
    assert.equal(gaps.length, 1, JSON.stringify(gaps));
    assert.equal(gaps[0]?.[0], Date.parse(oldFrom));
    assert.ok((gaps[0]?.[1] ?? 0) <= Date.parse(recentFrom));

    // A covered range is never asked again (a different limit bypasses the response cache).
    const again = yahoo.requests.length;
    const res = await t.app.inject({ method: 'GET', url: `/v1/market/candles/AAA?interval=1d&limit=4999&from=${oldFrom}&to=${isoDay(now - 70 * DAY)}`, headers: user.headers });
    assert.equal(res.statusCode, 200);
    assert.equal(yahoo.requests.length, again);
  });

  it('a gap in the middle is filled too', async () => {
    const a = await candles('EEE', `from=${isoDay(now - 300 * DAY)}&to=${isoDay(now - 250 * DAY)}`);
    const b = await candles('EEE', `from=${isoDay(now - 150 * DAY)}&to=${isoDay(now - 100 * DAY)}`);
    assert.ok(a.length > 20 && b.length > 20);
    const before = yahoo.requests.length;
    const whole = await candles('EEE', `from=${isoDay(now - 300 * DAY)}&to=${isoDay(now - 100 * DAY)}`);
    assert.equal(whole.length, days.filter((d) => d.t * 1000 >= now - (now % DAY) - 300 * DAY && d.t * 1000 < now - (now % DAY) - 100 * DAY).length);
    assert.deepEqual(asked('EEE', before), [[now - (now % DAY) - 250 * DAY, now - (now % DAY) - 150 * DAY]]);
  });

  it('concurrent requests in one process: each day is asked of the provider once', async () => {
    yahoo.delayMs = 150;
    try {
      const froms = [600, 500, 400, 300, 200, 100].map((d) => isoDay(now - d * DAY));
      const answers = await Promise.all(froms.map((from) => candles('CCC', `from=${from}`)));
      for (const [i, items] of answers.entries()) assert.equal(items.length, days.filter((d) => d.t * 1000 >= Date.parse(froms[i]!)).length);
      noOverlap(asked('CCC'));
    } finally {
      yahoo.delayMs = 0;
    }
  });

  it('concurrent fills from two instances on one database: each day is asked once (the fill lease)', async () => {
    yahoo.delayMs = 300;
    const instances = await Promise.all([1, 2].map(() => createMarket({ config: t.config, logger: createLogger('silent'), db: t.db, clock: createTestClock(new Date(now)) })));
    try {
      const from = new Date(now - (now % DAY) - 500 * DAY);
      const results = await Promise.all(instances.map((m) => m.service.candles('DDD', '1d', { from, limit: 5000 })));
      const expected = days.filter((d) => d.t * 1000 >= from.getTime()).length;
      assert.deepEqual(results.map((r) => r.length), [expected, expected]);
      // The last few days are not settled (bars may still change) and each instance's own
      // throttle may ask for them again; every settled day was asked once.
      const settled = now - 4 * DAY - ((now - 4 * DAY) % DAY);
      noOverlap(asked('DDD').map(([a, b]) => [a, Math.min(b, settled)] as const).filter(([a, b]) => b - a > 1000)); // period1/period2 are whole seconds
      assert.equal(asked('DDD').filter(([start]) => start === from.getTime()).length, 1, 'the historical gap was asked by one instance only');
    } finally {
      yahoo.delayMs = 0;
      await Promise.all(instances.map((m) => m.close()));
    }
  });
});
