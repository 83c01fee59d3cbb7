import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { createUser, login, strongPassword } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';

describe('accounts: register, login, /v1/me', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  it('registers with a normalised email and logs in with any spelling of it', async () => {
    const password = strongPassword();
    const res = await t.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email: '  Mixed.Case@Example.TEST ', password } });
    assert.equal(res.statusCode, 201, res.body);
    const body = res.json<Record<string, unknown>>();
    assert.equal(body.email, 'mixed.case@example.test');
    assert.equal(body.role, 'user');
    assert.equal(body.tier, 'free');
    assert.equal(body.password, undefined);
    assert.equal(body.password_hash, undefined);

    const tokens = await login(t, 'MIXED.case@example.test', password);
    const me = await t.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${tokens.accessToken}` } });
    assert.equal(me.statusCode, 200, me.body);
    assert.equal(me.json<{ email: string }>().email, 'mixed.case@example.test');
  });

  it('login answers the token shape of the design', async () => {
    const user = await createUser(t);
    const res = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: user.email, password: user.password } });
    assert.equal(res.statusCode, 200);
    const body = res.json<Record<string, unknown>>();
    assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'refresh_token', 'token_type']);
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.expires_in, t.config.accessTokenTtl);
    assert.ok(Buffer.from(String(body.refresh_token), 'base64url').length >= 32, 'refresh token carries >= 256 bits');
  });

  it('stores an argon2id hash at no less than the OWASP minimum', async () => {
    const user = await createUser(t);
    const { rows } = await t.db.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = $1', [user.userId]);
    const hash = rows[0]?.password_hash ?? '';
    assert.match(hash, /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/);
    const [, m, tCost, p] = /m=(\d+),t=(\d+),p=(\d+)/.exec(hash) ?? [];
    assert.ok(Number(m) >= 19456 && Number(tCost) >= 2 && Number(p) >= 1);
    assert.ok(!hash.includes(user.password));
  });

  it('a taken email (any case) creates no second account and changes nothing (FAIL-010 answers: registration.test.ts)', async () => {
    const user = await createUser(t);
    const res = await t.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email: user.email.toUpperCase(), password: strongPassword() } });
    assert.equal(res.statusCode, 201);
    const { rows } = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM users WHERE email = $1', [user.email]);
    assert.equal(rows[0]?.n, 1);
    await login(t, user.email, user.password);
  });

  it('refuses weak, short and overlong passwords and malformed emails with 400', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ email: 'weak@example.test', password: 'password123' }, 'weak_password'],
      [{ email: 'weak2@example.test', password: 'qwertyuiop' }, 'weak_password'],
      [{ email: 'short@example.test', password: 'Sh0rt!' }, 'validation_failed'],
      [{ email: 'long@example.test', password: 'x'.repeat(1025) }, 'validation_failed'],
      [{ email: 'not-an-email', password: strongPassword() }, 'invalid_email'],
      [{ email: 'a@b', password: strongPassword() }, 'invalid_email'],
      [{ email: 'x@example.test', password: 12345678901 }, 'validation_failed'],
      [{ email: 'x@example.test', password: strongPassword(), role: 'admin' }, 'validation_failed'],
    ];
    for (const [payload, code] of cases) {
      const res = await t.app.inject({ method: 'POST', url: '/v1/auth/register', payload });
      assert.equal(res.statusCode, 400, `${JSON.stringify(payload).slice(0, 80)} → ${res.body}`);
      assert.equal(res.json<{ code: string }>().code, code);
    }
    const { rows } = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM users WHERE email LIKE '%weak%' OR email LIKE 'x@%'");
    assert.equal(rows[0]?.n, 0);
  });

  it('createUser can make admins and pro users; /v1/me reflects role and tier', async () => {
    const admin = await createUser(t, { role: 'admin', tier: 'pro' });
    const me = await t.app.inject({ method: 'GET', url: '/v1/me', headers: admin.headers });
    assert.equal(me.statusCode, 200);
    assert.equal(me.json<{ role: string }>().role, 'admin');
    assert.equal(me.json<{ tier: string }>().tier, 'pro');
  });

  it('/v1/me without a token, or with garbage, is 401 problem JSON', async () => {
    for (const headers of [{}, { authorization: 'Bearer nonsense' }, { authorization: 'Basic abc' }]) {
      const res = await t.app.inject({ method: 'GET', url: '/v1/me', headers });
      assert.equal(res.statusCode, 401);
      assert.equal(res.json<{ code: string }>().code, 'authentication_failed');
    }
  });

  it('health details need an admin token: a user gets status only, an admin gets components', async () => {
    const user = await createUser(t);
    const admin = await createUser(t, { role: 'admin' });
    const asUser = await t.app.inject({ method: 'GET', url: '/health/ready', headers: user.headers });
    assert.equal(asUser.json<{ components?: unknown }>().components, undefined);
    const asAdmin = await t.app.inject({ method: 'GET', url: '/health/ready', headers: admin.headers });
    assert.ok(Array.isArray(asAdmin.json<{ components?: unknown }>().components));
    const metricsAsUser = await t.app.inject({ method: 'GET', url: '/metrics', headers: user.headers });
    assert.equal(metricsAsUser.statusCode, 401);
    const metricsAsAdmin = await t.app.inject({ method: 'GET', url: '/metrics', headers: admin.headers });
    assert.equal(metricsAsAdmin.statusCode, 200);
  });

  it('every log line after authentication carries the userId', async () => {
    const user = await createUser(t);
    const res = await t.app.inject({ method: 'GET', url: '/v1/me', headers: user.headers });
    const requestId = String(res.headers['x-request-id']);
    const lines = t.logs.lines.filter((l) => l.requestId === requestId);
    const completed = lines.find((l) => l.msg === 'request completed');
    assert.ok(completed, 'request completed line');
    assert.equal(completed.userId, user.userId);
  });

  it('publishes the public signing keys without private parts', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
    assert.equal(res.statusCode, 200);
    const { keys } = res.json<{ keys: Array<Record<string, unknown>> }>();
    assert.ok(keys.length >= 1);
    for (const key of keys) {
      assert.equal(key.d, undefined);
      assert.equal(typeof key.kid, 'string');
      assert.equal(key.alg, 'EdDSA');
    }
    // Another service can verify our access tokens with nothing but the published set.
    const user = await createUser(t);
    const { payload } = await jwtVerify(user.accessToken, createLocalJWKSet({ keys }), {
      issuer: t.config.jwtIssuer,
      audience: t.config.jwtAudience,
      algorithms: ['EdDSA'],
    });
    assert.equal(payload.sub, user.userId);
  });
});
