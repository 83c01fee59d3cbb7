// FAIL-003 / S-011 and FAIL-019: one logger writing JSON lines (ISO UTC time, level,
// msg, requestId, userId when known, event names), with secrets and query strings
// never reaching the log.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Type } from 'typebox';
import { currentContext } from '../../../src/platform/context.ts';
import { problemResponses } from '../../../src/platform/http/problem.ts';
import { createUser } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

describe('logging', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp({
      // debug: the `incoming request` line (with the redacted headers) is written at debug only.
      env: { LOG_LEVEL: 'debug' },
      beforeReady: (app) => {
        app.post(
          '/test/log',
          {
            schema: {
              body: Type.Object({ password: Type.String(), note: Type.String() }, { additionalProperties: false }),
              response: { 200: Type.Object({ ok: Type.Boolean() }), ...problemResponses },
            },
          },
          (request) => {
            // What careless code might log: the body with a password, headers, a token.
            request.log.info({ body: request.body, password: request.body.password, headers: request.headers }, 'handler saw the request');
            const context = currentContext();
            if (context !== undefined) context.userId = 'user-1234';
            app.log.info({ event: 'test_event', user: { token: 'nested-token-value' } }, 'after authentication');
            return { ok: true };
          },
        );
      },
    });
  });
  after(() => t.close());

  it('FAIL-003: Authorization, cookies, passwords, tokens and query strings never appear in the log', async () => {
    const before = t.logs.raw.length;
    const res = await t.app.inject({
      method: 'POST',
      url: '/test/log?access_token=query-secret-value&page=2',
      headers: {
        authorization: 'Bearer header-secret-value',
        cookie: 'session=cookie-secret-value',
        'content-type': 'application/json',
      },
      payload: { password: 'password-secret-value', note: 'hello' },
    });
    assert.equal(res.statusCode, 200, res.body);
    const text = t.logs.raw.slice(before).join('\n');
    for (const secret of ['header-secret-value', 'cookie-secret-value', 'password-secret-value', 'query-secret-value', 'nested-token-value']) {
      assert.ok(!text.includes(secret), `${secret} must not be logged`);
    }
    const lines = t.logs.lines.slice(before);
    const incoming = lines.find((line) => line.msg === 'incoming request');
    const req = incoming?.req as { url: string; headers: Record<string, string> };
    assert.equal(req.url, '/test/log', 'the logged URL has no query string');
    assert.equal(req.headers.authorization, '[REDACTED]');
    assert.equal(req.headers.cookie, '[REDACTED]');
    assert.ok(text.includes('[REDACTED]'));
    assert.ok(!text.includes('?access_token') && !text.includes('page=2'));
    const completed = lines.find((line) => line.msg === 'request completed');
    assert.equal(completed?.url, '/test/log', 'the one info line has the URL without its query');
  });

  it("FAIL-019: the request line follows the route's log level: liveness probes (logLevel warn) write none, other requests one each", async () => {
    const before = t.logs.raw.length;
    for (let i = 0; i < 3; i++) assert.equal((await t.app.inject({ method: 'GET', url: '/health/live' })).statusCode, 200);
    assert.equal((await t.app.inject({ method: 'GET', url: '/health/ready' })).statusCode, 200);
    const completed = t.logs.lines.slice(before).filter((line) => line.msg === 'request completed');
    assert.deepEqual(completed.map((line) => line.url), ['/health/ready']);
  });

  it('FAIL-019: every line is JSON with an ISO UTC time, a level word and a message', () => {
    assert.ok(t.logs.raw.length > 3);
    for (const raw of t.logs.raw) {
      const line = JSON.parse(raw) as Record<string, unknown>;
      assert.match(String(line.time), ISO_UTC, raw);
      assert.ok(LEVELS.includes(String(line.level)), raw);
      assert.equal(typeof line.msg, 'string', raw);
      assert.equal(line.pid, undefined, 'no noise fields');
    }
  });

  it('FAIL-019: lines of a request carry its requestId, userId once known, and notable events an event name', async () => {
    const before = t.logs.raw.length;
    const res = await t.app.inject({
      method: 'POST',
      url: '/test/log',
      headers: { 'content-type': 'application/json' },
      payload: { password: 'p', note: 'n' },
    });
    const requestId = String(res.headers['x-request-id']);
    const lines = t.logs.lines.slice(before);
    assert.ok(lines.length >= 4, 'incoming, handler, event, completed');
    for (const line of lines) assert.equal(line.requestId, requestId, JSON.stringify(line));
    const event = lines.find((line) => line.event === 'test_event');
    assert.equal(event?.userId, 'user-1234', 'userId from the request context');
    // Startup events are named too (migrations, here).
    assert.ok(t.logs.events('migrations_complete').length === 1);
  });
});

describe('LOG_REQUESTS=sampled', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp({ env: { LOG_REQUESTS: 'sampled', LOG_REQUESTS_SAMPLE: '5' } });
  });
  after(() => t.close());

  /** The `request completed` lines written while `send` ran, as `METHOD url status`. */
  async function linesOf(send: () => Promise<void>): Promise<string[]> {
    const before = t.logs.raw.length;
    await send();
    return t.logs.lines
      .slice(before)
      .filter((line) => line.msg === 'request completed')
      .map((line) => `${String(line.method)} ${String(line.url)} ${String(line.statusCode)}`);
  }

  it('FAIL-019: one successful read in LOG_REQUESTS_SAMPLE gets its line; every write and every refused or failed request gets one', async () => {
    const alice = await createUser(t);
    // Twenty reads in a row: exactly four lines, whatever the count stood at before.
    const reads = await linesOf(async () => {
      for (let i = 0; i < 20; i++) assert.equal((await t.app.inject({ method: 'GET', url: '/v1/me', headers: alice.headers })).statusCode, 200);
    });
    assert.deepEqual(reads, Array(4).fill('GET /v1/me 200'));

    const others = await linesOf(async () => {
      for (let i = 0; i < 3; i++) {
        const created = await t.app.inject({ method: 'POST', url: '/v1/portfolios', headers: alice.headers, payload: { name: `P${i}`, base_currency: 'USD' } });
        assert.equal(created.statusCode, 201, created.body);
        assert.equal((await t.app.inject({ method: 'GET', url: '/v1/me' })).statusCode, 401);
        assert.equal((await t.app.inject({ method: 'GET', url: `/v1/portfolios/${randomUUID()}`, headers: alice.headers })).statusCode, 404);
      }
    });
    assert.deepEqual(others.filter((line) => line.startsWith('POST ')), Array(3).fill('POST /v1/portfolios 201'));
    assert.equal(others.filter((line) => line === 'GET /v1/me 401').length, 3, others.join('\n'));
    assert.equal(others.filter((line) => / 404$/.test(line)).length, 3, others.join('\n'));
    assert.equal(others.length, 9, 'no successful read among them');
  });
});
