// Admin routes (FAIL-007, S-012): admin role required (403 with no data otherwise),
// `:userId` validated as a UUID (400), unknown users 404, tier/role/disabled changes
// applied and recorded, disabling revokes every session, keyset pagination.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createUser, login, type CreatedUser } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';

interface AdminUserJson {
  id: string;
  email: string;
  role: string;
  tier: string;
  disabled: boolean;
}
interface Page<T> {
  items: T[];
  next_cursor: string | null;
}
interface EventJson {
  id: number;
  event: string;
  user_id: string | null;
  details: Record<string, unknown>;
}

const UNKNOWN_ID = '3f1b6a52-5b0e-4c7e-9a43-1d2b6c8e9f00';
const MALFORMED_IDS = ['not-a-uuid', "1' OR '1'='1", '12345', '3f1b6a52-5b0e-4c7e-9a43-1d2b6c8e9f0', '3f1b6a52_5b0e_4c7e_9a43_1d2b6c8e9f00'];

describe('admin routes', () => {
  let t: TestApp;
  let admin: CreatedUser;
  let user: CreatedUser;

  before(async () => {
    t = await buildTestApp();
    admin = await createUser(t, { role: 'admin' });
    user = await createUser(t);
  });
  after(() => t.close());

  const call = (method: 'GET' | 'PATCH', url: string, who: CreatedUser | null, payload?: unknown) =>
    t.app.inject({ method, url, ...(who === null ? {} : { headers: who.headers }), ...(payload === undefined ? {} : { payload: payload as object }) });

  const adminRequests = (id: string) =>
    [
      ['GET', '/v1/admin/users', undefined],
      ['GET', `/v1/admin/users/${id}/quota`, undefined],
      ['PATCH', `/v1/admin/users/${id}`, { tier: 'pro' }],
      ['GET', '/v1/admin/security-events', undefined],
    ] as const;

  it('FAIL-007: a user calling admin routes gets 403 with no data, before any validation', async () => {
    for (const id of [user.userId, admin.userId, 'not-a-uuid']) {
      for (const [method, url, payload] of adminRequests(id)) {
        const res = await call(method, url, user, payload);
        assert.equal(res.statusCode, 403, `${method} ${url}`);
        const body = res.json<Record<string, unknown>>();
        assert.equal(body.code, 'forbidden');
        assert.equal(body.items, undefined);
        assert.ok(!res.body.includes(admin.email) && !res.body.includes(user.email), 'no account data in a 403');
      }
    }
    // And the attempted change did not happen.
    const quota = await call('GET', '/v1/me/quota', user);
    assert.equal(quota.json<{ tier: string }>().tier, 'free');
  });

  it('FAIL-007: without a token every admin route answers 401', async () => {
    for (const [method, url, payload] of adminRequests(user.userId)) {
      const res = await call(method, url, null, payload);
      assert.equal(res.statusCode, 401, `${method} ${url}`);
    }
  });

  it('FAIL-007: a malformed userId answers 400 and changes nothing', async () => {
    for (const bad of MALFORMED_IDS) {
      const encoded = encodeURIComponent(bad);
      const quota = await call('GET', `/v1/admin/users/${encoded}/quota`, admin);
      assert.equal(quota.statusCode, 400, `quota ${bad}: ${quota.body}`);
      assert.equal(quota.json<{ code: string }>().code, 'validation_failed');
      const patch = await call('PATCH', `/v1/admin/users/${encoded}`, admin, { disabled: true });
      assert.equal(patch.statusCode, 400, `patch ${bad}: ${patch.body}`);
    }
    assert.equal((await call('GET', '/v1/me', user)).statusCode, 200, 'the user is still enabled');
  });

  it('FAIL-007: an unknown userId answers 404', async () => {
    const quota = await call('GET', `/v1/admin/users/${UNKNOWN_ID}/quota`, admin);
    assert.equal(quota.statusCode, 404);
    assert.equal(quota.json<{ code: string }>().code, 'not_found');
    const patch = await call('PATCH', `/v1/admin/users/${UNKNOWN_ID}`, admin, { tier: 'pro' });
    assert.equal(patch.statusCode, 404);
  });

  it('FAIL-007: PATCH bodies are validated strictly', async () => {
    const url = `/v1/admin/users/${user.userId}`;
    for (const body of [{}, { tier: 'gold' }, { role: 'root' }, { disabled: 'true' }, { disabled: 1 }, { tier: 'pro', is_admin: true }]) {
      const res = await call('PATCH', url, admin, body);
      assert.equal(res.statusCode, 400, `${JSON.stringify(body)}: ${res.body}`);
    }
    assert.equal((await call('GET', '/v1/me/quota', user)).json<{ tier: string }>().tier, 'free');
  });

  it('FAIL-007: an admin reads a user quota', async () => {
    const res = await call('GET', `/v1/admin/users/${user.userId}/quota`, admin);
    assert.equal(res.statusCode, 200);
    const quota = res.json<{ tier: string; api_requests_per_day: { usage: number; limit: number; reset: string }; alerts: { limit: number; reset: null } }>();
    assert.equal(quota.tier, 'free');
    assert.equal(quota.api_requests_per_day.limit, t.config.tiers.free.requestsPerDay);
    assert.ok(quota.api_requests_per_day.usage >= 1, 'the user has made requests today');
    assert.equal(quota.alerts.limit, t.config.tiers.free.alerts);
    assert.equal(quota.alerts.reset, null);
  });

  it('FAIL-007: PATCH tier and role take effect at once and are recorded as security events', async () => {
    const url = `/v1/admin/users/${user.userId}`;
    const tier = await call('PATCH', url, admin, { tier: 'pro' });
    assert.equal(tier.statusCode, 200, tier.body);
    assert.equal(tier.json<AdminUserJson>().tier, 'pro');
    const quota = (await call('GET', '/v1/me/quota', user)).json<{ tier: string; api_requests_per_day: { limit: number } }>();
    assert.equal(quota.tier, 'pro');
    assert.equal(quota.api_requests_per_day.limit, t.config.tiers.pro.requestsPerDay);

    const promote = await call('PATCH', url, admin, { role: 'admin' });
    assert.equal(promote.json<AdminUserJson>().role, 'admin');
    assert.equal((await call('GET', '/v1/admin/users', user)).statusCode, 200, 'the promoted user is an admin now');
    const demote = await call('PATCH', url, admin, { role: 'user', tier: 'free' });
    assert.deepEqual([demote.json<AdminUserJson>().role, demote.json<AdminUserJson>().tier], ['user', 'free']);
    assert.equal((await call('GET', '/v1/admin/users', user)).statusCode, 403, 'and not any more');

    const events = await call('GET', `/v1/admin/security-events?user_id=${user.userId}&limit=100`, admin);
    assert.equal(events.statusCode, 200);
    const items = events.json<Page<EventJson>>().items;
    const changes = items
      .filter((e) => e.event === 'role_changed' || e.event === 'tier_changed')
      .map((e) => `${e.event}:${String(e.details.from)}->${String(e.details.to)}`)
      .sort();
    assert.deepEqual(changes, ['role_changed:admin->user', 'role_changed:user->admin', 'tier_changed:free->pro', 'tier_changed:pro->free']);
    for (const e of items.filter((x) => x.event === 'role_changed')) assert.equal(e.details.by, admin.userId);
  });

  it('FAIL-007: disabling a user revokes all their sessions; enabling lets them log in again', async () => {
    const victim = await createUser(t);
    const second = await login(t, victim.email, victim.password);
    const res = await call('PATCH', `/v1/admin/users/${victim.userId}`, admin, { disabled: true });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json<AdminUserJson>().disabled, true);

    for (const token of [victim.accessToken, second.accessToken]) {
      const me = await t.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${token}` } });
      assert.equal(me.statusCode, 401);
    }
    for (const refreshToken of [victim.refreshToken, second.refreshToken]) {
      const refreshed = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: refreshToken } });
      assert.equal(refreshed.statusCode, 401, refreshed.body);
    }
    const denied = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: victim.email, password: victim.password } });
    assert.equal(denied.statusCode, 401);

    const events = await call('GET', `/v1/admin/security-events?user_id=${victim.userId}&event=user_disabled`, admin);
    const disabled = events.json<Page<EventJson>>().items;
    assert.equal(disabled.length, 1);
    assert.equal(disabled[0]?.details.sessions_revoked, 2);

    const enabled = await call('PATCH', `/v1/admin/users/${victim.userId}`, admin, { disabled: false });
    assert.equal(enabled.json<AdminUserJson>().disabled, false);
    await login(t, victim.email, victim.password);
  });

  it('FAIL-007: an admin cannot disable or demote themselves', async () => {
    for (const body of [{ disabled: true }, { role: 'user' }]) {
      const res = await call('PATCH', `/v1/admin/users/${admin.userId}`, admin, body);
      assert.equal(res.statusCode, 422);
      assert.equal(res.json<{ code: string }>().code, 'self_lockout');
    }
    assert.equal((await call('GET', '/v1/admin/users', admin)).statusCode, 200);
  });

  it('lists users page by page with an opaque cursor, each exactly once', async () => {
    for (let i = 0; i < 3; i++) await createUser(t);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `/v1/admin/users?limit=2${cursor === null ? '' : `&cursor=${cursor}`}`;
      const res = await call('GET', url, admin);
      assert.equal(res.statusCode, 200, res.body);
      const page = res.json<Page<AdminUserJson>>();
      assert.ok(page.items.length <= 2);
      for (const item of page.items) {
        seen.push(item.id);
        assert.equal(Object.hasOwn(item, 'password_hash'), false);
      }
      cursor = page.next_cursor;
      pages++;
    } while (cursor !== null && pages < 50);
    const { rows } = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
    assert.equal(seen.length, rows[0]?.n);
    assert.equal(new Set(seen).size, seen.length);
    assert.ok(seen.includes(admin.userId) && seen.includes(user.userId));
  });

  it('FAIL-016: bad cursors, limits and filters answer 400, never 500', async () => {
    const forged = Buffer.from(JSON.stringify({ at: "2024-01-01T00:00:00Z'; DROP TABLE users; --", id: 'x' })).toString('base64url');
    for (const query of ['cursor=%%%', `cursor=${forged}`, 'cursor=e30', 'limit=0', 'limit=101', 'limit=abc', 'sort=email']) {
      const res = await call('GET', `/v1/admin/users?${query}`, admin);
      assert.equal(res.statusCode, 400, `${query}: ${res.body}`);
    }
    for (const query of ['event=not_an_event', "user_id=1' OR 1=1", 'cursor=e30', `cursor=${forged}`]) {
      const res = await call('GET', `/v1/admin/security-events?${query}`, admin);
      assert.equal(res.statusCode, 400, `${query}: ${res.body}`);
    }
  });

  it('lists security events newest first, filtered by event, page by page', async () => {
    const all = await call('GET', '/v1/admin/security-events?event=login_succeeded&limit=2', admin);
    assert.equal(all.statusCode, 200, all.body);
    const first = all.json<Page<EventJson>>();
    assert.equal(first.items.length, 2);
    assert.ok(first.items.every((e) => e.event === 'login_succeeded'));
    assert.ok(first.next_cursor !== null);
    const next = await call('GET', `/v1/admin/security-events?event=login_succeeded&limit=2&cursor=${first.next_cursor}`, admin);
    const second = next.json<Page<EventJson>>();
    assert.ok(second.items.length >= 1);
    const ids = [...first.items, ...second.items].map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length, 'no event twice');
    assert.ok(!JSON.stringify(second).includes(user.password), 'no password in events');
  });
});
