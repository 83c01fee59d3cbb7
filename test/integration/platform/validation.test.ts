// Validation machinery (S-012 / FAIL-007, FAIL-016 partly, FAIL-002 partly): bodies are
// validated strictly — unknown properties rejected, no type coercion — while query and
// params coerce from their string form; every failure is a 400 problem naming the field,
// the handler never runs, and nothing else changes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Type } from 'typebox';
import { problemResponses } from '../../../src/platform/http/problem.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';

interface Problem {
  status: number;
  code: string;
  detail?: string;
  requestId: string;
  errors?: { field: string; message: string }[];
}

const Order = Type.Object(
  {
    symbol: Type.String({ pattern: '^[A-Z][A-Z0-9.]{0,9}$' }),
    side: Type.Union([Type.Literal('buy'), Type.Literal('sell')]),
    quantity: Type.String({ pattern: '^\\d+(\\.\\d+)?$' }),
    lots: Type.Integer({ minimum: 1 }),
    note: Type.Optional(Type.Object({ text: Type.String() }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);

describe('request validation', () => {
  let t: TestApp;
  let handled = 0;
  before(async () => {
    t = await buildTestApp({
      env: { BODY_LIMIT_BYTES: '2048' },
      beforeReady: (app) => {
        app.post(
          '/test/orders/:id',
          {
            schema: {
              params: Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false }),
              querystring: Type.Object(
                { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })), sort: Type.Optional(Type.Union([Type.Literal('date'), Type.Literal('symbol')])) },
                { additionalProperties: false },
              ),
              body: Order,
              response: {
                200: Type.Object({ id: Type.String(), limit: Type.Union([Type.Integer(), Type.Null()]), order: Order }),
                ...problemResponses,
              },
            },
          },
          (request) => {
            handled++;
            return { id: request.params.id, limit: request.query.limit ?? null, order: request.body };
          },
        );
      },
    });
  });
  after(() => t.close());

  const id = '6f1c2a52-8d0e-4d59-9d8e-3b9f0c1d2e3f';
  const valid = { symbol: 'AAPL', side: 'buy', quantity: '1.5', lots: 2 };
  const post = (body: unknown, url = `/test/orders/${id}`) =>
    t.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) });

  function expect400(res: Awaited<ReturnType<typeof post>>, field: string): Problem {
    assert.equal(res.statusCode, 400, res.body);
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    const problem = res.json<Problem>();
    assert.equal(problem.code, 'validation_failed');
    assert.equal(problem.requestId, res.headers['x-request-id']);
    assert.ok(problem.errors?.some((e) => e.field === field), `names ${field}: ${res.body}`);
    assert.match(problem.detail ?? '', new RegExp(field.replace(/\./g, '\\.')));
    return problem;
  }

  it('a valid request reaches the handler; query strings are coerced', async () => {
    const before = handled;
    const res = await post(valid, `/test/orders/${id}?limit=5&sort=date`);
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), { id, limit: 5, order: valid });
    assert.equal(handled, before + 1);
  });

  it('S-012: an unknown body property is rejected with 400 naming it, not silently dropped', async () => {
    const before = handled;
    const problem = expect400(await post({ ...valid, is_admin: true }), 'body.is_admin');
    assert.equal(problem.errors?.[0]?.message, 'is not an allowed property');
    assert.equal(handled, before, 'the handler never ran');
  });

  it('S-012: an unknown property in a nested object is rejected too', async () => {
    expect400(await post({ ...valid, note: { text: 'x', extra: 1 } }), 'body.note.extra');
  });

  it('S-012: a JSON number in a string body field is a 400 (money never arrives as a float)', async () => {
    expect400(await post({ ...valid, quantity: 1.5 }), 'body.quantity');
  });

  it('S-012: a string in an integer body field is a 400 (bodies are not coerced)', async () => {
    expect400(await post({ ...valid, lots: '2' }), 'body.lots');
  });

  it('S-012: a missing required body field is named', async () => {
    const { symbol: _symbol, ...rest } = valid;
    expect400(await post(rest), 'body.symbol');
  });

  it('S-012: a malformed path parameter is a 400 naming it', async () => {
    expect400(await post(valid, '/test/orders/1%27%20OR%201=1'), 'params.id');
  });

  it('S-012: an unknown or malformed query parameter is a 400 naming it', async () => {
    expect400(await post(valid, `/test/orders/${id}?limit=abc`), 'query.limit');
    expect400(await post(valid, `/test/orders/${id}?debug=1`), 'query.debug');
  });

  it('FAIL-016: a value outside an enum is a 400 naming the field, never reaching SQL', async () => {
    const before = handled;
    expect400(await post(valid, `/test/orders/${id}?sort=symbol;DROP TABLE users`), 'query.sort');
    expect400(await post({ ...valid, side: "buy' OR '1'='1" }), 'body.side');
    assert.equal(handled, before);
  });

  it('a union failure is one readable message per field, not one per branch', async () => {
    const sort = expect400(await post(valid, `/test/orders/${id}?sort=price`), 'query.sort');
    assert.deepEqual(sort.errors, [{ field: 'query.sort', message: 'must be one of: date, symbol' }]);
    const side = expect400(await post({ ...valid, side: 7 }), 'body.side');
    assert.deepEqual(side.errors, [{ field: 'body.side', message: 'must be one of: buy, sell' }]);
    const quantity = expect400(await post({ ...valid, quantity: 1.5 }), 'body.quantity');
    assert.deepEqual(quantity.errors, [{ field: 'body.quantity', message: 'must be string' }]);
  });

  it('malformed JSON is a 400 problem', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: `/test/orders/${id}`,
      headers: { 'content-type': 'application/json' },
      payload: '{"symbol": "AAPL",',
    });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json<Problem>().code, 'invalid_json');
  });

  it('an unsupported content type is a 415 problem', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: `/test/orders/${id}`,
      headers: { 'content-type': 'application/xml' },
      payload: '<order/>',
    });
    assert.equal(res.statusCode, 415);
    assert.equal(res.json<Problem>().code, 'unsupported_media_type');
    assert.equal(res.json<Problem>().detail, 'Content-Type application/xml is not accepted here; send application/json.');
  });

  it('a body over BODY_LIMIT_BYTES is a 413 problem and never reaches the handler', async () => {
    const before = handled;
    const res = await post({ ...valid, note: { text: 'x'.repeat(4096) } });
    assert.equal(res.statusCode, 413);
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    const problem = res.json<Problem>();
    assert.equal(problem.code, 'payload_too_large');
    assert.equal(problem.requestId, res.headers['x-request-id']);
    assert.equal(handled, before);
  });
});
