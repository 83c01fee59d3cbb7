// Public (unauthenticated) requests are rate-limited per client address (FAIL-014,
// S-013), X-Forwarded-For is ignored unless TRUST_PROXY is set, and a Redis that is
// down leaves the limits enforced in memory while the service keeps serving (FAIL-023).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';

const LIMIT = 3;

function assertLimited(res: { statusCode: number; headers: Record<string, unknown>; json: <T>() => T }): void {
  assert.equal(res.statusCode, 429);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  assert.equal(res.json<{ code: string }>().code, 'rate_limited');
  const retryAfter = Number(res.headers['retry-after']);
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After ${String(res.headers['retry-after'])}`);
  assert.equal(res.headers['ratelimit-limit'], String(LIMIT));
  assert.equal(res.headers['ratelimit-remaining'], '0');
  assert.ok(Number(res.headers['ratelimit-reset']) >= 1);
}

describe('public rate limit', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp({ env: { RATE_LIMIT_PUBLIC: `${LIMIT}/60` } });
  });
  after(() => t.close());

  it('FAIL-014: public routes are limited per IP with RateLimit headers, then 429 with Retry-After', async () => {
    const ip = '10.0.0.1';
    for (let i = 1; i <= LIMIT; i++) {
      const res = await t.app.inject({ method: 'GET', url: '/health/ready', remoteAddress: ip });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['ratelimit-limit'], String(LIMIT));
      assert.equal(res.headers['ratelimit-remaining'], String(LIMIT - i));
    }
    assertLimited(await t.app.inject({ method: 'GET', url: '/health/ready', remoteAddress: ip }));
    // Unknown URLs and the OpenAPI document count too: everything public is limited.
    assertLimited(await t.app.inject({ method: 'GET', url: '/v1/no-such-route', remoteAddress: ip }));
    assertLimited(await t.app.inject({ method: 'GET', url: '/openapi.json', remoteAddress: ip }));
    // Another address has its own budget.
    assert.equal((await t.app.inject({ method: 'GET', url: '/health/ready', remoteAddress: '10.0.0.2' })).statusCode, 200);
  });

  it('FAIL-014: /health/live is never rate-limited', async () => {
    const ip = '10.0.0.3';
    for (let i = 0; i < LIMIT + 3; i++) {
      const res = await t.app.inject({ method: 'GET', url: '/health/live', remoteAddress: ip });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['ratelimit-limit'], undefined);
    }
  });

  it('FAIL-014: CORS preflights do not spend the public budget', async () => {
    const ip = '10.0.0.6';
    for (let i = 0; i < LIMIT + 2; i++) {
      const res = await t.app.inject({
        method: 'OPTIONS',
        url: '/v1/me',
        remoteAddress: ip,
        headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
      });
      assert.equal(res.statusCode, 204);
    }
    assert.equal((await t.app.inject({ method: 'GET', url: '/health/ready', remoteAddress: ip })).headers['ratelimit-remaining'], String(LIMIT - 1));
  });

  it('FAIL-014: a spoofed X-Forwarded-For does not reset the limit without TRUST_PROXY', async () => {
    const ip = '10.0.0.4';
    for (let i = 0; i < LIMIT; i++) await t.app.inject({ method: 'GET', url: '/health/ready', remoteAddress: ip });
    for (const spoofed of ['203.0.113.7', '198.51.100.1, 203.0.113.8']) {
      assertLimited(
        await t.app.inject({ method: 'GET', url: '/health/ready', remoteAddress: ip, headers: { 'x-forwarded-for': spoofed } }),
      );
    }
  });

  it('FAIL-014: a bearer header does not escape the public limit on a public route', async () => {
    const ip = '10.0.0.5';
    for (let i = 0; i < LIMIT; i++) await t.app.inject({ method: 'GET', url: '/health/ready', remoteAddress: ip });
    assertLimited(
      await t.app.inject({ method: 'GET', url: '/health/ready', remoteAddress: ip, headers: { authorization: 'Bearer not-a-token' } }),
    );
  });

  it('FAIL-014: any Authorization header still counts against the public limit on unknown URLs and on requests that fail validation', async () => {
    const ip = '10.0.0.7';
    const headers = { authorization: 'Bearer x.y.z', 'content-type': 'application/json' };
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 2; i++) {
      statuses.push((await t.app.inject({ method: 'GET', url: '/v1/no-such-route', remoteAddress: ip, headers })).statusCode);
    }
    assert.deepEqual(statuses, [404, 404, 404, 429, 429]);
    const ip2 = '10.0.0.8';
    const invalid: number[] = [];
    for (let i = 0; i < LIMIT + 2; i++) {
      invalid.push((await t.app.inject({ method: 'POST', url: '/v1/auth/login', remoteAddress: ip2, headers, payload: '{"email":1}' })).statusCode);
    }
    assert.deepEqual(invalid, [400, 400, 400, 429, 429]);
  });
});

describe('guards before the body', () => {
  let t: TestApp;
  let parsed = 0;
  before(async () => {
    t = await buildTestApp({
      beforeReady: (app) => {
        // Counts every JSON body the server parses, whatever the route.
        app.addHook('preValidation', (request, _reply, done) => {
          if (request.body !== undefined) parsed++;
          done();
        });
      },
    });
  });
  after(() => t.close());

  it('FAIL-023: an anonymous request to a guarded route is refused before its body is read or parsed', async () => {
    const body = JSON.stringify({ version: 1, portfolios: Array.from({ length: 2000 }, (_, i) => ({ name: `p${i}`, base_currency: 'USD', transactions: [] })) });
    for (const authorization of [undefined, 'Bearer not.a.token']) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/import',
        headers: { 'content-type': 'application/json', ...(authorization === undefined ? {} : { authorization }) },
        payload: body,
      });
      assert.equal(res.statusCode, 401, res.body);
    }
    const admin = await t.app.inject({ method: 'PATCH', url: '/v1/admin/users/00000000-0000-4000-8000-000000000000', headers: { 'content-type': 'application/json' }, payload: '{"tier":"pro"}' });
    assert.equal(admin.statusCode, 401);
    assert.equal(parsed, 0, 'no body was parsed for an unauthenticated request');
  });
});

describe('public rate limit behind a trusted proxy', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp({ env: { RATE_LIMIT_PUBLIC: `${LIMIT}/60`, TRUST_PROXY: 'true' } });
  });
  after(() => t.close());

  it('FAIL-014: with TRUST_PROXY the forwarded client address is what is limited', async () => {
    const proxy = '10.1.0.1';
    for (let i = 0; i < LIMIT; i++) {
      const res = await t.app.inject({ method: 'GET', url: '/health/ready', remoteAddress: proxy, headers: { 'x-forwarded-for': '192.0.2.10' } });
      assert.equal(res.statusCode, 200);
    }
    assertLimited(await t.app.inject({ method: 'GET', url: '/health/ready', remoteAddress: proxy, headers: { 'x-forwarded-for': '192.0.2.10' } }));
    const other = await t.app.inject({ method: 'GET', url: '/health/ready', remoteAddress: proxy, headers: { 'x-forwarded-for': '192.0.2.11' } });
    assert.equal(other.statusCode, 200);
  });
});

describe('rate limits with Redis down', () => {
  let t: TestApp;
  before(async () => {
    // Port 1: nothing listens, so every Redis command fails at once.
    t = await buildTestApp({ env: { RATE_LIMIT_PUBLIC: `${LIMIT}/60`, REDIS_URL: 'redis://127.0.0.1:1' } });
  });
  after(() => t.close());

  it('FAIL-023: a Redis that is down leaves limits enforced in memory and the service serving', async () => {
    assert.ok(t.redis !== undefined, 'the app was built with a Redis client');
    const ip = '10.2.0.1';
    for (let i = 0; i < LIMIT; i++) {
      const res = await t.app.inject({ method: 'GET', url: '/health/ready', remoteAddress: ip });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.headers['ratelimit-remaining'], String(LIMIT - 1 - i));
    }
    assertLimited(await t.app.inject({ method: 'GET', url: '/health/ready', remoteAddress: ip }));
    assert.equal((await t.app.inject({ method: 'GET', url: '/health/live', remoteAddress: ip })).statusCode, 200);
  });
});
