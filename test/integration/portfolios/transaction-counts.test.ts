// The transaction and split counts kept on each portfolio row (migration 0280) equal a count
// of its transactions after every kind of write: single creates, edits that change a type,
// deletes, CSV and JSON imports, a portfolio deleted with its transactions, and statements
// that touch several portfolios at once. The caps and the quota view read these counts, so
// a count that drifted would let a portfolio pass its cap or refuse one under it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createUser, type CreatedUser } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';
import { addTransaction, createPortfolio } from '../../helpers/portfolios.ts';

interface Counts {
  total: number;
  splits: number;
}

describe('transaction counts kept on the portfolio row', () => {
  let t: TestApp;
  let user: CreatedUser;

  before(async () => {
    t = await buildTestApp();
    user = await createUser(t);
  });
  after(() => t.close());

  /** Kept and counted, per portfolio of the user; asserts they agree and returns them. */
  const agree = async (what: string): Promise<Map<string, Counts>> => {
    const kept = await t.db.query<{ id: string; total: number; splits: number }>(
      'SELECT id, transaction_count AS total, split_count AS splits FROM portfolios WHERE user_id = $1 ORDER BY id',
      [user.userId],
    );
    const counted = await t.db.query<{ id: string; total: number; splits: number }>(
      `SELECT p.id, count(x.id)::int AS total, (count(x.id) FILTER (WHERE x.type = 'split'))::int AS splits
         FROM portfolios p LEFT JOIN transactions x ON x.portfolio_id = p.id
        WHERE p.user_id = $1 GROUP BY p.id ORDER BY p.id`,
      [user.userId],
    );
    assert.deepEqual(kept.rows, counted.rows, what);
    return new Map(kept.rows.map((row) => [row.id, { total: row.total, splits: row.splits }]));
  };
  const send = async (method: 'POST' | 'PATCH' | 'DELETE', url: string, expected: number, payload?: unknown, contentType?: string) => {
    const res = await t.app.inject({ method, url, headers: { ...user.headers, ...(contentType === undefined ? {} : { 'content-type': contentType }) }, payload: payload as string });
    assert.equal(res.statusCode, expected, res.body);
    return res;
  };

  it('FAIL-023: the counts follow creates, type changes, deletes, imports and cascades, and the quota view reports the fullest portfolio', async () => {
    const a = await createPortfolio(t, user);
    const b = await createPortfolio(t, user);
    await agree('two empty portfolios');

    await addTransaction(t, user, a, { type: 'deposit', amount: '1000', currency: 'USD', executed_at: '2024-01-02' });
    const buy = await addTransaction(t, user, a, { type: 'buy', symbol: 'AAPL', quantity: '4', price: '10', currency: 'USD', executed_at: '2024-01-03' });
    const split = await addTransaction(t, user, a, { type: 'split', symbol: 'AAPL', ratio_numerator: 2, ratio_denominator: 1, executed_at: '2024-01-04' });
    assert.deepEqual((await agree('three creates')).get(a), { total: 3, splits: 1 });

    // An edit that keeps the type, and one that changes it (a dividend is not a split either).
    await send('PATCH', `/v1/portfolios/${a}/transactions/${buy}`, 200, { quantity: '5' });
    await addTransaction(t, user, a, { type: 'dividend', symbol: 'AAPL', amount: '3', currency: 'USD', executed_at: '2024-01-05' });
    assert.deepEqual((await agree('an edit and a dividend')).get(a), { total: 4, splits: 1 });
    await send('DELETE', `/v1/portfolios/${a}/transactions/${split}`, 204);
    assert.deepEqual((await agree('the split deleted')).get(a), { total: 3, splits: 0 });

    const rows = Array.from({ length: 40 }, (_, i) => `2024-02-${String((i % 28) + 1).padStart(2, '0')},,deposit,,,,,,,${i + 1},`).join('\n');
    await send('POST', `/v1/portfolios/${b}/transactions/import`, 201, `date,symbol,type,qty,price,fee,currency,fx_rate,note,amount,ratio\n${rows}\n`, 'text/csv');
    assert.deepEqual((await agree('a CSV import')).get(b), { total: 40, splits: 0 });

    const exported = await t.app.inject({ method: 'GET', url: '/v1/export', headers: user.headers });
    assert.equal(exported.statusCode, 200, exported.body);
    await send('POST', '/v1/import', 201, exported.body, 'application/json');
    const afterImport = await agree('a JSON import of both portfolios');
    assert.equal(afterImport.size, 4);
    assert.deepEqual([...afterImport.values()].map((c) => c.total).sort((x, y) => x - y), [3, 3, 40, 40]);

    await send('DELETE', `/v1/portfolios/${b}`, 204);
    assert.equal((await agree('a portfolio deleted with its transactions')).size, 3);

    const quota = await t.app.inject({ method: 'GET', url: '/v1/me/quota', headers: user.headers });
    assert.equal(quota.statusCode, 200, quota.body);
    assert.equal(quota.json<{ transactions_per_portfolio: { usage: number } }>().transactions_per_portfolio.usage, 40);
  });

  it('FAIL-023: the counts follow statements that change rows of several portfolios at once, types included', async () => {
    const [c, d] = [await createPortfolio(t, user), await createPortfolio(t, user)];
    for (const pid of [c, d]) {
      await addTransaction(t, user, pid, { type: 'buy', symbol: 'MSFT', quantity: '1', price: '10', currency: 'USD', executed_at: '2024-03-01' });
      await addTransaction(t, user, pid, { type: 'buy', symbol: 'MSFT', quantity: '2', price: '10', currency: 'USD', executed_at: '2024-03-02' });
    }
    await agree('four buys');
    // One statement turns every buy of both into a split, then one moves all of d's rows to c.
    await t.db.query(
      `UPDATE transactions SET type = 'split', quantity = NULL, price = NULL, ratio_numerator = 3, ratio_denominator = 1
        WHERE portfolio_id = ANY($1::uuid[])`,
      [[c, d]],
    );
    const turned = await agree('buys turned into splits');
    assert.deepEqual([turned.get(c), turned.get(d)], [{ total: 2, splits: 2 }, { total: 2, splits: 2 }]);
    await t.db.query('UPDATE transactions SET portfolio_id = $1 WHERE portfolio_id = $2', [c, d]);
    const moved = await agree("d's rows moved to c");
    assert.deepEqual([moved.get(c), moved.get(d)], [{ total: 4, splits: 4 }, { total: 0, splits: 0 }]);
    await t.db.query('DELETE FROM transactions WHERE portfolio_id = ANY($1::uuid[])', [[c, d]]);
    await agree('both emptied by one statement');
  });
});
