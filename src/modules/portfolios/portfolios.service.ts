// Portfolio rules: ownership (another user's portfolio is "not found"), transaction
// validation, the insufficient-quantity check by replaying the holdings engine, and
// Idempotency-Key handling. Holdings are computed on read from the transactions, so
// edits and deletes can never leave derived state behind. No HTTP here.
import { createHash, randomUUID } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { formatAmountFixed, formatFixed, plainExact, SCALE, toPlain, type Amount, type Decimal } from '../../money/index.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Database, Queryable } from '../../platform/db/index.ts';
import { AppError, notFound, validationFailed } from '../../platform/errors.ts';
import type { Logger } from '../../platform/logger.ts';
import type { SharedCache } from '../../platform/shared-cache.ts';
import { InsufficientQuantityError, replay, replayAsync, toLedger, valueHoldings, WEIGHT_SCALE, type HoldingsValuation, type HoldingValue, type Ledger, type LotValue } from './holdings.ts';
import { capReached, checkTransactionCaps, type PortfolioCaps } from './portfolios.caps.ts';
import type { PortfoliosRepository } from './portfolios.repository.ts';
import type { HoldingOut, HoldingsOut, LotOut, PortfolioOut, TransactionOut } from './portfolios.schemas.ts';
import type { Portfolio, Quote, QuoteSource, Transaction, TransactionFields, TransactionInput, TransactionType } from './portfolios.types.ts';
import { boundOf, decodeTransactionCursor, transactionCursor, type TransactionOrder, type TransactionSort } from './transactions.list.ts';
import { validateTransaction, type RawTransaction } from './transactions.validation.ts';

/** Query of GET /v1/portfolios/:id/transactions after schema validation. */
export interface TransactionListOptions {
  sort: TransactionSort;
  order: TransactionOrder;
  limit: number;
  cursor?: string | undefined;
  type?: TransactionType | undefined;
  /** Upper-cased ticker. */
  symbol?: string | undefined;
  /** A date (YYYY-MM-DD) or an ISO timestamp. */
  from?: string | undefined;
  to?: string | undefined;
}

/** Portfolios whose replayed ledger a process keeps. */
export const LEDGER_CACHE_SIZE = 500;

/** How long an Idempotency-Key is remembered. */
export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;

export interface PortfoliosServiceDeps {
  db: Database;
  repo: PortfoliosRepository;
  clock: Clock;
  logger: Logger;
  /** Latest prices for valuation; absent or failing → holdings are unpriced and flagged stale. */
  quotes?: QuoteSource | undefined;
  newId?: () => string;
  /**
   * Each user's portfolio rows (with their revisions) in memory, invalidated across
   * instances over the event bus (src/platform/shared-cache.ts). Without it every read
   * queries the database (the CLI).
   */
  rows?: SharedCache<Portfolio[]> | undefined;
}

/** A response the service decided on: status and body (replayed as-is for a repeated key). */
export interface Outcome<T> {
  status: number;
  body: T;
  /** True when this is the stored result of an earlier request with the same key. */
  replayed: boolean;
}

export interface IdempotencyRequest {
  key: string;
  /** Identifies the operation and its target (`POST /v1/portfolios/:id/transactions <id>`). */
  scope: string;
  body: unknown;
}

export function portfolioOut(p: Portfolio): PortfolioOut {
  return {
    id: p.id,
    name: p.name,
    base_currency: p.baseCurrency,
    created_at: p.createdAt.toISOString(),
    updated_at: p.updatedAt.toISOString(),
  };
}

const plainOrNull = (value: Decimal | null) => (value === null ? null : toPlain(value));

export function transactionOut(tx: Transaction): TransactionOut {
  return {
    id: tx.id,
    portfolio_id: tx.portfolioId,
    ...contentOf(tx),
    created_at: tx.createdAt.toISOString(),
    updated_at: tx.updatedAt.toISOString(),
  };
}

/** A transaction's contents in their string (wire) form. */
function contentOf(tx: TransactionInput) {
  return {
    type: tx.type,
    symbol: tx.symbol,
    quantity: plainOrNull(tx.quantity),
    price: plainOrNull(tx.price),
    amount: plainOrNull(tx.amount),
    fee: toPlain(tx.fee),
    currency: tx.currency,
    fx_rate: toPlain(tx.fxRate),
    ratio_numerator: tx.ratioNumerator,
    ratio_denominator: tx.ratioDenominator,
    executed_at: tx.executedAt.toISOString(),
    note: tx.note,
  };
}

/** The raw (string) form of a stored transaction, for PATCH merges and re-validation. */
export function rawOf(tx: TransactionInput): RawTransaction {
  return contentOf(tx);
}

// A cached replay is valued again on every read, but most of a holdings answer does not
// depend on the quotes: a holding's lots, quantity, costs, income and fees. Their strings
// are remembered per holding, keyed by the position's list of lots (the same array for
// every valuation of one replay), together with the values they were formatted from. A
// hit is used only when every one of those values is identical (the scale, BigInts,
// immutable Quantity objects and the lot objects themselves; a lot changes only with its
// position's quantity), so a changed position is formatted afresh.
type StaticHoldingOut = Pick<HoldingOut, 'quantity' | 'average_cost' | 'cost_basis' | 'lots' | 'realized_pnl' | 'dividends' | 'interest' | 'fees'>;
const formattedHoldings = new WeakMap<readonly LotValue[], { from: readonly unknown[]; out: StaticHoldingOut }>();

function lotOut(lot: LotValue, scale: number, currency: string): LotOut {
  return {
    transaction_id: lot.transactionId,
    acquired_at: lot.acquiredAt.toISOString(),
    quantity: lot.quantity.format(SCALE.quantity),
    unit_cost: lot.quantity.formatPerUnit(lot.cost, scale, SCALE.price),
    cost_basis: formatAmountFixed(lot.cost, scale, currency),
  };
}

function staticHoldingOut(item: HoldingValue, scale: number, currency: string, lots?: LotOut[]): StaticHoldingOut {
  const from = [scale, item.quantity, item.costBasis, item.realizedPnl, item.dividends, item.interest, item.fees, currency, ...item.lots];
  const known = formattedHoldings.get(item.lots);
  if (known !== undefined && known.from.length === from.length && known.from.every((value, i) => value === from[i])) return known.out;
  const amount = (value: Amount) => formatAmountFixed(value, scale, currency);
  const out = {
    quantity: item.quantity.format(SCALE.quantity),
    average_cost: item.quantity.isPositive() ? item.quantity.formatPerUnit(item.costBasis, scale, SCALE.price) : null,
    cost_basis: amount(item.costBasis),
    lots: lots ?? item.lots.map((lot) => lotOut(lot, scale, currency)),
    realized_pnl: amount(item.realizedPnl),
    dividends: amount(item.dividends),
    interest: amount(item.interest),
    fees: amount(item.fees),
  };
  formattedHoldings.set(item.lots, { from, out });
  return out;
}

/** Lots formatted between two turns of the event loop (formatHoldingsAhead). */
const LOTS_PER_TURN = 500;

/**
 * Formats the lots of every holding not formatted yet (the costly part of holdingsOut: a
 * large portfolio has thousands), LOTS_PER_TURN at a time with a turn of the event loop in
 * between, into the cache holdingsOut then reads: the answer is the same, but building it
 * never holds the loop for long (FAIL-023).
 */
export async function formatHoldingsAhead(portfolio: Portfolio, valuation: HoldingsValuation): Promise<void> {
  for (const item of valuation.items) {
    const lots: LotOut[] = [];
    for (const [index, lot] of item.lots.entries()) {
      if (index % LOTS_PER_TURN === LOTS_PER_TURN - 1) await nextTurn();
      lots.push(lotOut(lot, valuation.scale, portfolio.baseCurrency));
    }
    staticHoldingOut(item, valuation.scale, portfolio.baseCurrency, lots);
  }
}

export function holdingsOut(portfolio: Portfolio, valuation: HoldingsValuation): HoldingsOut {
  const ccy = portfolio.baseCurrency;
  const { scale } = valuation;
  const amount = (value: Amount) => formatAmountFixed(value, scale, ccy);
  const amountOrNull = (value: Amount | null) => (value === null ? null : amount(value));
  const t = valuation.totals;
  return {
    portfolio_id: portfolio.id,
    base_currency: ccy,
    items: valuation.items.map((item) => {
      const fixed = staticHoldingOut(item, scale, ccy);
      return {
        symbol: item.symbol,
        quantity: fixed.quantity,
        average_cost: fixed.average_cost,
        cost_basis: fixed.cost_basis,
        lots: fixed.lots,
        currency: item.currency,
        price: item.price === null ? null : plainExact(item.price),
        price_as_of: item.priceAsOf === null ? null : item.priceAsOf.toISOString(),
        price_source: item.priceSource,
        stale: item.stale,
        market_value: amountOrNull(item.marketValue),
        unrealized_pnl: amountOrNull(item.unrealizedPnl),
        realized_pnl: fixed.realized_pnl,
        dividends: fixed.dividends,
        interest: fixed.interest,
        fees: fixed.fees,
        weight: item.weight === null ? null : formatFixed(item.weight, WEIGHT_SCALE, WEIGHT_SCALE, true),
      };
    }),
    cash: amount(valuation.cash),
    totals: {
      market_value: amount(t.marketValue),
      cost_basis: amount(t.costBasis),
      unrealized_pnl: amount(t.unrealizedPnl),
      realized_pnl: amount(t.realizedPnl),
      dividends: amount(t.dividends),
      interest: amount(t.interest),
      fees: amount(t.fees),
      deposits: amount(t.deposits),
      withdrawals: amount(t.withdrawals),
      net_contributions: amount(t.netContributions),
      cash: amount(t.cash),
      total_value: amount(t.totalValue),
      stale: t.stale,
      unpriced_symbols: t.unpricedSymbols,
    },
  };
}

/** Every quote field a valuation reads, in one string: equal strings, equal valuations. */
function quotesKey(quotes: ReadonlyMap<string, Quote>): string {
  let key = '';
  for (const [symbol, q] of quotes) key += `${symbol}\u0000${q.price}\u0000${q.as_of.getTime()}\u0000${q.stale ? 1 : 0}\u0000${q.source}\u0001`;
  return key;
}

export function insufficientQuantity(err: InsufficientQuantityError): AppError {
  return new AppError(422, 'insufficient_quantity', 'Unprocessable content', {
    detail: `Selling ${plainExact(err.requested)} ${err.symbol} on ${err.executedAt.toISOString()} exceeds the ${err.held.format(SCALE.quantity)} held at that time.`,
    extra: {
      symbol: err.symbol,
      executed_at: err.executedAt.toISOString(),
      held: err.held.format(SCALE.quantity),
      requested: plainExact(err.requested),
    },
  });
}

/** Replays the transactions and turns an oversold position into a 422. */
export function checkReplay(transactions: readonly TransactionFields[]): Ledger {
  try {
    return replay(transactions.map(toLedger));
  } catch (err) {
    if (err instanceof InsufficientQuantityError) throw insufficientQuantity(err);
    throw err;
  }
}

/** The symbol whose share count a transaction changes (buys, sells, splits), if any. */
export function quantitySymbols(tx: Pick<TransactionInput, 'type' | 'symbol'>): string[] {
  return tx.symbol !== null && (tx.type === 'buy' || tx.type === 'sell' || tx.type === 'split') ? [tx.symbol] : [];
}

/** A stable serialisation (sorted keys) so equal bodies hash equal whatever their key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function createPortfoliosService(deps: PortfoliosServiceDeps) {
  const { db, repo, clock, logger } = deps;
  const newId = deps.newId ?? randomUUID;

  async function ownedPortfolio(q: Queryable, userId: string, id: string, forUpdate = false): Promise<Portfolio> {
    const portfolio = await repo.findPortfolio(q, userId, id, { forUpdate });
    if (portfolio === null) throw notFound('Portfolio');
    return portfolio;
  }

  /** The user's portfolios, from memory while the shared cache trusts its copy. */
  const listPortfolios = (userId: string): Promise<Portfolio[]> =>
    deps.rows === undefined ? repo.listPortfolios(db, userId) : deps.rows.get(userId, () => repo.listPortfolios(db, userId));

  /**
   * A read of a portfolio the user owns, with its revision: from the cached rows when they
   * have it, else from the database (one created on another instance whose event has not
   * arrived yet is found there, never refused).
   */
  async function readOwned(userId: string, id: string): Promise<Portfolio> {
    const cached = (await listPortfolios(userId)).find((p) => p.id === id);
    return cached ?? ownedPortfolio(db, userId, id);
  }

  /** After a write of the user's portfolios or transactions (committed or not): drop the cached rows everywhere. */
  const changed = (userId: string): void => deps.rows?.invalidate(userId);
  const thenChanged = <T>(userId: string, work: Promise<T>): Promise<T> => work.finally(() => changed(userId));

  /**
   * Runs `work` once per (user, key): a repeat with the same request returns the stored
   * result and writes nothing; the same key with a different request is refused. The claim,
   * the write and the stored result commit together, so a failed request leaves no claim.
   */
  async function idempotent<T>(
    q: Queryable,
    userId: string,
    idem: IdempotencyRequest | undefined,
    work: () => Promise<{ status: number; body: T }>,
  ): Promise<Outcome<T>> {
    if (idem === undefined) return { ...(await work()), replayed: false };
    const now = clock.now();
    const requestHash = createHash('sha256').update(`${idem.scope}\n${canonical(idem.body)}`).digest('hex');
    const earlier = await repo.claimIdempotencyKey(q, {
      userId,
      key: idem.key,
      requestHash,
      now,
      expiredBefore: new Date(now.getTime() - IDEMPOTENCY_TTL_MS),
    });
    if (earlier !== null) {
      if (earlier.requestHash !== requestHash) {
        throw new AppError(422, 'idempotency_key_reused', 'Unprocessable content', {
          detail: 'This Idempotency-Key was already used with a different request; use a new key for a new request.',
        });
      }
      if (earlier.statusCode === null) {
        throw new AppError(409, 'idempotency_key_in_use', 'Conflict', { detail: 'A request with this Idempotency-Key is still in progress.' });
      }
      logger.info({ event: 'idempotent_replay', userId }, 'idempotency key repeated; returning the stored result');
      return { status: earlier.statusCode, body: earlier.response as T, replayed: true };
    }
    const result = await work();
    await repo.completeIdempotencyKey(q, { userId, key: idem.key, statusCode: result.status, response: result.body });
    return { ...result, replayed: false };
  }

  function validOrThrow(raw: RawTransaction, baseCurrency: string): TransactionInput {
    const result = validateTransaction(raw, { baseCurrency, now: clock.now() });
    if (!result.ok) throw validationFailed(result.errors.map((e) => ({ field: `body.${e.field}`, message: e.message })));
    return result.value;
  }

  async function quotesFor(symbols: string[]): Promise<Map<string, Quote>> {
    if (deps.quotes === undefined || symbols.length === 0) return new Map();
    try {
      return await deps.quotes.latestQuotes(symbols);
    } catch (err) {
      // Holdings stay available without prices (FAIL-023): every position is flagged stale.
      logger.warn({ err, event: 'quotes_unavailable' }, 'latest quotes unavailable; holdings are unpriced');
      return new Map();
    }
  }

  // The last holdings answer per replayed ledger (so per portfolio revision), variant and
  // quotes. valueHoldings and holdingsOut are pure functions of the ledger, the quotes and
  // the variant, so a read that finds all three unchanged gets the very same answer object
  // (which the route serializes once), instead of valuing and formatting every lot again.
  // It goes with its ledger when the ledger cache drops that. Answers are never mutated.
  const answers = new WeakMap<Ledger, Map<string, { inputs: string; out: HoldingsOut }>>();

  // Replays by portfolio id and revision, least recently used dropped first. A ledger is
  // never mutated once cached (valueHoldings only reads it).
  const ledgers = new Map<string, { revision: number; ledger: Ledger }>();
  async function ledgerOf(portfolio: Portfolio): Promise<Ledger> {
    const cached = ledgers.get(portfolio.id);
    ledgers.delete(portfolio.id);
    if (cached !== undefined && cached.revision === portfolio.revision) {
      ledgers.set(portfolio.id, cached);
      return cached.ledger;
    }
    // Transactions are read after the revision, so they are at least that new: a cached
    // replay can be newer than its revision, never older.
    // Paged reads from one snapshot (a write committed meanwhile is wholly in or out),
    // replayed with turns of the event loop in between (FAIL-023).
    const rows = await db.transaction(async (q) => {
      await q.exec('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      return repo.ledgerTransactions(q, portfolio.userId, portfolio.id);
    });
    const ledger = await replayAsync(rows);
    ledgers.set(portfolio.id, { revision: portfolio.revision, ledger });
    if (ledgers.size > LEDGER_CACHE_SIZE) {
      const oldest = ledgers.keys().next();
      if (oldest.done !== true) ledgers.delete(oldest.value);
    }
    return ledger;
  }

  return {
    ownedPortfolio: (userId: string, id: string) => readOwned(userId, id),

    /** The replayed ledger of a portfolio the user owns (cached per revision); for analytics. */
    ledger: async (userId: string, portfolioId: string): Promise<{ portfolio: Portfolio; ledger: Ledger }> => {
      const portfolio = await readOwned(userId, portfolioId);
      return { portfolio, ledger: await ledgerOf(portfolio) };
    },

    listPortfolios,

    /** Tells every instance the user's portfolios changed (the import service's writes). */
    changed,

    /** `caps`: the caller's tier limits (HTTP); the operator's CLI passes none. */
    createPortfolio(userId: string, input: { name: string; baseCurrency: string }, idem?: IdempotencyRequest, caps?: PortfolioCaps): Promise<Outcome<PortfolioOut>> {
      return thenChanged(userId, db.transaction((q) =>
        idempotent(q, userId, idem, async () => {
          if (caps !== undefined) {
            await repo.lockUserPortfolios(q, userId);
            const count = await repo.countPortfolios(q, userId);
            if (count + 1 > caps.portfolios) throw capReached('portfolios', caps.portfolios, count);
          }
          const now = clock.now();
          const portfolio = await repo.insertPortfolio(q, {
            id: newId(),
            userId,
            name: input.name,
            baseCurrency: input.baseCurrency,
            createdAt: now,
            updatedAt: now,
          });
          logger.info({ event: 'portfolio_created', userId, portfolioId: portfolio.id }, 'portfolio created');
          return { status: 201, body: portfolioOut(portfolio) };
        }),
      ));
    },

    async renamePortfolio(userId: string, id: string, name: string): Promise<Portfolio> {
      const updated = await thenChanged(userId, repo.updatePortfolio(db, userId, id, { name, updatedAt: clock.now() }));
      if (updated === null) throw notFound('Portfolio');
      return updated;
    },

    async deletePortfolio(userId: string, id: string): Promise<void> {
      if (!(await thenChanged(userId, repo.deletePortfolio(db, userId, id)))) throw notFound('Portfolio');
      logger.info({ event: 'portfolio_deleted', userId, portfolioId: id }, 'portfolio deleted');
    },

    /** One page of transactions with enum sorts, filters and an opaque cursor (transactions.list.ts). */
    async listTransactions(userId: string, portfolioId: string, options: TransactionListOptions): Promise<{ items: Transaction[]; nextCursor: string | null }> {
      const { sort, order } = options;
      // The cursor is checked before anything is read, so a tampered one changes nothing.
      const after = options.cursor === undefined ? undefined : decodeTransactionCursor(options.cursor, sort, order);
      const from = options.from === undefined ? undefined : boundOf(options.from, 'from');
      const toExclusive = options.to === undefined ? undefined : boundOf(options.to, 'to');
      if (from !== undefined && toExclusive !== undefined && from >= toExclusive) {
        throw validationFailed([{ field: 'querystring.from', message: 'must not be after to' }]);
      }
      await ownedPortfolio(db, userId, portfolioId);
      const page = await repo.listTransactions(db, {
        userId,
        portfolioId,
        sort,
        order,
        limit: options.limit,
        type: options.type,
        symbol: options.symbol,
        from,
        toExclusive,
        after,
      });
      const last = page.rows.at(-1);
      return { items: page.rows, nextCursor: page.more && last !== undefined ? transactionCursor(last, sort, order) : null };
    },

    async getTransaction(userId: string, portfolioId: string, id: string): Promise<Transaction> {
      const tx = await repo.findTransaction(db, userId, portfolioId, id);
      if (tx === null) throw notFound('Transaction');
      return tx;
    },

    createTransaction(userId: string, portfolioId: string, raw: RawTransaction, idem?: IdempotencyRequest, caps?: PortfolioCaps): Promise<Outcome<TransactionOut>> {
      return thenChanged(userId, db.transaction(async (q) => {
        // The row lock serialises writers of this portfolio, so the counts below hold until commit.
        const portfolio = await ownedPortfolio(q, userId, portfolioId, true);
        return idempotent(q, userId, idem, async () => {
          const input = validOrThrow(raw, portfolio.baseCurrency);
          if (caps !== undefined) checkTransactionCaps(caps, await repo.countTransactions(q, userId, portfolioId), 1, input.type === 'split' ? 1 : 0);
          const id = newId();
          const symbols = quantitySymbols(input);
          if (symbols.length > 0) checkReplay([...(await repo.quantityTransactions(q, userId, portfolioId, symbols)), { ...input, id }]);
          const stored = await repo.insertTransaction(q, { id, portfolioId, userId, now: clock.now() }, input);
          await repo.bumpRevision(q, portfolioId);
          return { status: 201, body: transactionOut(stored) };
        });
      }));
    },

    /** PUT (replace: `merge` false) or PATCH (merge onto the stored transaction). */
    updateTransaction(userId: string, portfolioId: string, id: string, raw: RawTransaction, merge: boolean, caps?: PortfolioCaps): Promise<Transaction> {
      return thenChanged(userId, db.transaction(async (q) => {
        const portfolio = await ownedPortfolio(q, userId, portfolioId, true);
        const current = await repo.findTransaction(q, userId, portfolioId, id);
        if (current === null) throw notFound('Transaction');
        const input = validOrThrow(merge ? { ...rawOf(current), ...raw } : raw, portfolio.baseCurrency);
        // Turning a transaction into a split adds a split.
        if (caps !== undefined && input.type === 'split' && current.type !== 'split') checkTransactionCaps(caps, await repo.countTransactions(q, userId, portfolioId), 0, 1);
        // Replay the symbols involved with the edited transaction in its place: a later sell
        // that the edit would leave uncovered makes the edit a 422, and nothing is written.
        const symbols = [...new Set([...quantitySymbols(current), ...quantitySymbols(input)])];
        if (symbols.length > 0) {
          const existing = await repo.quantityTransactions(q, userId, portfolioId, symbols);
          const edited = existing.filter((tx) => tx.id !== id);
          if (quantitySymbols(input).length > 0) {
            // keep the recorded order: the edited transaction stays where it was among equals
            const at = existing.findIndex((tx) => tx.id === id);
            edited.splice(at === -1 ? edited.length : at, 0, { ...current, ...input, id });
          }
          checkReplay(edited);
        }
        const updated = await repo.updateTransaction(q, { id, portfolioId, userId, now: clock.now() }, input);
        if (updated === null) throw notFound('Transaction');
        await repo.bumpRevision(q, portfolioId);
        return updated;
      }));
    },

    deleteTransaction(userId: string, portfolioId: string, id: string): Promise<void> {
      return thenChanged(userId, db.transaction(async (q) => {
        await ownedPortfolio(q, userId, portfolioId, true);
        const current = await repo.findTransaction(q, userId, portfolioId, id);
        if (current === null) throw notFound('Transaction');
        const symbols = quantitySymbols(current);
        if (symbols.length > 0) checkReplay((await repo.quantityTransactions(q, userId, portfolioId, symbols)).filter((tx) => tx.id !== id));
        await repo.deleteTransaction(q, userId, portfolioId, id);
        await repo.bumpRevision(q, portfolioId);
      }));
    },

    /** Positions, lots, cash and totals, recomputed from the transactions, valued at the latest quotes. */
    async holdings(userId: string, portfolioId: string, options: { includeClosed?: boolean } = {}): Promise<HoldingsOut> {
      const portfolio = await readOwned(userId, portfolioId);
      const ledger = await ledgerOf(portfolio);
      const open = [...ledger.positions.values()].filter((p) => p.quantity.isPositive()).map((p) => p.symbol);
      const quotes = await quotesFor(open);
      const variant = `${options.includeClosed === true ? 'all' : 'open'} ${portfolio.baseCurrency}`;
      const inputs = quotesKey(quotes);
      const known = answers.get(ledger)?.get(variant);
      if (known !== undefined && known.inputs === inputs) return known.out;
      const valuation = valueHoldings(ledger, quotes, options);
      await formatHoldingsAhead(portfolio, valuation);
      const out = holdingsOut(portfolio, valuation);
      const byVariant = answers.get(ledger) ?? new Map<string, { inputs: string; out: HoldingsOut }>();
      byVariant.set(variant, { inputs, out });
      answers.set(ledger, byVariant);
      return out;
    },
  };
}

export type PortfoliosService = ReturnType<typeof createPortfoliosService>;
