// SQL for portfolios, transactions and idempotency keys. Every statement is
// parameterised, and every statement on user data filters by the owner's user_id, so
// another user's rows are indistinguishable from missing ones (FAIL-013). Money columns
// are NUMERIC and arrive as strings; they become Decimal (or, for the holdings engine,
// exact BigInt decimals) here and nowhere else.
import { Decimal, parseExact, toPlain, type Exact } from '../../money/index.ts';
import type { Database, Queryable } from '../../platform/db/index.ts';
import type { LedgerTransaction, Portfolio, Transaction, TransactionFields, TransactionInput, TransactionType } from './portfolios.types.ts';
import type { TransactionPageQuery, TransactionSort } from './transactions.list.ts';

interface PortfolioRow {
  id: string;
  user_id: string;
  name: string;
  base_currency: string;
  revision: number | string;
  created_at: Date;
  updated_at: Date;
}

export interface TransactionRow {
  id: string;
  portfolio_id: string;
  user_id: string;
  seq: number;
  type: TransactionType;
  symbol: string | null;
  quantity: string | null;
  price: string | null;
  amount: string | null;
  fee: string;
  currency: string;
  fx_rate: string;
  ratio_numerator: number | null;
  ratio_denominator: number | null;
  executed_at: Date;
  note: string | null;
  created_at: Date;
  updated_at: Date;
}

/** The column list every transaction query selects (NUMERIC as text, exactly as stored). */
export const TRANSACTION_COLUMNS = `id, portfolio_id, user_id, seq, type, symbol, quantity::text AS quantity,
  price::text AS price, amount::text AS amount, fee::text AS fee, currency, fx_rate::text AS fx_rate,
  ratio_numerator, ratio_denominator, executed_at, note, created_at, updated_at`;

export type LedgerRow = Pick<
  TransactionRow,
  'id' | 'type' | 'symbol' | 'quantity' | 'price' | 'amount' | 'fee' | 'currency' | 'fx_rate' | 'ratio_numerator' | 'ratio_denominator' | 'executed_at'
>;

const PORTFOLIO_COLUMNS = 'id, user_id, name, base_currency, revision, created_at, updated_at';

function portfolioFromRow(row: PortfolioRow): Portfolio {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    baseCurrency: row.base_currency,
    // int8: a number from both drivers in practice; a string is tolerated all the same
    revision: typeof row.revision === 'number' ? row.revision : Number.parseInt(row.revision, 10),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

const dec = (value: string | null): Decimal | null => (value === null ? null : new Decimal(value));
const exact = (value: string | null, field: string): Exact | null => (value === null ? null : parseExact(value, field));

/** What the holdings engine replays: money straight from the NUMERIC text to exact BigInt decimals. */
export function ledgerFromRow(row: LedgerRow): LedgerTransaction {
  return {
    id: row.id,
    type: row.type,
    symbol: row.symbol,
    quantity: exact(row.quantity, 'quantity'),
    price: exact(row.price, 'price'),
    amount: exact(row.amount, 'amount'),
    fee: parseExact(row.fee, 'fee'),
    currency: row.currency,
    fxRate: parseExact(row.fx_rate, 'fx_rate'),
    ratioNumerator: row.ratio_numerator,
    ratioDenominator: row.ratio_denominator,
    executedAt: row.executed_at,
  };
}

/** A transaction's replay fields with money as Decimal (performance, the analytics engine). */
export function fieldsFromRow(row: LedgerRow): TransactionFields {
  return {
    id: row.id,
    type: row.type,
    symbol: row.symbol,
    quantity: dec(row.quantity),
    price: dec(row.price),
    amount: dec(row.amount),
    fee: new Decimal(row.fee),
    currency: row.currency,
    fxRate: new Decimal(row.fx_rate),
    ratioNumerator: row.ratio_numerator,
    ratioDenominator: row.ratio_denominator,
    executedAt: row.executed_at,
  };
}

export function transactionFromRow(row: TransactionRow): Transaction {
  return {
    ...fieldsFromRow(row),
    portfolioId: row.portfolio_id,
    userId: row.user_id,
    seq: row.seq,
    note: row.note,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Decimal → the exact string stored in NUMERIC (no exponent, as entered). */
const num = (value: Decimal | null): string | null => (value === null ? null : toPlain(value));

function inputParams(input: TransactionInput): unknown[] {
  return [
    input.type,
    input.symbol,
    num(input.quantity),
    num(input.price),
    num(input.amount),
    num(input.fee),
    input.currency,
    num(input.fxRate),
    input.ratioNumerator,
    input.ratioDenominator,
    input.executedAt,
    input.note,
  ];
}

/** Filters, sort and keyset position for listing a portfolio's transactions (transactions.list.ts). */
export type TransactionListQuery = TransactionPageQuery;

/**
 * The sort enum mapped to fixed column expressions (FAIL-016): the only SQL a sort can
 * select. Symbol-less transactions sort under '' so the keyset comparison never meets NULL.
 * Each expression has an index on (portfolio_id, expression, seq), which listTransactions
 * walks: a new sort key needs its index too (transaction-list-plan.test.ts checks them all).
 */
const TRANSACTION_SORT_SQL: Record<TransactionSort, string> = {
  executed_at: 'executed_at',
  created_at: 'created_at',
  symbol: "COALESCE(symbol, '')",
  type: 'type',
};

/** Rows per statement when a whole portfolio is read (allTransactions). */
export const READ_PAGE_ROWS = 500;

/**
 * Makes the keyset pages of the rest of the current transaction walk
 * transactions_portfolio_replay_idx in order, whatever the table's statistics say (see
 * transactionsAfterIndexed: without them each page sorts every row after its position).
 * Outside a transaction it does nothing.
 */
const WALK_THE_INDEX = 'SET LOCAL enable_sort = off; SET LOCAL enable_incremental_sort = off';

/** `read` in a short read-only transaction whose keyset pages are planned as index walks (WALK_THE_INDEX). */
function readWalkingTheIndex<T>(db: Database, read: (q: Queryable) => Promise<T>): Promise<T> {
  return db.transaction(async (q) => {
    await q.exec(`SET TRANSACTION READ ONLY; ${WALK_THE_INDEX}`);
    return read(q);
  });
}

/** Rows per multi-row INSERT of an import: 500 × 13 parameters, far below PostgreSQL's limit of 65,535. */
export const INSERT_ROWS = 500;

/** One page of listTransactions, read with whatever plan the session allows. */
async function readTransactionPage(db: Queryable, query: TransactionListQuery): Promise<{ rows: Transaction[]; more: boolean }> {
  const column = TRANSACTION_SORT_SQL[query.sort];
  const direction = query.order === 'asc' ? 'ASC' : 'DESC';
  const params: unknown[] = [
    query.portfolioId,
    query.userId,
    query.type ?? null,
    query.symbol ?? null,
    query.from ?? null,
    query.toExclusive ?? null,
    query.limit + 1,
  ];
  let keyset = '';
  if (query.after !== undefined) {
    params.push(query.after.key, query.after.seq);
    keyset = ` AND (${column}, seq) ${query.order === 'asc' ? '>' : '<'} ($8, $9::bigint)`;
  }
  const { rows } = await db.query<TransactionRow>(
    `SELECT ${TRANSACTION_COLUMNS} FROM transactions
     WHERE portfolio_id = $1 AND user_id = $2
       AND ($3::text IS NULL OR type = $3::text)
       AND ($4::text IS NULL OR symbol = $4::text)
       AND ($5::timestamptz IS NULL OR executed_at >= $5::timestamptz)
       AND ($6::timestamptz IS NULL OR executed_at < $6::timestamptz)${keyset}
     ORDER BY ${column} ${direction}, seq ${direction}
     LIMIT $7`,
    params,
  );
  const more = rows.length > query.limit;
  return { rows: rows.slice(0, query.limit).map(transactionFromRow), more };
}

export function createPortfoliosRepository() {
  const repo = {
    /** Symbols bought in any portfolio (positions since sold out included: a superset of what is held). */
    async heldSymbols(db: Queryable, limit: number): Promise<string[]> {
      const { rows } = await db.query<{ symbol: string }>(
        `SELECT DISTINCT symbol FROM transactions WHERE type = 'buy' AND symbol IS NOT NULL ORDER BY symbol LIMIT $1`,
        [limit],
      );
      return rows.map((r) => r.symbol);
    },

    async tradedSymbols(db: Queryable, userId: string, limit: number): Promise<string[]> {
      const { rows } = await db.query<{ symbol: string }>(
        `SELECT DISTINCT symbol FROM transactions WHERE user_id = $1 AND symbol IS NOT NULL ORDER BY symbol LIMIT $2`,
        [userId, limit],
      );
      return rows.map((r) => r.symbol);
    },

    async listPortfolios(db: Queryable, userId: string): Promise<Portfolio[]> {
      const { rows } = await db.query<PortfolioRow>(
        `SELECT ${PORTFOLIO_COLUMNS} FROM portfolios WHERE user_id = $1 ORDER BY created_at, id`,
        [userId],
      );
      return rows.map(portfolioFromRow);
    },

    async findPortfolio(db: Queryable, userId: string, id: string, options: { forUpdate?: boolean } = {}): Promise<Portfolio | null> {
      // FOR UPDATE serialises writers of one portfolio: the insufficient-quantity check
      // replays the transactions, and two concurrent sells must not both pass it.
      const { rows } = await db.query<PortfolioRow>(
        `SELECT ${PORTFOLIO_COLUMNS} FROM portfolios WHERE id = $1 AND user_id = $2${options.forUpdate === true ? ' FOR UPDATE' : ''}`,
        [id, userId],
      );
      const row = rows[0];
      return row === undefined ? null : portfolioFromRow(row);
    },

    /** Owner lookup for the CLI, which acts for whoever owns the portfolio it is given. */
    async findPortfolioById(db: Queryable, id: string): Promise<Portfolio | null> {
      const { rows } = await db.query<PortfolioRow>(`SELECT ${PORTFOLIO_COLUMNS} FROM portfolios WHERE id = $1`, [id]);
      const row = rows[0];
      return row === undefined ? null : portfolioFromRow(row);
    },

    /**
     * Serialises a user's portfolio creates until the transaction ends (a per-user advisory
     * lock), so a count read after it stays true until the insert commits.
     */
    async lockUserPortfolios(db: Queryable, userId: string): Promise<void> {
      await db.query(`SELECT pg_advisory_xact_lock(hashtext('financehub:portfolios:' || $1))`, [userId]);
    },

    async countPortfolios(db: Queryable, userId: string): Promise<number> {
      const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM portfolios WHERE user_id = $1', [userId]);
      return rows[0]?.n ?? 0;
    },

    /**
     * How many transactions, and splits, the portfolio holds: counts the database keeps on
     * the portfolio row in every statement that writes transactions (migration 0280), so
     * the read costs the same at 10 transactions or 100,000. Exact under the portfolio's
     * row lock, which every writer of its transactions holds.
     */
    async countTransactions(db: Queryable, userId: string, portfolioId: string): Promise<{ total: number; splits: number }> {
      const { rows } = await db.query<{ total: number; splits: number }>(
        'SELECT transaction_count AS total, split_count AS splits FROM portfolios WHERE id = $1 AND user_id = $2',
        [portfolioId, userId],
      );
      return { total: rows[0]?.total ?? 0, splits: rows[0]?.splits ?? 0 };
    },

    /** The most transactions, and the most splits, any one of the user's portfolios holds (from the kept counts). */
    async largestPortfolio(db: Queryable, userId: string): Promise<{ total: number; splits: number }> {
      const { rows } = await db.query<{ total: number | null; splits: number | null }>(
        'SELECT max(transaction_count) AS total, max(split_count) AS splits FROM portfolios WHERE user_id = $1',
        [userId],
      );
      return { total: rows[0]?.total ?? 0, splits: rows[0]?.splits ?? 0 };
    },

    async insertPortfolio(db: Queryable, p: Omit<Portfolio, 'revision'>): Promise<Portfolio> {
      const { rows } = await db.query<PortfolioRow>(
        `INSERT INTO portfolios (id, user_id, name, base_currency, revision, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 0, $5, $6) RETURNING ${PORTFOLIO_COLUMNS}`,
        [p.id, p.userId, p.name, p.baseCurrency, p.createdAt, p.updatedAt],
      );
      return portfolioFromRow(rows[0] as PortfolioRow);
    },

    async updatePortfolio(db: Queryable, userId: string, id: string, changes: { name: string; updatedAt: Date }): Promise<Portfolio | null> {
      const { rows } = await db.query<PortfolioRow>(
        `UPDATE portfolios SET name = $3, updated_at = $4 WHERE id = $1 AND user_id = $2 RETURNING ${PORTFOLIO_COLUMNS}`,
        [id, userId, changes.name, changes.updatedAt],
      );
      const row = rows[0];
      return row === undefined ? null : portfolioFromRow(row);
    },

    async deletePortfolio(db: Queryable, userId: string, id: string): Promise<boolean> {
      const { rowCount } = await db.query('DELETE FROM portfolios WHERE id = $1 AND user_id = $2', [id, userId]);
      return rowCount > 0;
    },

    /** Marks a change to the portfolio's transactions (same database transaction as the change). */
    async bumpRevision(db: Queryable, portfolioId: string): Promise<void> {
      await db.query('UPDATE portfolios SET revision = revision + 1 WHERE id = $1', [portfolioId]);
    },

    /**
     * A transaction's replay fields in replay order, each row mapped by `map` as it is read:
     * fewer columns than allTransactions, so much less to transfer and to keep (no ids of
     * the owner, no note or timestamps). Read in keyset pages of READ_PAGE_ROWS, like
     * allTransactions (same snapshot caveat; inside a transaction the pages walk the index,
     * as there).
     */
    async replayRows<T>(db: Queryable, userId: string, portfolioId: string, map: (row: LedgerRow) => T): Promise<T[]> {
      const columns = `id, seq, type, symbol, quantity::text AS quantity, price::text AS price, amount::text AS amount, fee::text AS fee,
           currency, fx_rate::text AS fx_rate, ratio_numerator, ratio_denominator, executed_at`;
      type PagedRow = LedgerRow & { seq: number };
      const page = async (after: { executedAt: Date; seq: number } | null): Promise<PagedRow[]> =>
        (after === null
          ? await db.query<PagedRow>(
              `SELECT ${columns} FROM transactions WHERE portfolio_id = $1 AND user_id = $2 ORDER BY executed_at, seq LIMIT $3`,
              [portfolioId, userId, READ_PAGE_ROWS],
            )
          : await db.query<PagedRow>(
              `SELECT ${columns} FROM transactions
                WHERE portfolio_id = $1 AND user_id = $2 AND (executed_at, seq) > ($3::timestamptz, $4::bigint)
                ORDER BY executed_at, seq LIMIT $5`,
              [portfolioId, userId, after.executedAt, after.seq, READ_PAGE_ROWS],
            )
        ).rows;
      await db.exec(WALK_THE_INDEX);
      const all: T[] = [];
      let rows = await page(null);
      for (;;) {
        for (const row of rows) all.push(map(row));
        const last = rows.at(-1);
        if (last === undefined || rows.length < READ_PAGE_ROWS) return all;
        rows = await page({ executedAt: last.executed_at, seq: last.seq });
      }
    },

    /** What the holdings engine replays (money as exact BigInt decimals), in replay order. */
    ledgerTransactions(db: Queryable, userId: string, portfolioId: string): Promise<LedgerTransaction[]> {
      return repo.replayRows(db, userId, portfolioId, ledgerFromRow);
    },

    /**
     * All of a portfolio's transactions in replay order (executed_at, then recorded order),
     * read in keyset pages of READ_PAGE_ROWS: no single statement or row mapping holds the
     * event loop for a whole large portfolio (on PGlite a statement runs on the main
     * thread). Pages are separate statements, so a caller that needs one snapshot reads
     * inside a REPEATABLE READ transaction (the analytics reads do) or holds a lock. Inside
     * a transaction the rest of it plans keyset pages as index walks (WALK_THE_INDEX): the
     * CSV import read 50,000 stored transactions in 2.3–2.9 s on PGlite without it.
     */
    async allTransactions(db: Queryable, userId: string, portfolioId: string): Promise<Transaction[]> {
      await db.exec(WALK_THE_INDEX);
      const all: Transaction[] = [];
      let after: { executedAt: Date; seq: number } | null = null;
      for (;;) {
        const page = await repo.transactionsAfter(db, userId, portfolioId, after, READ_PAGE_ROWS);
        for (const tx of page) all.push(tx);
        const last = page.at(-1);
        if (last === undefined || page.length < READ_PAGE_ROWS) return all;
        after = { executedAt: last.executedAt, seq: last.seq };
      }
    },

    /**
     * The buys, sells and splits of some symbols in replay order: all the insufficient-
     * quantity check of a write needs, so a write does not replay the whole portfolio.
     */
    async quantityTransactions(db: Queryable, userId: string, portfolioId: string, symbols: readonly string[]): Promise<Transaction[]> {
      if (symbols.length === 0) return [];
      const { rows } = await db.query<TransactionRow>(
        `SELECT ${TRANSACTION_COLUMNS} FROM transactions
         WHERE portfolio_id = $1 AND user_id = $2 AND symbol = ANY($3::text[]) AND type IN ('buy', 'sell', 'split')
         ORDER BY executed_at, seq`,
        [portfolioId, userId, symbols],
      );
      return rows.map(transactionFromRow);
    },

    /** Every transaction the user owns, per portfolio in replay order (for export). */
    /**
     * Up to `limit` of a portfolio's transactions in replay order (executed_at, seq), after
     * the given position: keyset pages on transactions_portfolio_replay_idx, so a large
     * portfolio is read in bounded pieces. Every executed_at is written from a JS Date
     * (millisecond precision), so the position read back compares exactly.
     */
    async transactionsAfter(
      db: Queryable,
      userId: string,
      portfolioId: string,
      after: { executedAt: Date; seq: number } | null,
      limit: number,
    ): Promise<Transaction[]> {
      // Two statements rather than `$3 IS NULL OR …`: only a plain row comparison lets the
      // planner start the index scan at the position (otherwise every page rescans from the start).
      const { rows } =
        after === null
          ? await db.query<TransactionRow>(
              `SELECT ${TRANSACTION_COLUMNS} FROM transactions WHERE portfolio_id = $1 AND user_id = $2 ORDER BY executed_at, seq LIMIT $3`,
              [portfolioId, userId, limit],
            )
          : await db.query<TransactionRow>(
              `SELECT ${TRANSACTION_COLUMNS} FROM transactions
                WHERE portfolio_id = $1 AND user_id = $2 AND (executed_at, seq) > ($3::timestamptz, $4::bigint)
                ORDER BY executed_at, seq LIMIT $5`,
              [portfolioId, userId, after.executedAt, after.seq, limit],
            );
      return rows.map(transactionFromRow);
    },

    /**
     * transactionsAfter, planned as a walk of transactions_portfolio_replay_idx whatever the
     * table's statistics say, so every page costs about its own rows. Without statistics
     * (PGlite has no autovacuum, and a table fresh from a bulk import has none yet) the
     * planner guesses a few rows, collects every row after the position through a bitmap
     * scan and sorts them for each page: O(rows left) per page, 120 ms on PGlite at the
     * start of a 50,000-transaction portfolio, quadratic over a whole read. Sorting is
     * switched off for this one statement (SET LOCAL in its own short transaction), which
     * leaves the ordered index scan as the only plan; ANALYZE would fix the estimate but
     * itself holds PGlite's thread for 170 ms at 50,000 rows.
     */
    async transactionsAfterIndexed(
      db: Database,
      userId: string,
      portfolioId: string,
      after: { executedAt: Date; seq: number } | null,
      limit: number,
    ): Promise<Transaction[]> {
      return readWalkingTheIndex(db, (q) => repo.transactionsAfter(q, userId, portfolioId, after, limit));
    },

    async allUserTransactions(db: Queryable, userId: string): Promise<Transaction[]> {
      const { rows } = await db.query<TransactionRow>(
        `SELECT ${TRANSACTION_COLUMNS} FROM transactions WHERE user_id = $1 ORDER BY portfolio_id, executed_at, seq`,
        [userId],
      );
      return rows.map(transactionFromRow);
    },

    /**
     * One page of a portfolio's transactions: filters as bound parameters (a NULL
     * parameter switches its filter off), ORDER BY a mapped column then seq, keyset
     * pagination on (column, seq). Reads one row more than asked to know whether more follow.
     *
     * Every sort key has an index that starts with portfolio_id and ends with seq
     * (transactions_portfolio_replay_idx for executed_at, migration 0270 for the others),
     * and the page is read as a walk of it, forwards or backwards (WALK_THE_INDEX, in a short
     * read-only transaction), so it costs about its own rows. Planned from stale statistics
     * (PGlite has no autovacuum), or sorted by a key with no index, a page read and sorted the
     * whole portfolio instead: 60–130 ms of main-thread time for 500 rows out of 50,000.
     */
    async listTransactions(db: Database, query: TransactionListQuery): Promise<{ rows: Transaction[]; more: boolean }> {
      return readWalkingTheIndex(db, (q) => readTransactionPage(q, query));
    },

    async findTransaction(db: Queryable, userId: string, portfolioId: string, id: string): Promise<Transaction | null> {
      const { rows } = await db.query<TransactionRow>(
        `SELECT ${TRANSACTION_COLUMNS} FROM transactions WHERE id = $1 AND portfolio_id = $2 AND user_id = $3`,
        [id, portfolioId, userId],
      );
      const row = rows[0];
      return row === undefined ? null : transactionFromRow(row);
    },

    async insertTransaction(
      db: Queryable,
      ids: { id: string; portfolioId: string; userId: string; now: Date },
      input: TransactionInput,
    ): Promise<Transaction> {
      const { rows } = await db.query<TransactionRow>(
        `INSERT INTO transactions (id, portfolio_id, user_id, type, symbol, quantity, price, amount, fee, currency, fx_rate,
           ratio_numerator, ratio_denominator, executed_at, note, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16)
         RETURNING ${TRANSACTION_COLUMNS}`,
        [ids.id, ids.portfolioId, ids.userId, ...inputParams(input), ids.now],
      );
      return transactionFromRow(rows[0] as TransactionRow);
    },

    /**
     * Many transactions in few statements (imports): one multi-row INSERT per batch of
     * `batchRows` (default INSERT_ROWS), in the given order, so `seq` keeps that order. Every value
     * is still a bound parameter.
     */
    async insertTransactions(
      db: Queryable,
      owner: { portfolioId: string; userId: string; now: Date },
      items: ReadonlyArray<{ id: string; input: TransactionInput }>,
      onBatch?: (written: number) => void,
      batchRows = INSERT_ROWS,
    ): Promise<void> {
      const BATCH = batchRows;
      for (let start = 0; start < items.length; start += BATCH) {
        const batch = items.slice(start, start + BATCH);
        const params: unknown[] = [owner.portfolioId, owner.userId, owner.now];
        const tuples = batch.map((item) => {
          const base = params.length;
          params.push(item.id, ...inputParams(item.input));
          const p = (i: number) => `$${base + i}`;
          return `(${p(1)}, $1, $2, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}, ${p(7)}, ${p(8)}, ${p(9)}, ${p(10)}, ${p(11)}, ${p(12)}, ${p(13)}, $3, $3)`;
        });
        await db.query(
          `INSERT INTO transactions (id, portfolio_id, user_id, type, symbol, quantity, price, amount, fee, currency, fx_rate,
             ratio_numerator, ratio_denominator, executed_at, note, created_at, updated_at)
           VALUES ${tuples.join(', ')}`,
          params,
        );
        onBatch?.(start + batch.length);
      }
    },

    async updateTransaction(
      db: Queryable,
      ids: { id: string; portfolioId: string; userId: string; now: Date },
      input: TransactionInput,
    ): Promise<Transaction | null> {
      const { rows } = await db.query<TransactionRow>(
        `UPDATE transactions SET type = $4, symbol = $5, quantity = $6, price = $7, amount = $8, fee = $9, currency = $10,
           fx_rate = $11, ratio_numerator = $12, ratio_denominator = $13, executed_at = $14, note = $15, updated_at = $16
         WHERE id = $1 AND portfolio_id = $2 AND user_id = $3
         RETURNING ${TRANSACTION_COLUMNS}`,
        [ids.id, ids.portfolioId, ids.userId, ...inputParams(input), ids.now],
      );
      const row = rows[0];
      return row === undefined ? null : transactionFromRow(row);
    },

    async deleteTransaction(db: Queryable, userId: string, portfolioId: string, id: string): Promise<boolean> {
      const { rowCount } = await db.query('DELETE FROM transactions WHERE id = $1 AND portfolio_id = $2 AND user_id = $3', [
        id,
        portfolioId,
        userId,
      ]);
      return rowCount > 0;
    },

    /**
     * Claims an idempotency key for a request. Returns null when this request now owns the
     * key, or the earlier claim (its hash and stored result) when the key was used before.
     * Keys older than `expiredBefore` are forgotten first.
     */
    async claimIdempotencyKey(
      db: Queryable,
      claim: { userId: string; key: string; requestHash: string; now: Date; expiredBefore: Date },
    ): Promise<{ requestHash: string; statusCode: number | null; response: unknown } | null> {
      await db.query('DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND created_at < $3', [
        claim.userId,
        claim.key,
        claim.expiredBefore,
      ]);
      const inserted = await db.query(
        `INSERT INTO idempotency_keys (user_id, key, request_hash, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (user_id, key) DO NOTHING RETURNING key`,
        [claim.userId, claim.key, claim.requestHash, claim.now],
      );
      if (inserted.rowCount > 0) return null;
      const { rows } = await db.query<{ request_hash: string; status_code: number | null; response: unknown }>(
        'SELECT request_hash, status_code, response FROM idempotency_keys WHERE user_id = $1 AND key = $2',
        [claim.userId, claim.key],
      );
      const row = rows[0];
      return row === undefined ? null : { requestHash: row.request_hash, statusCode: row.status_code, response: row.response };
    },

    async completeIdempotencyKey(db: Queryable, done: { userId: string; key: string; statusCode: number; response: unknown }): Promise<void> {
      await db.query('UPDATE idempotency_keys SET status_code = $3, response = $4 WHERE user_id = $1 AND key = $2', [
        done.userId,
        done.key,
        done.statusCode,
        JSON.stringify(done.response),
      ]);
    },
  };
  return repo;
}

export type PortfoliosRepository = ReturnType<typeof createPortfoliosRepository>;
