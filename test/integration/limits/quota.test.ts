// Tiers and the daily API request quota (FAIL-007): GET /v1/me/quota, quota headers on
// authenticated responses, 429 quota_exceeded once a free user's requests are used up.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createUser, type CreatedUser } from '../../helpers/auth.ts';
import { createDailyUsageRepository } from '../../../src/modules/quotas/quotas.repository.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';

const FREE_PER_DAY = 4;

interface QuotaJson {
  tier: string;
  api_requests_per_day: { usage: number; limit: number; reset: string };
  alerts: { usage: number; limit: number; reset: null };
  watchlist_symbols: { usage: number; limit: number; reset: null };
  ws_connections: { usage: number; limit: number; reset: null };
  templates: { usage: number; limit: number; reset: null };
}

describe('daily API request quota', () => {
  let t: TestApp;
  let free: CreatedUser;
  let pro: CreatedUser;
  let admin: CreatedUser;
  before(async () => {
    t = await buildTestApp({ env: { FREE_REQUESTS_PER_DAY: String(FREE_PER_DAY), FREE_ALERTS: '3', PRO_REQUESTS_PER_DAY: '1000' } });
    free = await createUser(t);
    pro = await createUser(t, { tier: 'pro' });
    admin = await createUser(t, { role: 'admin', tier: 'pro' });
  });
  after(() => t.close());

  it('FAIL-007: GET /v1/me/quota reports usage, limit and reset per resource for the caller tier', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/me/quota', headers: free.headers });
    assert.equal(res.statusCode, 200, res.body);
    const quota = res.json<QuotaJson>();
    assert.equal(quota.tier, 'free');
    assert.deepEqual(quota.api_requests_per_day.limit, FREE_PER_DAY);
    assert.equal(quota.api_requests_per_day.usage, 1, 'this request is the first of the day');
    const nextMidnight = new Date(Math.ceil(Date.now() / 86_400_000) * 86_400_000).toISOString();
    assert.equal(quota.api_requests_per_day.reset, nextMidnight);
    assert.deepEqual(quota.alerts, { usage: 0, limit: 3, reset: null });
    assert.equal(quota.watchlist_symbols.limit, t.config.tiers.free.watchlistSymbols);
    assert.equal(quota.ws_connections.limit, t.config.tiers.free.wsConnections);
    assert.equal(quota.templates.limit, t.config.tiers.free.templates);
    assert.equal(res.headers['ratelimit-limit'], String(FREE_PER_DAY));
    assert.equal(res.headers['ratelimit-remaining'], String(FREE_PER_DAY - 1));
    const proQuota = (await t.app.inject({ method: 'GET', url: '/v1/me/quota', headers: pro.headers })).json<QuotaJson>();
    assert.equal(proQuota.tier, 'pro');
    assert.equal(proQuota.api_requests_per_day.limit, 1000);
  });

  it('FAIL-007: usage reported by the owning module (watchlist) appears in the quota', async () => {
    const put = await t.app.inject({ method: 'PUT', url: '/v1/me/watchlist/AAPL', headers: pro.headers });
    assert.ok(put.statusCode === 200 || put.statusCode === 201, put.body);
    const quota = (await t.app.inject({ method: 'GET', url: '/v1/me/quota', headers: pro.headers })).json<QuotaJson>();
    assert.equal(quota.watchlist_symbols.usage, 1);
    assert.equal(quota.watchlist_symbols.limit, t.config.tiers.pro.watchlistSymbols);
  });

  it('FAIL-007: past the daily quota an authenticated route answers 429 quota_exceeded with quota headers', async () => {
    // The quota test above used one request; use up the rest.
    for (let i = 2; i <= FREE_PER_DAY; i++) {
      const res = await t.app.inject({ method: 'GET', url: '/v1/me', headers: free.headers });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['ratelimit-remaining'], String(FREE_PER_DAY - i));
    }
    const refused = await t.app.inject({ method: 'GET', url: '/v1/me', headers: free.headers });
    assert.equal(refused.statusCode, 429);
    assert.equal(refused.json<{ code: string }>().code, 'quota_exceeded');
    const retryAfter = Number(refused.headers['retry-after']);
    assert.ok(retryAfter >= 1 && retryAfter <= 86_400);
    assert.equal(refused.headers['ratelimit-limit'], String(FREE_PER_DAY));
    assert.equal(refused.headers['ratelimit-remaining'], '0');
    assert.equal(refused.headers['ratelimit-reset'], String(retryAfter));
    // Every authenticated route is covered, and other users are not affected.
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/me/sessions', headers: free.headers })).statusCode, 429);
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/me', headers: pro.headers })).statusCode, 200);
    // The admin sees the used-up quota without consuming any of it.
    const seen = await t.app.inject({ method: 'GET', url: `/v1/admin/users/${free.userId}/quota`, headers: admin.headers });
    assert.equal(seen.statusCode, 200);
    assert.deepEqual(seen.json<QuotaJson>().api_requests_per_day.usage, FREE_PER_DAY);
  });

  it('FAIL-007: raising the tier lifts the quota on the next request', async () => {
    const res = await t.app.inject({ method: 'PATCH', url: `/v1/admin/users/${free.userId}`, headers: admin.headers, payload: { tier: 'pro' } });
    assert.equal(res.statusCode, 200, res.body);
    const me = await t.app.inject({ method: 'GET', url: '/v1/me', headers: free.headers });
    assert.equal(me.statusCode, 200);
    assert.equal(me.headers['ratelimit-limit'], '1000');
  });
});

describe('the daily counts table, several users in one statement', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  it('FAIL-007: addMany adds to existing rows, returns the totals, and drops the count of a user deleted meanwhile instead of failing the others', async () => {
    const store = createDailyUsageRepository(t.db);
    const [a, b, gone] = [await createUser(t), await createUser(t), await createUser(t)];
    const day = '2026-03-01';
    assert.deepEqual([...(await store.addMany([{ userId: a.userId, day, count: 5 }]))], [[`${a.userId}:${day}`, 5]]);
    await t.db.query('DELETE FROM users WHERE id = $1', [gone.userId]);
    const totals = await store.addMany([
      { userId: a.userId, day, count: 2 },
      { userId: b.userId, day, count: 3 },
      { userId: gone.userId, day, count: 4 },
    ]);
    assert.deepEqual(
      [...totals].sort(),
      [
        [`${a.userId}:${day}`, 7],
        [`${b.userId}:${day}`, 3],
      ].sort(),
    );
    assert.deepEqual([await store.get(a.userId, day), await store.get(b.userId, day), await store.get(gone.userId, day)], [7, 3, 0]);
  });
});
