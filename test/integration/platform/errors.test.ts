// FAIL-004: errors are typed; anything unexpected is logged once with its stack and
// answered with a generic 500 that carries only the request id.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Type } from 'typebox';
import { conflict } from '../../../src/platform/errors.ts';
import { problemResponses } from '../../../src/platform/http/problem.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';

const SECRET_DETAIL = 'connection to 10.1.2.3 failed for user finance_admin';

describe('error handling', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp({
      beforeReady: (app) => {
        const schema = { response: { 200: Type.Object({ ok: Type.Boolean() }), ...problemResponses } };
        app.get('/test/throws', { schema }, () => {
          throw new Error(SECRET_DETAIL);
        });
        app.get('/test/rejects', { schema }, async () => {
          await new Promise((resolve) => setImmediate(resolve));
          throw new TypeError(`${SECRET_DETAIL} (async)`);
        });
        app.get('/test/upstream-status', { schema }, () => {
          // A library error that carries a 5xx status of its own is still a generic 500.
          throw Object.assign(new Error(`${SECRET_DETAIL} (502)`), { statusCode: 502 });
        });
        app.get('/test/conflict', { schema }, () => {
          throw conflict('already_exists', 'The thing already exists.');
        });
      },
    });
  });
  after(() => t.close());

  for (const url of ['/test/throws', '/test/rejects', '/test/upstream-status']) {
    it(`FAIL-004: ${url} answers a generic 500 with the request id; the stack is only in the log, logged once`, async () => {
      const before = t.logs.raw.length;
      const res = await t.app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 500);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
      const requestId = String(res.headers['x-request-id']);
      assert.deepEqual(res.json(), {
        type: 'urn:financehub:problem:internal_error',
        title: 'Internal server error',
        status: 500,
        code: 'internal_error',
        detail: 'An unexpected error occurred. Quote the request id when reporting it.',
        requestId,
      });
      assert.doesNotMatch(res.body, /10\.1\.2\.3|finance_admin|Error|at /);

      const lines = t.logs.lines.slice(before);
      const mentioning = lines.filter((line) => JSON.stringify(line).includes(SECRET_DETAIL));
      assert.equal(mentioning.length, 1, 'the error is logged exactly once');
      const [logged] = mentioning;
      assert.equal(logged?.level, 'error');
      assert.equal(logged?.event, 'unhandled_error');
      assert.equal(logged?.requestId, requestId);
      const err = logged?.err as { stack?: string; message?: string };
      assert.match(err.stack ?? '', /errors\.test\.ts/, 'the stack points at the throwing code');
    });
  }

  it('FAIL-004: a typed domain error keeps its status and stable code', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/test/conflict' });
    assert.equal(res.statusCode, 409);
    const body = res.json<Record<string, unknown>>();
    assert.equal(body.code, 'already_exists');
    assert.equal(body.detail, 'The thing already exists.');
    assert.equal(body.type, 'urn:financehub:problem:already_exists');
    assert.equal(body.requestId, res.headers['x-request-id']);
  });

  it('unknown routes answer a 404 problem without echoing the query string', async () => {
    const res = await t.app.inject({ method: 'DELETE', url: '/v1/nothing/here?token=abc123' });
    assert.equal(res.statusCode, 404);
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    const body = res.json<Record<string, unknown>>();
    assert.equal(body.code, 'not_found');
    assert.equal(body.status, 404);
    assert.equal(body.requestId, res.headers['x-request-id']);
    assert.doesNotMatch(res.body, /abc123/);
  });
});
