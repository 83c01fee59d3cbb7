// POST /v1/import reads its body on a worker thread (src/platform/http/json-body.ts): it
// must accept and refuse exactly what Fastify's own JSON parser and the app's validator
// did on the main thread, with the same answers (400 invalid_json, 400 validation_failed
// naming the field), and keep prototype keys harmless. The reference is a route in the
// same app with the same body schema, read the ordinary way.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { ExportDocument } from '../../../src/modules/portfolios/portfolios.schemas.ts';
import { createUser, type CreatedUser } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';

const REFERENCE = '/test/reference-import';

const transaction = (i: number) => ({
  id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  type: 'deposit',
  symbol: null,
  amount: `${i + 1}.50`,
  fee: '0',
  currency: 'USD',
  fx_rate: '1',
  executed_at: `2024-01-${String((i % 28) + 1).padStart(2, '0')}T00:00:00.000Z`,
  note: null,
});
const validDocument = () => ({
  format: 'financehub.export',
  version: 1,
  exported_at: '2026-01-01T00:00:00.000Z',
  portfolios: [
    { name: 'One', base_currency: 'USD', transactions: [transaction(0), transaction(1), transaction(2)] },
    { name: 'Two', base_currency: 'EUR', transactions: [] },
  ],
  watchlist: [{ symbol: 'AAPL' }],
});

/** Every place in a document (path to a value) and what can go wrong there. */
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
function paths(value: Json, path: Array<string | number> = []): Array<Array<string | number>> {
  const children =
    Array.isArray(value) ? value.map((v, i) => paths(v, [...path, i])).flat()
    : value !== null && typeof value === 'object' ? Object.entries(value).map(([k, v]) => paths(v, [...path, k])).flat()
    : [];
  return [path, ...children];
}
const replacements: Json[] = [null, 1, 1.5, -2, true, 'x', '', 'USD', 'buy', '12.50', '1e5', 'not-a-uuid', '2024-02-30', 'x'.repeat(600), [], {}, [1], { a: 1 }];
const extraKeys = ['extra', '__proto__', 'constructor', 'toString', '0', 'type'];

function mutate(doc: Json, path: Array<string | number>, how: { kind: 'replace'; value: Json } | { kind: 'delete' } | { kind: 'add'; key: string; value: Json }): Json {
  const copy = structuredClone(doc);
  if (path.length === 0) return how.kind === 'replace' ? how.value : copy;
  let parent: Json | undefined = copy;
  for (const step of path.slice(0, -1)) {
    // An earlier edit removed or replaced this place: nothing to change.
    if (parent === null || typeof parent !== 'object') return copy;
    parent = (parent as Record<string | number, Json>)[step];
  }
  if (parent === null || parent === undefined || typeof parent !== 'object') return copy;
  const last = path.at(-1) as string | number;
  const container = parent as Record<string | number, Json>;
  if (how.kind === 'replace') container[last] = how.value;
  else if (how.kind === 'delete') {
    if (Array.isArray(container)) container.splice(last as number, 1);
    else delete container[last];
  } else {
    const target = container[last];
    if (target !== null && typeof target === 'object' && !Array.isArray(target)) Object.defineProperty(target, how.key, { value: how.value, enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

describe('POST /v1/import reads its body on a worker', () => {
  let t: TestApp;
  let alice: CreatedUser;

  before(async () => {
    t = await buildTestApp({
      beforeReady: (app) => {
        // Today's reading of the same body: Fastify's default parser and the app's validator.
        app.post(REFERENCE, { bodyLimit: 10_485_760, schema: { body: ExportDocument } }, () => ({ ok: true }));
      },
    });
    alice = await createUser(t);
  });
  after(() => t.close());

  const answer = async (url: string, payload: string | Buffer, headers: Record<string, string> = {}) => {
    const res = await t.app.inject({ method: 'POST', url, headers: { ...alice.headers, 'content-type': 'application/json', ...headers }, payload });
    const body: Record<string, unknown> = res.body === '' ? {} : res.json();
    delete body.requestId;
    return { status: res.statusCode, type: String(res.headers['content-type']), body };
  };
  /** The reference's answer, and /v1/import's when the reference refuses the body. */
  const compare = async (payload: string | Buffer, label: string) => {
    const expected = await answer(REFERENCE, payload);
    if (expected.status === 200) return expected;
    assert.deepEqual(await answer('/v1/import', payload), expected, label);
    return expected;
  };

  it('answers invalid JSON, an empty body and every malformed text exactly as Fastify\'s own parser does', async () => {
    const valid = JSON.stringify(validDocument());
    const texts = ['', ' ', '{', '[1,]', '{"a":1,}', 'nul', '"abc', '{"format":"financehub.export"} {}', valid.slice(0, -1), `${valid}x`, '[1 2]', 'NaN', '{"a":1e999}', '1', 'null', '[]'];
    for (const text of texts) {
      const expected = await compare(text, JSON.stringify(text));
      assert.ok(expected.status === 400, `${JSON.stringify(text).slice(0, 40)} answered ${expected.status}`);
    }
    // A byte-order mark is taken off, as Fastify's parser does.
    assert.equal((await answer(REFERENCE, `\uFEFF${valid}`)).status, 200);
    assert.equal((await answer('/v1/import', `\uFEFF${valid}`)).status, 201);
    const empty = await answer('/v1/import', '');
    assert.equal(empty.body.code, 'invalid_json');
    assert.match(empty.type, /^application\/problem\+json/);
  });

  it('FAIL-007: a __proto__ key anywhere (escaped or not) is refused as invalid JSON, a constructor.prototype too, and nothing is polluted', async () => {
    const doc = JSON.stringify(validDocument());
    const bodies = [
      '{"__proto__":{"polluted":true},"format":"financehub.export","version":1,"portfolios":[]}',
      doc.replace('"name":"One"', '"name":"One","__proto__":{"polluted":true}'),
      doc.replace('"type":"deposit"', '"type":"deposit","\\u005f_proto__":{"polluted":true}'),
      doc.replace('"portfolios":[', '"constructor":{"prototype":{"polluted":true}},"portfolios":['),
      doc.replace('"note":null', '"note":null,"constructor":{"prototype":{"polluted":true}}'),
    ];
    for (const body of bodies) {
      const res = await compare(body, body.slice(0, 80));
      assert.equal(res.status, 400);
      assert.equal(res.body.code, 'invalid_json', body.slice(0, 80));
    }
    // Keys that only look like them: a note "__proto__", a constructor that is not an object with a prototype.
    const lookalikes = [
      doc.replace('"note":null', '"note":"__proto__"'),
      doc.replace('"note":null', '"note":"{\\"__proto__\\": 1}"'),
      doc.replace('"note":null', '"note":null,"constructor":1'),
    ];
    const answers = [];
    for (const body of lookalikes) answers.push(await compare(body, body.slice(0, 80)));
    assert.equal(answers[0]?.status, 200);
    assert.equal(answers[1]?.status, 200);
    assert.equal(answers[2]?.body.code, 'validation_failed');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal((Object.prototype as Record<string, unknown>).polluted, undefined);
  });

  it('FAIL-007: any document that breaks the schema gets the same 400 problem, naming the same field, as before', async () => {
    const base = validDocument() as unknown as Json;
    const places = paths(base);
    const how = fc.oneof(
      fc.record({ kind: fc.constant('replace' as const), value: fc.constantFrom(...replacements) }),
      fc.record({ kind: fc.constant('delete' as const) }),
      fc.record({ kind: fc.constant('add' as const), key: fc.constantFrom(...extraKeys), value: fc.constantFrom(...replacements) }),
    );
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom(...places), how), { minLength: 1, maxLength: 3 }), async (edits) => {
        let doc: Json = base;
        for (const [path, edit] of edits) doc = mutate(doc, path, edit);
        const expected = await compare(JSON.stringify(doc), JSON.stringify(edits));
        if (expected.status === 400) refused++;
      }),
      { numRuns: 300 },
    );
    assert.ok(refused > 150, `${refused} of 300 documents refused`);
  });

  it('a document out of order is imported in replay order, ties in document order (sorted in runs and merged)', async () => {
    // 5,000 deposits over 50 days, shuffled: more than two runs of 2,048 to merge, and many ties.
    const count = 5000;
    const order = Array.from({ length: count }, (_, i) => i);
    let seed = 7;
    for (let i = count - 1; i > 0; i--) {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      const j = seed % (i + 1);
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
    const day = (i: number) => `2024-03-${String((i % 50 % 28) + 1).padStart(2, '0')}T${String(Math.floor((i % 50) / 28)).padStart(2, '0')}:00:00.000Z`;
    const transactions = order.map((i) => ({ type: 'deposit', amount: '1', currency: 'USD', executed_at: day(i), note: String(i) }));
    const doc = { format: 'financehub.export', version: 1, portfolios: [{ name: 'Shuffled', base_currency: 'USD', transactions }] };
    const res = await t.app.inject({ method: 'POST', url: '/v1/import', headers: alice.headers, payload: doc });
    assert.equal(res.statusCode, 201, res.body);
    const id = res.json<{ portfolios: Array<{ id: string }> }>().portfolios[0]?.id;
    const notes: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/v1/portfolios/${id}/transactions?sort=executed_at&order=asc&limit=500${cursor === null ? '' : `&cursor=${cursor}`}`;
      const body: { items: Array<{ note: string }>; next_cursor: string | null } = (await t.app.inject({ method: 'GET', url, headers: alice.headers })).json();
      notes.push(...body.items.map((tx) => tx.note));
      cursor = body.next_cursor;
    } while (cursor !== null);
    const expected = [...transactions].sort((a, b) => Date.parse(a.executed_at) - Date.parse(b.executed_at)).map((tx) => tx.note);
    assert.deepEqual(notes, expected);
  });

  it('a valid document is imported whole, in replay order', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/import', headers: alice.headers, payload: validDocument() });
    assert.equal(res.statusCode, 201, res.body);
    const created = res.json<{ portfolios: Array<{ id: string; transactions: number }> }>().portfolios;
    assert.deepEqual(created.map((p) => p.transactions), [3, 0]);
    const list = await t.app.inject({ method: 'GET', url: `/v1/portfolios/${created[0]?.id}/transactions?order=asc&sort=executed_at`, headers: alice.headers });
    assert.deepEqual(list.json<{ items: Array<{ amount: string }> }>().items.map((tx) => tx.amount), ['1.5', '2.5', '3.5']);
  });
});
