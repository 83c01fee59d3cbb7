// Per-user caps on portfolios, transactions per portfolio and split transactions per
// portfolio (FAIL-023: unbounded counts stalled /v1/dashboard and grew split quantities to
// 120,000 digits). Tier-aware, shown in GET /v1/me/quota, 409 quota_exceeded when full, and
// atomic: 20 parallel creates never pass a cap (real concurrency on PostgreSQL's pool).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createUser, type CreatedUser } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';
import { createPortfolio } from '../../helpers/portfolios.ts';

type Problem = { code: string; resource: string; limit: number; usage: number };

describe('portfolio caps per tier (FAIL-023, FAIL-007)', () => {
  let t: TestApp;
  let alice: CreatedUser;

  before(async () => {
    t = await buildTestApp({
      env: {
        FREE_PORTFOLIOS: '3',
        PRO_PORTFOLIOS: '5',
        FREE_TRANSACTIONS_PER_PORTFOLIO: '6',
        FREE_SPLITS_PER_PORTFOLIO: '2',
      },
    });
    alice = await createUser(t);
  });
  after(() => t.close());

  const postPortfolio = (who: CreatedUser) =>
    t.app.inject({ method: 'POST', url: '/v1/portfolios', headers: who.headers, payload: { name: `P ${randomUUID().slice(0, 6)}`, base_currency: 'USD' } });
  const postTx = (who: CreatedUser, pid: string, payload: Record<string, unknown>) =>
    t.app.inject({ method: 'POST', url: `/v1/portfolios/${pid}/transactions`, headers: who.headers, payload });
  const quota = async (who: CreatedUser) => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/me/quota', headers: who.headers });
    assert.equal(res.statusCode, 200, res.body);
    return res.json<Record<string, { usage: number; limit: number; reset: null }>>();
  };
  const count = async (sql: string, params: unknown[]) => (await t.db.query<{ n: number }>(sql, params)).rows[0]?.n;
  const refusals = (statuses: Array<{ statusCode: number; body: string }>, resource: string, limit: number) => {
    for (const res of statuses.filter((r) => r.statusCode !== 201)) {
      assert.equal(res.statusCode, 409, res.body);
      const body = JSON.parse(res.body) as Problem;
      assert.equal(body.code, 'quota_exceeded');
      assert.equal(body.resource, resource);
      assert.equal(body.limit, limit);
    }
  };

  it('FAIL-023: 20 parallel portfolio creates stop exactly at the tier cap (409 quota_exceeded); /v1/me/quota shows it', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => postPortfolio(alice)));
    assert.equal(results.filter((r) => r.statusCode === 201).length, 3);
    refusals(results, 'portfolios', 3);
    assert.equal(await count('SELECT count(*)::int AS n FROM portfolios WHERE user_id = $1', [alice.userId]), 3);
    assert.deepEqual((await quota(alice)).portfolios, { usage: 3, limit: 3, reset: null });
  });

  it('FAIL-023: the cap follows the tier (pro: PRO_PORTFOLIOS)', async () => {
    const pro = await createUser(t, { tier: 'pro' });
    const results = await Promise.all(Array.from({ length: 8 }, () => postPortfolio(pro)));
    assert.equal(results.filter((r) => r.statusCode === 201).length, 5);
    assert.deepEqual((await quota(pro)).portfolios, { usage: 5, limit: 5, reset: null });
  });

  it('FAIL-023: 20 parallel transactions stop at the per-portfolio cap; 20 parallel splits at the split cap', async () => {
    const bob = await createUser(t);
    const pid = await createPortfolio(t, bob);
    const deposits = await Promise.all(Array.from({ length: 20 }, (_, i) => postTx(bob, pid, { type: 'deposit', amount: `${i + 1}`, executed_at: '2024-01-02' })));
    assert.equal(deposits.filter((r) => r.statusCode === 201).length, 6);
    refusals(deposits, 'transactions_per_portfolio', 6);
    assert.equal(await count('SELECT count(*)::int AS n FROM transactions WHERE portfolio_id = $1', [pid]), 6);

    const other = await createPortfolio(t, bob);
    assert.equal((await postTx(bob, other, { type: 'buy', symbol: 'AAPL', quantity: '10', price: '100', executed_at: '2024-01-02' })).statusCode, 201);
    const splits = await Promise.all(
      Array.from({ length: 20 }, () => postTx(bob, other, { type: 'split', symbol: 'AAPL', ratio_numerator: 2, ratio_denominator: 1, executed_at: '2024-01-03' })),
    );
    assert.equal(splits.filter((r) => r.statusCode === 201).length, 2);
    refusals(splits, 'splits_per_portfolio', 2);
    const q = await quota(bob);
    assert.deepEqual(q.transactions_per_portfolio, { usage: 6, limit: 6, reset: null });
    assert.deepEqual(q.splits_per_portfolio, { usage: 2, limit: 2, reset: null });
  });

  it('FAIL-023: imports count too: a CSV past the per-portfolio cap and an export past the portfolio cap write nothing', async () => {
    const carol = await createUser(t);
    const pid = await createPortfolio(t, carol);
    const rows = Array.from({ length: 7 }, (_, i) => `2024-01-${String(i + 2).padStart(2, '0')},,deposit,,,,,,,${i + 1},`).join('\n');
    const csv = await t.app.inject({
      method: 'POST',
      url: `/v1/portfolios/${pid}/transactions/import`,
      headers: { ...carol.headers, 'content-type': 'text/csv' },
      payload: `date,symbol,type,qty,price,fee,currency,fx_rate,note,amount,ratio\n${rows}\n`,
    });
    assert.equal(csv.statusCode, 409, csv.body);
    assert.equal(csv.json<Problem>().resource, 'transactions_per_portfolio');
    assert.equal(await count('SELECT count(*)::int AS n FROM transactions WHERE portfolio_id = $1', [pid]), 0);

    const doc = {
      format: 'financehub.export',
      version: 1,
      portfolios: Array.from({ length: 3 }, (_, i) => ({ name: `Imported ${i}`, base_currency: 'USD', transactions: [] })),
    };
    const imported = await t.app.inject({ method: 'POST', url: '/v1/import', headers: carol.headers, payload: doc });
    assert.equal(imported.statusCode, 409, imported.body);
    assert.deepEqual(
      { code: imported.json<Problem>().code, resource: imported.json<Problem>().resource, usage: imported.json<Problem>().usage },
      { code: 'quota_exceeded', resource: 'portfolios', usage: 1 },
    );
    assert.equal(await count('SELECT count(*)::int AS n FROM portfolios WHERE user_id = $1', [carol.userId]), 1);
  });
});
