// FAIL-016: no SQL is built from input. Every sort and filter parameter of the dashboard,
// the transaction list and the performance route gets injection payloads and tampered
// cursors; each must answer 400 problem JSON (never 500) and change nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createUser, type CreatedUser } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';

const PAYLOADS = [
  'name;DROP TABLE transactions--',
  '1 OR 1=1',
  'market_value desc, (select pg_sleep(5))',
  "' OR ''='",
  "x'); DELETE FROM transactions; --",
  'executed_at; UPDATE portfolios SET name = $$owned$$',
  '1; SELECT pg_sleep(5)',
  'symbol asc nulls first',
  '(SELECT 1)',
  '-1',
  '%27%20OR%201%3D1',
  'AAPL\u0000',
];

const b64 = (value: string) => Buffer.from(value, 'utf8').toString('base64url');
const TAMPERED_CURSORS = [
  'not a cursor',
  '!!!!',
  b64('{"s":"market_value"'),
  b64('[]'),
  b64('"x"'),
  b64(JSON.stringify({ s: 'market_value', o: 'desc', k: "1 OR 1=1", id: 'x' })),
  b64(JSON.stringify({ s: 'symbol;DROP TABLE transactions--', o: 'desc', k: 'A', id: '1' })),
  b64(JSON.stringify({ s: 'executed_at', o: 'desc', k: "2024-01-01'; DROP TABLE transactions--", id: '1' })),
  b64(JSON.stringify({ s: 'executed_at', o: 'desc', k: '2024-01-01T00:00:00.000Z', id: '1 OR 1=1' })),
  b64(JSON.stringify({ s: 'executed_at', o: 'desc OR 1=1', k: '2024-01-01T00:00:00.000Z', id: '1' })),
  b64(JSON.stringify({ s: 'executed_at', o: 'desc', k: '2024-01-01T00:00:00.000Z', id: '99999999999999999999999' })),
  b64(JSON.stringify({ s: 'executed_at', o: 'desc', k: null, id: '1' })),
  b64(JSON.stringify({ s: 'market_value', o: 'desc', k: '1e999', id: '00000000-0000-4000-8000-000000000000/AAPL' })),
  'A'.repeat(2000),
];

describe('FAIL-016: injection through sort, filter and cursor parameters', () => {
  let t: TestApp;
  let user: CreatedUser;
  let portfolioId: string;

  const counts = async () => {
    const [tx, pf] = await Promise.all([
      t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM transactions'),
      t.db.query<{ n: number; names: string }>("SELECT count(*)::int AS n, string_agg(name, ',' ORDER BY name) AS names FROM portfolios"),
    ]);
    return { transactions: tx.rows[0]?.n, portfolios: pf.rows[0]?.n, names: pf.rows[0]?.names };
  };

  const expect400 = async (url: string) => {
    const res = await t.app.inject({ method: 'GET', url, headers: user.headers });
    assert.notEqual(res.statusCode, 500, `${url} → 500`);
    assert.equal(res.statusCode, 400, `${url} → ${res.statusCode} ${res.body}`);
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    assert.doesNotMatch(res.body, /stack|at .*\.ts:\d+/);
  };

  before(async () => {
    t = await buildTestApp({ env: { MARKET_DATA_PROVIDER: 'none' } });
    user = await createUser(t);
    const res = await t.app.inject({ method: 'POST', url: '/v1/portfolios', headers: user.headers, payload: { name: 'target', base_currency: 'USD' } });
    portfolioId = res.json<{ id: string }>().id;
    for (const [i, symbol] of ['AAA', 'BBB', 'CCC'].entries()) {
      const tx = await t.app.inject({
        method: 'POST',
        url: `/v1/portfolios/${portfolioId}/transactions`,
        headers: user.headers,
        payload: { type: 'buy', symbol, quantity: '1', price: '10', currency: 'USD', executed_at: `2024-01-0${i + 1}T10:00:00Z` },
      });
      assert.equal(tx.statusCode, 201);
    }
  });
  after(() => t.close());

  const routes = () => ({
    dashboard: { url: '/v1/dashboard', params: ['sort', 'order', 'symbol', 'portfolio_id', 'min_market_value', 'limit', 'cursor'] },
    transactions: { url: `/v1/portfolios/${portfolioId}/transactions`, params: ['sort', 'order', 'type', 'symbol', 'from', 'to', 'limit', 'cursor'] },
    performance: { url: `/v1/portfolios/${portfolioId}/performance`, params: ['range', 'from', 'to'] },
  });

  for (const name of ['dashboard', 'transactions', 'performance'] as const) {
    it(`FAIL-016: every parameter of ${name} answers 400 to injection payloads and nothing changes`, async () => {
      const before = await counts();
      const { url, params } = routes()[name];
      for (const param of params) {
        for (const payload of PAYLOADS) {
          await expect400(`${url}?${param}=${encodeURIComponent(payload)}`);
          // The same payload next to otherwise valid parameters.
          const base = name === 'performance' ? 'range=custom&from=2024-01-01&to=2024-01-02&' : 'sort=symbol&order=asc&';
          if (!base.includes(`${param}=`)) await expect400(`${url}?${base}${param}=${encodeURIComponent(payload)}`);
        }
        // A repeated parameter (array) is not a way around the enum.
        await expect400(`${url}?${param}=${encodeURIComponent(PAYLOADS[0] as string)}&${param}=${encodeURIComponent(PAYLOADS[1] as string)}`);
      }
      assert.deepEqual(await counts(), before);
    });
  }

  for (const name of ['dashboard', 'transactions'] as const) {
    it(`FAIL-016: tampered cursors on ${name} answer 400 invalid_cursor, never 500, and change nothing`, async () => {
      const before = await counts();
      const { url } = routes()[name];
      for (const cursor of TAMPERED_CURSORS) await expect400(`${url}?cursor=${encodeURIComponent(cursor)}`);
      // A real cursor replayed with another sort or order is refused too.
      const first = await t.app.inject({ method: 'GET', url: `${url}?sort=symbol&order=asc&limit=1`, headers: user.headers });
      const next = first.json<{ next_cursor: string | null }>().next_cursor;
      assert.ok(next !== null);
      await expect400(`${url}?sort=symbol&order=desc&limit=1&cursor=${next}`);
      const ok = await t.app.inject({ method: 'GET', url: `${url}?sort=symbol&order=asc&limit=1&cursor=${next}`, headers: user.headers });
      assert.equal(ok.statusCode, 200);
      assert.deepEqual(await counts(), before);
    });
  }

  it('FAIL-016: the transactions table is intact and still answers after every payload', async () => {
    const res = await t.app.inject({ method: 'GET', url: `/v1/portfolios/${portfolioId}/transactions?sort=symbol&order=asc`, headers: user.headers });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(
      res.json<{ items: Array<{ symbol: string }> }>().items.map((i) => i.symbol),
      ['AAA', 'BBB', 'CCC'],
    );
  });
});
