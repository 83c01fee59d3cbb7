// Revocation survives Redis going away and coming back empty (issue 12 item 4): the
// database is the source of truth, each instance distrusts its cached session states
// while the event bus is down and re-reads them when it comes back. Two instances, one
// PostgreSQL, and a Redis of the test's own that is killed and restarted empty.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { createUser, login } from '../../helpers/auth.ts';
import { RECONNECT_DISTRUST_MS } from '../../../src/platform/bus-trust.ts';
import { buildTestApp, usingPostgres, type TestApp } from '../../helpers/build-test-app.ts';
import { createTestClock } from '../../helpers/clock.ts';
import { startOwnRedis, type OwnRedis } from '../../helpers/redis-server.ts';
import { waitFor } from '../../helpers/wait.ts';

const skip = usingPostgres ? false : 'needs TEST_DATABASE_URL (two instances share one PostgreSQL)';

describe('revocation across a Redis restart (FAIL-001, FAIL-006)', () => {
  let redis: OwnRedis;
  let a: TestApp;
  let b: TestApp;
  before(async () => {
    if (skip !== false) return;
    redis = await startOwnRedis();
    const env = { REDIS_URL: redis.url, FREE_REQUESTS_PER_DAY: '20', QUOTA_FLUSH_BATCH: '2' };
    a = await buildTestApp({ env });
    b = await buildTestApp({ shareWith: a, env });
  });
  after(async () => {
    if (skip !== false) return;
    await b?.close();
    await a?.close();
    await redis?.kill();
  });

  const me = async (t: TestApp, token: string) =>
    (await t.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${token}` } })).statusCode;

  it('FAIL-001: sessions revoked before and during an outage stay refused on both instances after Redis comes back empty', { skip }, async () => {
    const user = await createUser(a, { tier: 'pro' }); // pro: many requests, the free quota here is 20
    const before1 = await login(b, user.email, user.password);
    const during = await login(a, user.email, user.password);
    const live = await login(a, user.email, user.password);
    // Both instances have seen (and cached) every session as live.
    for (const t of [a, b]) for (const s of [user, before1, during, live]) assert.equal(await me(t, s.accessToken), 200);

    // Revoked while Redis is up: every instance hears it.
    assert.equal((await b.app.inject({ method: 'DELETE', url: `/v1/me/sessions/${before1.sessionId}`, headers: user.headers })).statusCode, 204);

    await redis.kill();
    // Revoked while Redis is down: the event cannot be published (it is retried).
    assert.equal((await a.app.inject({ method: 'DELETE', url: `/v1/me/sessions/${during.sessionId}`, headers: user.headers })).statusCode, 204);
    // During the outage the other instance reads the database: refused at once.
    assert.equal(await me(b, during.accessToken), 401, 'refused on B during the outage');
    assert.equal(await me(b, before1.accessToken), 401);
    assert.equal(await me(b, live.accessToken), 200, 'a live session keeps working during the outage');

    await redis.start(); // empty: nothing of the past survives in Redis
    // Until well past the cache's staleness bound (5 s), on both instances, the revoked
    // sessions stay refused and the live one keeps working.
    const until = Date.now() + 7_000;
    let checks = 0;
    while (Date.now() < until) {
      for (const t of [a, b]) {
        assert.equal(await me(t, during.accessToken), 401, `session revoked during the outage accepted again (check ${checks})`);
        assert.equal(await me(t, before1.accessToken), 401, `session revoked before the restart accepted again (check ${checks})`);
        assert.equal(await me(t, live.accessToken), 200);
      }
      checks++;
      await sleep(200);
    }
    assert.ok(a.redis !== undefined && a.redis.status === 'ready' && b.redis?.status === 'ready', 'Redis is back for both instances');
  });

  it('FAIL-001: a revocation made after Redis came back bites on the other instance within 1 s', { skip }, async () => {
    const user = await createUser(a, { tier: 'pro' });
    const other = await login(b, user.email, user.password);
    assert.equal(await me(b, other.accessToken), 200);
    // Wait until B trusts its cache again (connected, past the reconnect distrust window).
    await sleep(1_500);
    assert.equal(await me(b, other.accessToken), 200);
    assert.equal((await a.app.inject({ method: 'POST', url: '/v1/auth/logout-all', headers: user.headers })).statusCode, 204);
    const deadline = Date.now() + 1_000;
    let status = 200;
    while (Date.now() < deadline && status !== 401) {
      status = await me(b, other.accessToken);
      if (status !== 401) await sleep(50);
    }
    assert.equal(status, 401);
  });

  it('FAIL-007: a user over the daily quota stays over across a Redis restart (counts live in the database)', { skip }, async () => {
    const user = await createUser(a);
    let admitted = 0;
    for (let i = 0; i < 60; i++) if ((await me(i % 2 === 0 ? a : b, user.accessToken)) === 200) admitted++;
    // Two instances, batches of 2: at most 2 × 2 × 2 = 8 over the quota (docs/limits.md).
    assert.ok(admitted >= 20 && admitted <= 28, `admitted ${admitted}`);
    await redis.kill();
    for (const t of [a, b]) assert.equal(await me(t, user.accessToken), 429, 'still over the quota while Redis is down');
    await redis.start();
    await sleep(1_500);
    for (const t of [a, b]) assert.equal(await me(t, user.accessToken), 429, 'still over the quota after Redis came back empty');
    // A fresh instance (a restart) reads the day's count from the database.
    const c = await buildTestApp({ shareWith: a, env: { REDIS_URL: redis.url, FREE_REQUESTS_PER_DAY: '20' } });
    try {
      assert.equal(await me(c, user.accessToken), 429, 'over the quota on a fresh instance');
    } finally {
      await c.close();
    }
  });
});

describe('session states cached before a Redis outage (FAIL-001)', () => {
  let redis: OwnRedis;
  let t: TestApp;
  // Time stands still unless the test moves it: a state cached before the outage is still
  // well within its max age (5 s) when the bus is trusted again.
  const clock = createTestClock();
  before(async () => {
    if (skip !== false) return;
    redis = await startOwnRedis();
    t = await buildTestApp({ clock, env: { REDIS_URL: redis.url } });
  });
  after(async () => {
    if (skip !== false) return;
    await t?.close();
    await redis?.kill();
  });

  it('FAIL-001: are dropped when the bus comes back, so a revocation whose event was lost bites once the bus is trusted again', { skip }, async () => {
    const user = await createUser(t);
    const me = async () => (await t.app.inject({ method: 'GET', url: '/v1/me', headers: user.headers })).statusCode;
    assert.equal(await me(), 200, 'the session is cached as live');
    await redis.kill();
    await waitFor('the bus to notice the outage', () => Promise.resolve(t.pubsub.connected() ? undefined : true));
    // Revoked where no event can follow (another instance that died right after its commit).
    await t.db.query(`UPDATE sessions SET revoked_at = now(), revoke_reason = 'test' WHERE id = $1`, [user.sessionId]);
    await redis.start();
    await waitFor('the bus to reconnect', () => Promise.resolve(t.pubsub.connected() ? true : undefined));
    await sleep(100);
    clock.advance(RECONNECT_DISTRUST_MS);
    assert.equal(await me(), 401);
  });

  it('FAIL-001: for RECONNECT_DISTRUST_MS after the bus comes back nothing cached is trusted: a revocation without an event bites at once', { skip }, async () => {
    // Events sent around the reconnect may still be lost, so the states read again right
    // after it are not served from memory until the window has passed.
    const user = await createUser(t);
    const me = async () => (await t.app.inject({ method: 'GET', url: '/v1/me', headers: user.headers })).statusCode;
    assert.equal(await me(), 200);
    await redis.kill();
    await waitFor('the bus to notice the outage', () => Promise.resolve(t.pubsub.connected() ? undefined : true));
    await redis.start();
    await waitFor('the bus to reconnect', () => Promise.resolve(t.pubsub.connected() ? true : undefined));
    await sleep(100);
    // The clock stands still: inside the window. The session is read again and is live.
    assert.equal(await me(), 200);
    await t.db.query(`UPDATE sessions SET revoked_at = now(), revoke_reason = 'test' WHERE id = $1`, [user.sessionId]);
    assert.equal(await me(), 401, 'inside the window the state just read is not served from memory');
    clock.advance(RECONNECT_DISTRUST_MS);
    assert.equal(await me(), 401);
  });
});
