import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_WEB_DIST } from '../../../src/modules/web/index.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';

describe('the web app is served at / (built by npm ci into web/dist)', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  it('index.html for the client routes, with a strict CSP: no inline script or style, no external origin', async () => {
    for (const url of ['/', '/signin', '/account', '/alerts', '/news', '/admin', '/templates', '/templates/00000000-0000-4000-8000-000000000000', '/portfolios/00000000-0000-4000-8000-000000000000', '/symbols/AAPL']) {
      const res = await t.app.inject({ method: 'GET', url, headers: { host: '127.0.0.1:3000' } });
      assert.equal(res.statusCode, 200, url);
      assert.match(String(res.headers['content-type']), /^text\/html/);
      assert.match(res.body, /<div id="app"><\/div>/);
      assert.equal(res.headers['cache-control'], 'no-cache');
      const csp = String(res.headers['content-security-policy']);
      const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name = '', ...values]) => [name, values]));
      assert.deepEqual(directives.get('default-src'), ["'none'"]);
      assert.deepEqual(directives.get('script-src'), ["'self'"]);
      assert.deepEqual(directives.get('style-src'), ["'self'"]);
      assert.deepEqual(directives.get('connect-src'), ["'self'", 'ws://127.0.0.1:3000', 'wss://127.0.0.1:3000']);
      assert.deepEqual(directives.get('frame-ancestors'), ["'none'"]);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https:|\*/);
    }
  });

  it('a Host header that is not a plain host[:port] is not echoed into the CSP', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/', headers: { host: "evil.example 'unsafe-inline'" } });
    assert.equal(String(res.headers['content-security-policy']).includes('unsafe-inline'), false);
  });

  it('hashed assets are served with a year-long immutable cache', async () => {
    const asset = readdirSync(`${DEFAULT_WEB_DIST}assets`).find((f) => f.endsWith('.js'));
    assert.ok(asset !== undefined, 'the build produced a script');
    const res = await t.app.inject({ method: 'GET', url: `/assets/${asset}` });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.match(String(res.headers['content-type']), /javascript/);
  });

  it('unknown API paths and unknown pages keep answering problem JSON, not the app', async () => {
    for (const url of ['/v1/nope', '/nope', '/portfolios', '/assets/missing.js']) {
      const res = await t.app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 404, url);
      assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8', url);
    }
  });

  it('/docs keeps helmet\'s own CSP', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/docs/' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-security-policy']), /default-src 'self'/);
  });
});
