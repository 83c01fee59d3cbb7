// FAIL-020 / S-014: every request gets an id — a UUID unless a trusted proxy sent a
// well-formed one — returned in X-Request-ID, present in every log line of the request
// and available through async context to code the request calls.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Type } from 'typebox';
import { currentRequestId } from '../../../src/platform/context.ts';
import { problemResponses } from '../../../src/platform/http/problem.ts';
import type { App } from '../../../src/platform/http/types.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Code far from the route (a job enqueuer, an outbound call) reading the id. */
async function deepInside(): Promise<string | undefined> {
  await sleep(1);
  await new Promise((resolve) => setImmediate(resolve));
  return currentRequestId();
}

function routes(app: App): void {
  const response = { 200: Type.Object({ seen: Type.Union([Type.String(), Type.Null()]), id: Type.String() }), ...problemResponses };
  app.get('/test/context', { schema: { response } }, async (request) => ({ seen: (await deepInside()) ?? null, id: request.id }));
  app.post(
    '/test/context',
    { schema: { body: Type.Object({ data: Type.String() }, { additionalProperties: false }), response } },
    async (request) => {
      request.log.info({ event: 'test_work' }, 'working');
      const seen = (await deepInside()) ?? null;
      app.log.info({ event: 'test_outbound' }, 'outbound call through the root logger');
      return { seen, id: request.id };
    },
  );
}

describe('request ids', () => {
  let plain: TestApp;
  let proxied: TestApp;
  before(async () => {
    plain = await buildTestApp({ beforeReady: routes });
    proxied = await buildTestApp({ env: { TRUST_PROXY: 'true' }, beforeReady: routes });
  });
  after(async () => {
    await plain.close();
    await proxied.close();
  });

  it('FAIL-020: a fresh UUID per request, in the header and in problem bodies', async () => {
    const a = await plain.app.inject({ method: 'GET', url: '/health/live' });
    const b = await plain.app.inject({ method: 'GET', url: '/health/live' });
    assert.match(String(a.headers['x-request-id']), UUID);
    assert.notEqual(a.headers['x-request-id'], b.headers['x-request-id']);
    const missing = await plain.app.inject({ method: 'GET', url: '/nope' });
    assert.equal(missing.json<{ requestId: string }>().requestId, missing.headers['x-request-id']);
  });

  it('FAIL-020: an incoming X-Request-ID is ignored without TRUST_PROXY', async () => {
    const res = await plain.app.inject({ method: 'GET', url: '/health/live', headers: { 'x-request-id': 'from-the-client-123' } });
    assert.match(String(res.headers['x-request-id']), UUID);
  });

  it('S-014: behind TRUST_PROXY a well-formed incoming X-Request-ID is kept', async () => {
    for (const incoming of ['abc-123', 'lb.7:trace_id-9', 'x'.repeat(128)]) {
      const res = await proxied.app.inject({ method: 'GET', url: '/test/context', headers: { 'x-request-id': incoming } });
      assert.equal(res.headers['x-request-id'], incoming);
      assert.deepEqual(res.json(), { seen: incoming, id: incoming });
    }
  });

  it('FAIL-020: behind TRUST_PROXY a malformed incoming X-Request-ID is replaced by a UUID', async () => {
    for (const incoming of ['', 'has space', 'x'.repeat(129), '<script>', 'a\u00e9b', 'id\\n{"level":"fatal"}']) {
      const res = await proxied.app.inject({ method: 'GET', url: '/health/live', headers: { 'x-request-id': incoming } });
      assert.match(String(res.headers['x-request-id']), UUID, `replaced: ${JSON.stringify(incoming)}`);
    }
  });

  it('FAIL-020: the id is available through async context inside a handler and below it', async () => {
    const res = await plain.app.inject({ method: 'GET', url: '/test/context' });
    const body = res.json<{ seen: string; id: string }>();
    assert.equal(body.seen, res.headers['x-request-id']);
    assert.equal(body.id, res.headers['x-request-id']);
  });

  it('FAIL-020: every log line of a request carries its id, including lines from the root logger', async () => {
    const before = plain.logs.raw.length;
    const res = await plain.app.inject({
      method: 'POST',
      url: '/test/context',
      headers: { 'content-type': 'application/json' },
      payload: { data: 'x' },
    });
    const requestId = String(res.headers['x-request-id']);
    assert.equal(res.json<{ seen: string }>().seen, requestId);
    const lines = plain.logs.lines.slice(before);
    assert.deepEqual(
      lines.map((line) => line.msg),
      // One line per request at info (`incoming request` is logged at debug only).
      ['working', 'outbound call through the root logger', 'request completed'],
    );
    for (const line of lines) assert.equal(line.requestId, requestId, JSON.stringify(line));
  });

  it('FAIL-020: the context survives a body streamed in many chunks over a real socket', async () => {
    await plain.app.listen({ host: '127.0.0.1', port: 0 });
    const address = plain.app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const chunks = (async function* () {
      yield Buffer.from('{"data":"');
      for (let i = 0; i < 20; i++) {
        await sleep(2);
        yield Buffer.from('y'.repeat(1000));
      }
      yield Buffer.from('"}');
    })();
    const res = await fetch(`http://127.0.0.1:${port}/test/context`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: chunks,
      duplex: 'half',
    });
    const body = (await res.json()) as { seen: string; id: string };
    assert.equal(res.status, 200);
    assert.equal(body.seen, res.headers.get('x-request-id'));
  });
});
