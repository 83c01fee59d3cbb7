// Rate limits on the auth routes (FAIL-014, S-013): refresh per IP and per session,
// login and register per IP, and requests with refused bearer tokens per IP; each
// answers 429 problem JSON with Retry-After and RateLimit headers, and a spoofed
// X-Forwarded-For does not reset them (TRUST_PROXY is off).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createUser, login, strongPassword, type CreatedUser } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';

const LIMITS = { public: 8, login: 3, register: 2, refreshIp: 3, refreshSession: 2 };

function assertLimited(res: { statusCode: number; body: string; headers: Record<string, unknown>; json: <T>() => T }, limit: number): void {
  assert.equal(res.statusCode, 429, res.body);
  assert.equal(res.json<{ code: string }>().code, 'rate_limited');
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  const retryAfter = Number(res.headers['retry-after']);
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After ${String(res.headers['retry-after'])}`);
  assert.equal(res.headers['ratelimit-limit'], String(limit));
  assert.equal(res.headers['ratelimit-remaining'], '0');
  assert.ok(Number(res.headers['ratelimit-reset']) >= 1);
}

describe('auth route rate limits', () => {
  let t: TestApp;
  let user: CreatedUser;
  let second: { refreshToken: string };

  before(async () => {
    t = await buildTestApp({
      env: {
        RATE_LIMIT_PUBLIC: `${LIMITS.public}/60`,
        RATE_LIMIT_LOGIN: `${LIMITS.login}/60`,
        RATE_LIMIT_REGISTER: `${LIMITS.register}/60`,
        RATE_LIMIT_REFRESH_IP: `${LIMITS.refreshIp}/60`,
        RATE_LIMIT_REFRESH_SESSION: `${LIMITS.refreshSession}/60`,
      },
    });
    // From 127.0.0.1: one register and two logins (under the limits above).
    user = await createUser(t);
    second = await login(t, user.email, user.password);
  });
  after(() => t.close());

  const refresh = (token: string, ip: string, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'POST', url: '/v1/auth/refresh', remoteAddress: ip, headers, payload: { refresh_token: token } });

  it('FAIL-014: the refresh limit per IP answers 429 with Retry-After and RateLimit headers; a spoofed X-Forwarded-For does not reset it', async () => {
    const ip = '10.3.0.1';
    // Two sessions, so the per-session limit (2) is not what stops us.
    const tokens = [user.refreshToken, second.refreshToken];
    for (let i = 0; i < LIMITS.refreshIp; i++) {
      const index = i % 2;
      const res = await refresh(tokens[index] ?? '', ip);
      assert.equal(res.statusCode, 200, res.body);
      assert.ok(res.headers['ratelimit-limit'] !== undefined, 'RateLimit headers on allowed refreshes');
      tokens[index] = res.json<{ refresh_token: string }>().refresh_token;
    }
    assertLimited(await refresh(tokens[1] ?? '', ip), LIMITS.refreshIp);
    for (const spoofed of ['203.0.113.9', '198.51.100.7, 203.0.113.9']) {
      assertLimited(await refresh(tokens[1] ?? '', ip, { 'x-forwarded-for': spoofed }), LIMITS.refreshIp);
    }
    // The refused attempts consumed nothing: the token still works from elsewhere.
    const ok = await refresh(tokens[1] ?? '', '10.3.0.2');
    assert.equal(ok.statusCode, 200, ok.body);
    user = { ...user, refreshToken: tokens[0] ?? '' };
    second = { refreshToken: ok.json<{ refresh_token: string }>().refresh_token };
  });

  it('FAIL-014: the refresh limit per session holds across addresses, and a refused refresh does not spend the token', async () => {
    const fresh = await createUserSession();
    let token = fresh.refreshToken;
    for (let i = 0; i < LIMITS.refreshSession; i++) {
      const res = await refresh(token, `10.4.0.${i + 1}`);
      assert.equal(res.statusCode, 200, res.body);
      token = res.json<{ refresh_token: string }>().refresh_token;
    }
    const refused = await refresh(token, '10.4.0.50');
    assertLimited(refused, LIMITS.refreshSession);
    // Not reuse: the token was not consumed, so presenting it again is still just throttled.
    assertLimited(await refresh(token, '10.4.0.51'), LIMITS.refreshSession);
  });

  // A second user for the per-session test, logged in from an address of its own.
  async function createUserSession(): Promise<{ refreshToken: string }> {
    const email = `session-${Date.now()}@example.test`;
    const password = strongPassword();
    const reg = await t.app.inject({ method: 'POST', url: '/v1/auth/register', remoteAddress: '10.4.1.1', payload: { email, password } });
    assert.equal(reg.statusCode, 201, reg.body);
    const res = await t.app.inject({ method: 'POST', url: '/v1/auth/login', remoteAddress: '10.4.1.1', payload: { email, password } });
    assert.equal(res.statusCode, 200, res.body);
    return { refreshToken: res.json<{ refresh_token: string }>().refresh_token };
  }

  it('FAIL-014: login is limited per IP, whether or not the email exists, even with the right password', async () => {
    const ip = '10.5.0.1';
    for (let i = 0; i < LIMITS.login; i++) {
      const res = await t.app.inject({ method: 'POST', url: '/v1/auth/login', remoteAddress: ip, payload: { email: `nobody-${i}@example.test`, password: 'wrong password here' } });
      assert.equal(res.statusCode, 401);
    }
    assertLimited(
      await t.app.inject({ method: 'POST', url: '/v1/auth/login', remoteAddress: ip, payload: { email: user.email, password: user.password } }),
      LIMITS.login,
    );
    assertLimited(
      await t.app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        remoteAddress: ip,
        headers: { 'x-forwarded-for': '192.0.2.44' },
        payload: { email: user.email, password: user.password },
      }),
      LIMITS.login,
    );
  });

  it('FAIL-014: registration is limited per IP', async () => {
    const ip = '10.6.0.1';
    const register = () =>
      t.app.inject({ method: 'POST', url: '/v1/auth/register', remoteAddress: ip, payload: { email: `r-${Math.random().toString(36).slice(2)}@example.test`, password: strongPassword() } });
    for (let i = 0; i < LIMITS.register; i++) assert.equal((await register()).statusCode, 201);
    assertLimited(await register(), LIMITS.register);
  });

  it('FAIL-014: refused bearer tokens are limited per IP, and valid tokens from other addresses still work', async () => {
    const ip = '10.7.0.1';
    for (let i = 0; i < LIMITS.public; i++) {
      const res = await t.app.inject({ method: 'GET', url: '/v1/me', remoteAddress: ip, headers: { authorization: `Bearer forged.token.${i}` } });
      assert.equal(res.statusCode, 401);
    }
    assertLimited(await t.app.inject({ method: 'GET', url: '/v1/me', remoteAddress: ip, headers: { authorization: 'Bearer forged.token.x' } }), LIMITS.public);
    const me = await t.app.inject({ method: 'GET', url: '/v1/me', remoteAddress: '10.7.0.2', headers: user.headers });
    assert.equal(me.statusCode, 200);
  });

  it('FAIL-014: an address over the bad-token limit gets no new token verified, while a token this instance already verified still works from it', async () => {
    const ip = '10.7.1.1';
    const me = (headers: Record<string, string>, from = ip) => t.app.inject({ method: 'GET', url: '/v1/me', remoteAddress: from, headers });
    // A token verified here before the address went over its limit …
    assert.equal((await me(user.headers, '10.7.1.2')).statusCode, 200);
    for (let i = 0; i < LIMITS.public; i++) assert.equal((await me({ authorization: `Bearer forged.token.${i}` })).statusCode, 401);
    assertLimited(await me({ authorization: 'Bearer forged.token.x' }), LIMITS.public);
    // … is no guess: it is answered from memory, without the limiter's round trip.
    assert.equal((await me(user.headers)).statusCode, 200);
    // A valid token this instance has not verified yet is refused before it is verified.
    const fresh = await t.app.inject({ method: 'POST', url: '/v1/auth/login', remoteAddress: '10.7.1.3', payload: { email: user.email, password: user.password } });
    assert.equal(fresh.statusCode, 200, fresh.body);
    assertLimited(await me({ authorization: `Bearer ${fresh.json<{ access_token: string }>().access_token}` }), LIMITS.public);
  });
});
