import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createUser, login } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';

interface SessionItem {
  id: string;
  created_at: string;
  last_used_at: string;
  user_agent: string | null;
  ip: string | null;
  current: boolean;
}

describe('sessions and revocation (FAIL-013, issue 3 §5)', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  const auth = (token: string) => ({ authorization: `Bearer ${token}` });
  const me = (token: string) => t.app.inject({ method: 'GET', url: '/v1/me', headers: auth(token) });
  const refresh = (token: string) => t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: token } });

  it('lists own live sessions with created, last used, user agent, IP and the current flag', async () => {
    const user = await createUser(t);
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: user.email, password: user.password },
      headers: { 'user-agent': 'SessionTest/1.0' },
      remoteAddress: '192.0.2.77',
    });
    const second = res.json<{ access_token: string }>();
    const list = await t.app.inject({ method: 'GET', url: '/v1/me/sessions', headers: user.headers });
    assert.equal(list.statusCode, 200);
    const { items, next_cursor } = list.json<{ items: SessionItem[]; next_cursor: null }>();
    assert.equal(next_cursor, null);
    assert.equal(items.length, 2);
    const current = items.find((s) => s.current);
    assert.equal(current?.id, user.sessionId);
    const other = items.find((s) => !s.current);
    assert.equal(other?.user_agent, 'SessionTest/1.0');
    assert.equal(other?.ip, '192.0.2.77');
    assert.match(other?.created_at ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(other?.last_used_at);
    // From the second session's point of view, it is the current one.
    const fromSecond = await t.app.inject({ method: 'GET', url: '/v1/me/sessions', headers: auth(second.access_token) });
    assert.equal(fromSecond.json<{ items: SessionItem[] }>().items.find((s) => s.current)?.id, other?.id);
  });

  it('FAIL-013: another user\'s session id answers 404, exactly like an unknown one, and the session survives', async () => {
    const alice = await createUser(t);
    const mallory = await createUser(t);
    const foreign = await t.app.inject({ method: 'DELETE', url: `/v1/me/sessions/${alice.sessionId}`, headers: mallory.headers });
    const unknown = await t.app.inject({ method: 'DELETE', url: `/v1/me/sessions/${randomUUID()}`, headers: mallory.headers });
    assert.equal(foreign.statusCode, 404);
    assert.equal(unknown.statusCode, 404);
    const strip = (body: string) => body.replace(/"requestId":"[^"]+"/, '');
    assert.equal(strip(foreign.body), strip(unknown.body));
    assert.equal((await me(alice.accessToken)).statusCode, 200);
    assert.equal((await refresh(alice.refreshToken)).statusCode, 200);
  });

  it('FAIL-013: a malformed session id is 400, never 500', async () => {
    const user = await createUser(t);
    for (const id of ['not-a-uuid', "1' OR '1'='1", '123', `${randomUUID()}x`]) {
      const res = await t.app.inject({ method: 'DELETE', url: `/v1/me/sessions/${encodeURIComponent(id)}`, headers: user.headers });
      assert.equal(res.statusCode, 400, id);
    }
  });

  it('deleting one of my sessions refuses its access and refresh tokens at once; the others keep working', async () => {
    const user = await createUser(t);
    const other = await login(t, user.email, user.password);
    const res = await t.app.inject({ method: 'DELETE', url: `/v1/me/sessions/${other.sessionId}`, headers: user.headers });
    assert.equal(res.statusCode, 204);
    assert.equal((await me(other.accessToken)).statusCode, 401);
    assert.equal((await refresh(other.refreshToken)).statusCode, 401);
    assert.equal((await me(user.accessToken)).statusCode, 200);
    const again = await t.app.inject({ method: 'DELETE', url: `/v1/me/sessions/${other.sessionId}`, headers: user.headers });
    assert.equal(again.statusCode, 404, 'a revoked session is gone');
  });

  it('logout revokes the current session (access and refresh) and nothing else', async () => {
    const user = await createUser(t);
    const other = await login(t, user.email, user.password);
    const res = await t.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: user.headers });
    assert.equal(res.statusCode, 204);
    assert.equal((await me(user.accessToken)).statusCode, 401);
    assert.equal((await refresh(user.refreshToken)).statusCode, 401);
    assert.equal((await me(other.accessToken)).statusCode, 200);
    assert.equal((await t.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: user.headers })).statusCode, 401);
  });

  it('logout-all revokes every session of the caller, and only theirs', async () => {
    const user = await createUser(t);
    const bystander = await createUser(t);
    const sessions = [await login(t, user.email, user.password), await login(t, user.email, user.password)];
    const res = await t.app.inject({ method: 'POST', url: '/v1/auth/logout-all', headers: user.headers });
    assert.equal(res.statusCode, 204);
    for (const s of [{ accessToken: user.accessToken, refreshToken: user.refreshToken }, ...sessions]) {
      assert.equal((await me(s.accessToken)).statusCode, 401);
      assert.equal((await refresh(s.refreshToken)).statusCode, 401);
    }
    assert.equal((await me(bystander.accessToken)).statusCode, 200);
    const fresh = await login(t, user.email, user.password);
    assert.equal((await me(fresh.accessToken)).statusCode, 200, 'logging in again works');
    const events = await t.db.query<{ event: string }>("SELECT event FROM security_events WHERE user_id = $1 AND event = 'logout_all'", [user.userId]);
    assert.equal(events.rows.length, 1);
  });

  it('logout-all leaves no refresh token of the user unrevoked in the database', async () => {
    const user = await createUser(t);
    const { rows } = await t.db.query<{ id: string }>('SELECT id FROM sessions WHERE user_id = $1 AND revoked_at IS NULL', [user.userId]);
    assert.equal(rows.length, 1);
    const logout = await t.app.inject({ method: 'POST', url: '/v1/auth/logout-all', headers: user.headers });
    assert.equal(logout.statusCode, 204);
    const live = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id WHERE s.user_id = $1 AND rt.revoked_at IS NULL', [user.userId]);
    assert.equal(live.rows[0]?.n, 0, 'no refresh token of the user is left unrevoked');
  });

  it('session routes need a token', async () => {
    for (const [method, url] of [['GET', '/v1/me/sessions'], ['DELETE', `/v1/me/sessions/${randomUUID()}`], ['POST', '/v1/auth/logout'], ['POST', '/v1/auth/logout-all']] as const) {
      const res = await t.app.inject({ method, url });
      assert.equal(res.statusCode, 401, `${method} ${url}`);
    }
  });
});
