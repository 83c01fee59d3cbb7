// Two app instances on one PostgreSQL and one Redis share rate-limit counts (FAIL-014):
// a client cannot multiply its budget by spreading requests over instances.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { createUser } from '../../helpers/auth.ts';
import { buildTestApp, usingPostgres, usingRedis, type TestApp } from '../../helpers/build-test-app.ts';

const skip = !usingRedis ? 'needs TEST_REDIS_URL (shared limits live in Redis)' : !usingPostgres ? 'needs TEST_DATABASE_URL (two instances on one database)' : false;
const env = { RATE_LIMIT_PUBLIC: '6/60', RATE_LIMIT_REFRESH_SESSION: '2/60' };

async function redisReady(t: TestApp): Promise<void> {
  // Until the client is connected, limits are counted by the in-memory insurance limiter.
  const deadline = Date.now() + 10_000;
  while (t.redis?.status !== 'ready') {
    if (Date.now() > deadline) throw new Error(`redis not ready: ${t.redis?.status ?? 'none'}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('rate limits shared by two instances', () => {
  let one: TestApp;
  let two: TestApp;
  before(async () => {
    if (skip !== false) return;
    one = await buildTestApp({ env });
    two = await buildTestApp({ env, shareWith: one });
    await Promise.all([redisReady(one), redisReady(two)]);
  });
  after(async () => {
    if (skip !== false) return;
    await two.close();
    await one.close();
  });

  it('FAIL-014: the public per-IP limit is shared: alternating instances does not double it', { skip }, async () => {
    const ip = '10.8.0.1';
    for (let i = 0; i < 6; i++) {
      const t = i % 2 === 0 ? one : two;
      const res = await t.app.inject({ method: 'GET', url: '/health/ready', remoteAddress: ip });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['ratelimit-remaining'], String(5 - i), 'one count for both instances');
    }
    for (const t of [one, two]) {
      const res = await t.app.inject({ method: 'GET', url: '/health/ready', remoteAddress: ip });
      assert.equal(res.statusCode, 429);
      assert.ok(Number(res.headers['retry-after']) >= 1);
    }
  });

  it('FAIL-014: the refresh limit per session is shared across instances', { skip }, async () => {
    const user = await createUser(one);
    let token = user.refreshToken;
    for (const t of [one, two]) {
      const res = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', remoteAddress: '10.8.1.1', payload: { refresh_token: token } });
      assert.equal(res.statusCode, 200, res.body);
      token = res.json<{ refresh_token: string }>().refresh_token;
    }
    const refused = await one.app.inject({ method: 'POST', url: '/v1/auth/refresh', remoteAddress: '10.8.1.2', payload: { refresh_token: token } });
    assert.equal(refused.statusCode, 429, refused.body);
    const alsoRefused = await two.app.inject({ method: 'POST', url: '/v1/auth/refresh', remoteAddress: '10.8.1.3', payload: { refresh_token: token } });
    assert.equal(alsoRefused.statusCode, 429, alsoRefused.body);
  });

  it('FAIL-007: the daily request quota is counted once across instances', { skip }, async () => {
    const user = await createUser(two);
    const a = await one.app.inject({ method: 'GET', url: '/v1/me', headers: user.headers });
    const b = await two.app.inject({ method: 'GET', url: '/v1/me', headers: user.headers });
    assert.equal(a.statusCode, 200);
    assert.equal(b.statusCode, 200);
    // Each instance adds its count to the database in batches or after
    // QUOTA_FLUSH_INTERVAL_MS (docs/limits.md); once that has passed, the total is exact.
    await sleep(one.config.quotaFlushIntervalMs * 2);
    const quota = await one.app.inject({ method: 'GET', url: '/v1/me/quota', headers: user.headers });
    assert.equal(quota.json<{ api_requests_per_day: { usage: number } }>().api_requests_per_day.usage, 3);
  });
});
