// A page of a portfolio's transaction list costs about its own rows, whatever the sort key,
// the order and the table's statistics: every sort key is read as a walk of an index, never
// by sorting the portfolio. The plans are read with EXPLAIN on the statements the
// repository really sends, in the transaction it really opens, on a table that has never
// been analysed (as on PGlite, which has no autovacuum, right after an import).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Database, Queryable } from '../../../src/platform/db/index.ts';
import { createPortfoliosRepository } from '../../../src/modules/portfolios/index.ts';
import { decodeTransactionCursor, TRANSACTION_SORTS, transactionCursor } from '../../../src/modules/portfolios/transactions.list.ts';
import { createUser, type CreatedUser } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';
import { addTransaction, createPortfolio } from '../../helpers/portfolios.ts';

const ROWS = 5_000;

/** The database, with every statement of a transaction explained before it runs. */
function explaining(db: Database, plans: string[]): Database {
  const explain = (q: Queryable): Queryable => ({
    exec: (sql) => q.exec(sql),
    query: async (text, params) => {
      const { rows } = await q.query<Record<string, string>>(`EXPLAIN ${text}`, params);
      plans.push(rows.map((row) => Object.values(row)[0]).join('\n'));
      return q.query(text, params);
    },
  });
  return { ...db, transaction: (fn) => db.transaction((q) => fn(explain(q))) };
}

describe('transaction list pages are index walks', () => {
  let t: TestApp;
  let user: CreatedUser;
  let portfolioId: string;

  before(async () => {
    t = await buildTestApp();
    user = await createUser(t);
    portfolioId = await createPortfolio(t, user);
    await addTransaction(t, user, portfolioId, { type: 'deposit', amount: '1000', currency: 'USD', executed_at: '2024-01-02T00:00:00Z' });
    for (const [i, symbol] of ['AAA', 'BBB', 'CCC'].entries()) {
      await addTransaction(t, user, portfolioId, { type: 'buy', symbol, quantity: '1', price: '10', currency: 'USD', executed_at: `2024-01-0${i + 3}T00:00:00Z` });
    }
    // Enough rows that a plan which collects the portfolio and sorts it looks cheap to a
    // planner without statistics (what an import leaves behind on PGlite).
    await t.db.query(
      `INSERT INTO transactions (id, portfolio_id, user_id, type, amount, currency, fx_rate, executed_at, created_at, updated_at)
       SELECT gen_random_uuid(), $1, $2, 'deposit', 1, 'USD', 1, timestamptz '2020-01-01' + n * interval '1 hour', now(), now()
         FROM generate_series(1, $3::int) AS n`,
      [portfolioId, user.userId, ROWS],
    );
  });
  after(() => t.close());

  for (const sort of TRANSACTION_SORTS) {
    for (const order of ['asc', 'desc'] as const) {
      it(`FAIL-023: sort=${sort} order=${order}: the page walks an index, with and without a cursor and filters, and sorts nothing`, async () => {
        const repo = createPortfoliosRepository();
        const plans: string[] = [];
        const db = explaining(t.db, plans);
        const base = { userId: user.userId, portfolioId, sort, order, limit: 2 };
        const first = await repo.listTransactions(db, base);
        assert.equal(first.rows.length, 2);
        assert.equal(first.more, true);
        const last = first.rows.at(-1)!;
        await repo.listTransactions(db, { ...base, after: decodeTransactionCursor(transactionCursor(last, sort, order), sort, order) });
        await repo.listTransactions(db, { ...base, type: 'buy', symbol: 'BBB', from: new Date('2024-01-01T00:00:00Z'), toExclusive: new Date('2025-01-01T00:00:00Z') });
        assert.equal(plans.length, 3, 'every page is read in the transaction the repository opens');
        for (const plan of plans) {
          assert.match(plan, /Index Scan/, plan);
          assert.doesNotMatch(plan, /\bSort\b/, plan);
        }
      });
    }
  }
});
