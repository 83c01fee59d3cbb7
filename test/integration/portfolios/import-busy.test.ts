// FAIL-023: the JSON import's bodies wait for one reader thread, and at most
// MAX_WAITING_BODIES of them may wait: a flood of large bodies cannot pile up in memory.
// One past that is answered 503 `busy` with Retry-After before the thread sees it, and
// imports nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MAX_WAITING_BODIES } from '../../../src/platform/http/json-body.ts';
import { createUser, type CreatedUser } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';

const document = (n: number) => ({
  format: 'financehub.export',
  version: 1,
  exported_at: '2026-01-01T00:00:00.000Z',
  portfolios: [{ name: `Flood ${n}`, base_currency: 'USD', transactions: [] }],
  watchlist: [],
});

describe('JSON import bodies waiting for the reader thread', () => {
  let t: TestApp;
  let user: CreatedUser;
  before(async () => {
    t = await buildTestApp();
    user = await createUser(t, { tier: 'pro' });
  });
  after(() => t.close());

  it('FAIL-023: past MAX_WAITING_BODIES waiting bodies, an import is refused with 503 busy and Retry-After, and imports nothing', async () => {
    const sent = 3 * (MAX_WAITING_BODIES + 1);
    // All at once, before the reader thread (started by the first body) is ready to read.
    const answers = await Promise.all(
      Array.from({ length: sent }, (_, n) => t.app.inject({ method: 'POST', url: '/v1/import', headers: user.headers, payload: document(n) })),
    );
    const busy = answers.filter((res) => res.statusCode === 503);
    const imported = answers.filter((res) => res.statusCode === 201);
    assert.equal(busy.length + imported.length, sent, answers.map((res) => `${res.statusCode} ${res.body.slice(0, 120)}`).join('\n'));
    assert.ok(busy.length >= 1, 'some bodies were refused');
    assert.ok(imported.length <= MAX_WAITING_BODIES + 1, `${imported.length} imported: at most the waiting ones and the one being read`);
    for (const res of busy) {
      assert.equal(res.headers['retry-after'], '1');
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
      assert.equal(res.json<{ code: string }>().code, 'busy');
    }
    const portfolios = await t.app.inject({ method: 'GET', url: '/v1/portfolios', headers: user.headers });
    assert.equal(portfolios.json<{ items: unknown[] }>().items.length, imported.length, 'a refused body imported nothing');
    // Once the flood has passed, an import is read again.
    const later = await t.app.inject({ method: 'POST', url: '/v1/import', headers: user.headers, payload: document(sent) });
    assert.equal(later.statusCode, 201, later.body);
  });
});
