import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { createUser, login } from '../../helpers/auth.ts';
import { buildTestApp, twoInstances, twoInstancesSkip, usingPostgres, type TestApp } from '../../helpers/build-test-app.ts';

describe('revocation across instances', () => {
  const two = twoInstances();

  /** Polls instance `t` for up to 1 s until the token is refused; true when it was. */
  const refusedWithinOneSecond = async (t: TestApp, token: string) => {
    const deadline = Date.now() + 1000;
    do {
      const res = await t.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${token}` } });
      if (res.statusCode === 401) return true;
      await sleep(50);
    } while (Date.now() < deadline);
    return false;
  };

  it('logout on one instance refuses the access token on the other within 1 s', { skip: twoInstancesSkip }, async () => {
    const { a, b } = two;
    const user = await createUser(a);
    const onB = await b.app.inject({ method: 'GET', url: '/v1/me', headers: user.headers });
    assert.equal(onB.statusCode, 200, 'instance B accepts the token first (it verifies A\'s signature via the shared key)');
    const res = await a.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: user.headers });
    assert.equal(res.statusCode, 204);
    assert.ok(await refusedWithinOneSecond(b, user.accessToken));
  });

  it('logout-all and session deletion on one instance bite on the other within 1 s', { skip: twoInstancesSkip }, async () => {
    const { a, b } = two;
    const user = await createUser(a);
    const second = await login(b, user.email, user.password);
    const third = await login(a, user.email, user.password);
    const del = await b.app.inject({ method: 'DELETE', url: `/v1/me/sessions/${third.sessionId}`, headers: { authorization: `Bearer ${second.accessToken}` } });
    assert.equal(del.statusCode, 204);
    assert.ok(await refusedWithinOneSecond(a, third.accessToken));
    const all = await b.app.inject({ method: 'POST', url: '/v1/auth/logout-all', headers: { authorization: `Bearer ${second.accessToken}` } });
    assert.equal(all.statusCode, 204);
    assert.ok(await refusedWithinOneSecond(a, user.accessToken));
    assert.ok(await refusedWithinOneSecond(a, second.accessToken));
  });

  it('FAIL-001: refresh-token reuse detected on one instance revokes the session on the other', { skip: twoInstancesSkip }, async () => {
    const { a, b } = two;
    const user = await createUser(a);
    const r1 = await b.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: user.refreshToken } });
    assert.equal(r1.statusCode, 200);
    // Reuse after the grace: moved back in the database rather than waiting 10 s.
    await a.db.query("UPDATE refresh_tokens SET used_at = used_at - interval '1 hour' WHERE used_at IS NOT NULL AND session_id = $1", [user.sessionId]);
    const reuse = await a.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: user.refreshToken } });
    assert.equal(reuse.statusCode, 401);
    assert.equal(reuse.json<{ code: string }>().code, 'refresh_token_reused');
    assert.ok(await refusedWithinOneSecond(b, r1.json<{ access_token: string }>().access_token));
  });
});

const skipDown = usingPostgres ? false : 'needs TEST_DATABASE_URL (two instances share one PostgreSQL)';
describe('revocation across instances while Redis is down', () => {
  let a: TestApp;
  let b: TestApp;
  before(async () => {
    if (skipDown !== false) return;
    // Nothing listens on port 1: every Redis command fails at once, as when Redis is down.
    a = await buildTestApp({ env: { REDIS_URL: 'redis://127.0.0.1:1' } });
    b = await buildTestApp({ shareWith: a, env: { REDIS_URL: 'redis://127.0.0.1:1' } });
  });
  after(async () => {
    if (skipDown !== false) return;
    await b.close();
    await a.close();
  });

  it('a session revoked on one instance is refused on the other: the guard falls back to the database', { skip: skipDown }, async () => {
    const user = await createUser(a);
    assert.equal((await b.app.inject({ method: 'GET', url: '/v1/me', headers: user.headers })).statusCode, 200);
    const res = await a.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: user.headers });
    assert.equal(res.statusCode, 204);
    const onB = await b.app.inject({ method: 'GET', url: '/v1/me', headers: user.headers });
    assert.equal(onB.statusCode, 401);
    assert.ok(b.logs.events('revocation_check_fallback').length >= 1, 'the fallback was taken and logged');
  });
});
