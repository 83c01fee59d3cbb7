import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';

describe('HTTP platform', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp({ env: { ALLOWED_ORIGINS: 'https://app.example.com,http://localhost:3000', REQUEST_TIMEOUT_MS: '15000' } });
  });
  after(() => t.close());

  it('FAIL-020: every response carries a fresh request id', async () => {
    const a = await t.app.inject({ method: 'GET', url: '/health/live' });
    const b = await t.app.inject({ method: 'GET', url: '/health/live' });
    assert.equal(a.statusCode, 200);
    assert.deepEqual(a.json(), { status: 'ok' });
    assert.match(String(a.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    assert.notEqual(a.headers['x-request-id'], b.headers['x-request-id']);
  });

  it('unknown routes answer 404 problem JSON', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/nothing-here' });
    assert.equal(res.statusCode, 404);
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    const body = res.json<Record<string, unknown>>();
    assert.equal(body.code, 'not_found');
    assert.equal(body.requestId, res.headers['x-request-id']);
  });

  it('security headers are on every response, errors included: the API set on JSON, helmet\'s whole set on HTML documents', async () => {
    const api = {
      'content-security-policy': "default-src 'none';frame-ancestors 'none'",
      'cross-origin-resource-policy': 'same-origin',
      'referrer-policy': 'no-referrer',
      'strict-transport-security': 'max-age=31536000; includeSubDomains',
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
    };
    const documentOnly = ['cross-origin-opener-policy', 'origin-agent-cluster', 'x-dns-prefetch-control', 'x-download-options', 'x-permitted-cross-domain-policies', 'x-xss-protection'];
    for (const url of ['/health/live', '/v1/nothing-here', '/v1/me', '/openapi.json']) {
      const res = await t.app.inject({ method: 'GET', url });
      for (const [name, value] of Object.entries(api)) assert.equal(res.headers[name], value, `${url} ${name}`);
      for (const name of documentOnly) assert.equal(res.headers[name], undefined, `${url} ${name}`);
      assert.equal(res.headers['x-powered-by'], undefined, url);
    }
    for (const url of ['/docs', '/', '/portfolios/x']) {
      const res = await t.app.inject({ method: 'GET', url });
      assert.match(String(res.headers['content-type']), /^text\/html/, url);
      for (const name of ['strict-transport-security', 'x-content-type-options', 'referrer-policy', 'cross-origin-resource-policy', ...documentOnly]) {
        assert.ok(res.headers[name] !== undefined, `${url} ${name}`);
      }
      assert.equal(res.headers['x-frame-options'], 'DENY', url);
      // A document policy, not the API one: the web app's own, and Swagger UI's on /docs.
      const policy = url === '/docs' ? /default-src 'self'/ : /frame-ancestors 'none'/;
      assert.match(String(res.headers['content-security-policy']), policy, url);
    }
  });

  it('CORS: an allowed origin gets the CORS headers, preflight included', async () => {
    const origin = 'https://app.example.com';
    const res = await t.app.inject({ method: 'GET', url: '/health/live', headers: { origin } });
    assert.equal(res.headers['access-control-allow-origin'], origin);
    assert.match(String(res.headers['access-control-expose-headers']), /x-request-id/);
    const preflight = await t.app.inject({
      method: 'OPTIONS',
      url: '/health/ready',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    assert.equal(preflight.statusCode, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], origin);
    assert.match(String(preflight.headers['access-control-allow-methods']), /POST/);
    assert.equal(preflight.headers['access-control-allow-headers'], 'authorization,content-type');
    assert.equal(preflight.headers['access-control-max-age'], '600');
    assert.equal(preflight.headers.vary, 'Origin, Access-Control-Request-Headers');
    assert.equal(preflight.body, '');
  });

  it('CORS: a preflight is answered before the guard, for a protected route too', async () => {
    const preflight = await t.app.inject({
      method: 'OPTIONS',
      url: '/v1/me',
      headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });
    assert.equal(preflight.statusCode, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], 'http://localhost:3000');
  });

  it('CORS: a request without Origin carries only Vary: Origin', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health/live' });
    assert.equal(res.headers.vary, 'Origin');
    const cors = Object.keys(res.headers).filter((name) => name.startsWith('access-control-'));
    assert.deepEqual(cors, []);
  });

  it('OPTIONS that is not a preflight is a 400 problem JSON', async () => {
    for (const headers of [{}, { origin: 'https://app.example.com' }, { 'access-control-request-method': 'GET' }]) {
      const res = await t.app.inject({ method: 'OPTIONS', url: '/v1/me', headers });
      assert.equal(res.statusCode, 400, JSON.stringify(headers));
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
      assert.equal(res.json<{ code: string }>().code, 'not_a_preflight');
    }
  });

  it('CORS: a foreign origin gets no CORS headers (the browser blocks it)', async () => {
    for (const origin of ['https://evil.example', 'http://127.0.0.1:3000', 'https://app.example.com.evil.example']) {
      const res = await t.app.inject({ method: 'GET', url: '/health/live', headers: { origin } });
      assert.equal(res.headers['access-control-allow-origin'], undefined, origin);
      const preflight = await t.app.inject({
        method: 'OPTIONS',
        url: '/health/ready',
        headers: { origin, 'access-control-request-method': 'DELETE' },
      });
      assert.equal(preflight.statusCode, 403, origin);
      assert.equal(preflight.json<{ code: string }>().code, 'origin_not_allowed', origin);
      assert.deepEqual(Object.keys(preflight.headers).filter((name) => name.startsWith('access-control-')), [], origin);
      assert.deepEqual(Object.keys(res.headers).filter((name) => name.startsWith('access-control-')), [], origin);
      assert.equal(res.headers.vary, 'Origin', origin);
    }
  });

  it('the server has explicit timeouts and a body limit from configuration', () => {
    assert.equal(t.config.requestTimeoutMs, 15000);
    assert.equal(t.app.server.requestTimeout, 15000);
    assert.equal(t.app.server.keepAliveTimeout, 5000);
    assert.ok(t.app.server.headersTimeout > 0 && t.app.server.headersTimeout <= 60_000);
    assert.equal(t.app.initialConfig.bodyLimit, t.config.bodyLimitBytes);
    assert.equal(t.app.initialConfig.connectionTimeout, 15000);
  });
});
