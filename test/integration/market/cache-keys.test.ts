// FAIL-008 end to end: what the running app really writes to a shared Redis (quotes,
// candles, rate-limit counters) is all under the one namespace of the key builder.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createUser } from '../../helpers/auth.ts';
import { buildTestApp, usingRedis, type TestApp } from '../../helpers/build-test-app.ts';

const skip = usingRedis ? false : 'needs TEST_REDIS_URL';
describe('cache keys in a shared Redis', () => {
  let t: TestApp;
  before(async () => {
    if (skip !== false) return;
    t = await buildTestApp({ env: { MARKET_DATA_PROVIDER: 'simulated' } });
  });
  after(() => (skip === false ? t.close() : undefined));

  it('FAIL-008: every key the running app writes to Redis (quotes, candles, limits) is financehub:v1:<kind>:…', { skip }, async () => {
    const user = await createUser(t);
    const quotes = await t.app.inject({ method: 'GET', url: '/v1/market/quotes?symbols=AAPL,BRK.B', headers: user.headers });
    assert.equal(quotes.statusCode, 200, quotes.body);
    const candles = await t.app.inject({ method: 'GET', url: '/v1/market/candles/AAPL?interval=1d&limit=5', headers: user.headers });
    assert.equal(candles.statusCode, 200, candles.body);

    const redis = t.redis;
    assert.ok(redis !== undefined);
    // ioredis adds the test's prefix to commands but not to SCAN patterns or results.
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${t.redisPrefix}*`, 'COUNT', 500);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');

    const unprefixed = keys.map((key) => key.slice(t.redisPrefix.length));
    assert.ok(unprefixed.some((key) => key.startsWith('financehub:v1:quote:')), `no quote key among ${unprefixed.join(', ')}`);
    for (const key of unprefixed) assert.match(key, /^financehub:v1:[a-z][a-z0-9_-]*:/, `key outside the namespace: ${key}`);
  });
});
