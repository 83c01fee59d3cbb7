import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createUser, sessionIdOf } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';

const ORIGIN = 'http://127.0.0.1:3000';
const web = { 'x-financehub-client': 'web', origin: ORIGIN };

/** The fh_refresh Set-Cookie header of a response, or undefined. */
function refreshCookie(res: { headers: Record<string, unknown> }): string | undefined {
  const raw = res.headers['set-cookie'];
  const all = Array.isArray(raw) ? (raw as string[]) : typeof raw === 'string' ? [raw] : [];
  return all.find((c) => c.startsWith('fh_refresh='));
}
const cookieValue = (setCookie: string) => setCookie.slice('fh_refresh='.length, setCookie.indexOf(';'));

describe('browser sessions: refresh token in an HttpOnly cookie, CSRF defence', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp({ env: { ALLOWED_ORIGINS: `${ORIGIN},http://localhost:3000`, REFRESH_TOKEN_TTL: '3600' } });
  });
  after(() => t.close());

  const webLogin = async (email: string, password: string, headers: Record<string, string> = web) =>
    t.app.inject({ method: 'POST', url: '/v1/auth/login', headers, payload: { email, password } });

  it('web login sets an HttpOnly, SameSite=Strict cookie on /v1/auth and leaves the token out of the body', async () => {
    const user = await createUser(t);
    const res = await webLogin(user.email, user.password);
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json<Record<string, unknown>>();
    assert.equal(typeof body.access_token, 'string');
    assert.equal('refresh_token' in body, false, 'no refresh token readable by scripts');
    const cookie = refreshCookie(res);
    assert.ok(cookie !== undefined, 'cookie set');
    const attrs = cookie.split(';').map((a) => a.trim());
    assert.ok(attrs.includes('HttpOnly'));
    assert.ok(attrs.includes('SameSite=Strict'));
    assert.ok(attrs.includes('Path=/v1/auth'));
    assert.ok(attrs.includes('Max-Age=3600'));
    assert.ok(!attrs.includes('Secure'), 'plain http: no Secure flag (the browser would drop it)');
    assert.ok(cookieValue(cookie).length > 20);
  });

  it('the cookie is Secure when the request came over https (X-Forwarded-Proto behind TRUST_PROXY)', async () => {
    const proxied = await buildTestApp({ env: { ALLOWED_ORIGINS: 'https://fh.example', TRUST_PROXY: 'true' } });
    try {
      const user = await createUser(proxied);
      const res = await proxied.app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        headers: { 'x-financehub-client': 'web', origin: 'https://fh.example', 'x-forwarded-proto': 'https' },
        payload: { email: user.email, password: user.password },
      });
      assert.equal(res.statusCode, 200, res.body);
      assert.ok(refreshCookie(res)?.split(';').map((a) => a.trim()).includes('Secure'));
    } finally {
      await proxied.close();
    }
  });

  it('web refresh rotates the cookie, answers an access token of the same session', async () => {
    const user = await createUser(t);
    const login = await webLogin(user.email, user.password);
    const first = cookieValue(refreshCookie(login) ?? '');
    const res = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', headers: { ...web, cookie: `other=1; fh_refresh=${first}` }, payload: {} });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal('refresh_token' in res.json<Record<string, unknown>>(), false);
    const second = cookieValue(refreshCookie(res) ?? '');
    assert.notEqual(second, first);
    assert.equal(sessionIdOf(res.json<{ access_token: string }>().access_token), sessionIdOf(login.json<{ access_token: string }>().access_token));
  });

  it('CSRF: a cross-origin refresh with the cookie but without the custom header is refused and rotates nothing', async () => {
    const user = await createUser(t);
    const login = await webLogin(user.email, user.password);
    const token = cookieValue(refreshCookie(login) ?? '');
    const cookie = `fh_refresh=${token}`;
    const noHeader = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', headers: { origin: 'https://evil.example', cookie }, payload: {} });
    assert.equal(noHeader.statusCode, 400, noHeader.body);
    assert.equal(refreshCookie(noHeader), undefined);
    const sameOriginNoHeader = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', headers: { origin: ORIGIN, cookie }, payload: {} });
    assert.equal(sameOriginNoHeader.statusCode, 400, 'the cookie is never read without the custom header');
    const foreign = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/refresh',
      headers: { 'x-financehub-client': 'web', origin: 'https://evil.example', cookie },
      payload: {},
    });
    assert.equal(foreign.statusCode, 403, foreign.body);
    assert.equal(foreign.json<{ code: string }>().code, 'cross_origin_refused');
    const noOrigin = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', headers: { 'x-financehub-client': 'web', cookie }, payload: {} });
    assert.equal(noOrigin.statusCode, 403);
    // Nothing was spent: the legitimate page can still refresh with the same cookie.
    const ok = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', headers: { ...web, cookie }, payload: {} });
    assert.equal(ok.statusCode, 200, ok.body);
  });

  it('a web login from a foreign origin is refused before any session is made', async () => {
    const user = await createUser(t);
    const res = await webLogin(user.email, user.password, { 'x-financehub-client': 'web', origin: 'https://evil.example' });
    assert.equal(res.statusCode, 403);
    assert.equal(refreshCookie(res), undefined);
    const { rows } = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM sessions WHERE user_id = $1 AND revoked_at IS NULL', [user.userId]);
    assert.equal(rows[0]?.n, 1, 'only the session createUser made');
  });

  it('web refresh without a cookie is a 401 problem', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', headers: web, payload: {} });
    assert.equal(res.statusCode, 401);
    assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
  });

  it('web sign-out clears the cookie and revokes the session', async () => {
    const user = await createUser(t);
    const login = await webLogin(user.email, user.password);
    const access = login.json<{ access_token: string }>().access_token;
    const cookie = `fh_refresh=${cookieValue(refreshCookie(login) ?? '')}`;
    const out = await t.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: { ...web, cookie, authorization: `Bearer ${access}` } });
    assert.equal(out.statusCode, 204);
    const cleared = refreshCookie(out);
    assert.ok(cleared?.startsWith('fh_refresh=;') === true && cleared.includes('Max-Age=0'), `cleared: ${cleared}`);
    const again = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', headers: { ...web, cookie }, payload: {} });
    assert.equal(again.statusCode, 401);
  });

  it('JSON clients are unaffected: the token is in the body, no cookie is set, and a cookie alone is ignored', async () => {
    const user = await createUser(t);
    const res = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: user.email, password: user.password } });
    assert.equal(res.statusCode, 200);
    const body = res.json<{ refresh_token: string }>();
    assert.equal(typeof body.refresh_token, 'string');
    assert.equal(refreshCookie(res), undefined);
    const rotated = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: body.refresh_token } });
    assert.equal(rotated.statusCode, 200);
    assert.equal(typeof rotated.json<{ refresh_token: string }>().refresh_token, 'string');
    assert.equal(refreshCookie(rotated), undefined);
    const out = await t.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: { authorization: `Bearer ${rotated.json<{ access_token: string }>().access_token}` } });
    assert.equal(out.statusCode, 204);
    assert.equal(refreshCookie(out), undefined);
  });
});
