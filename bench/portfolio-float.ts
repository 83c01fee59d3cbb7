// The float floor for the portfolio benchmark (S-009): the same holdings calculation as
// src/modules/portfolios/holdings.ts — rows parsed from their decimal strings into transactions, replayed
// in order into FIFO lots, realized P&L, income, fees and cash, then valued at the latest
// quotes with unrealized P&L and weights — in plain `number` arithmetic. Kept in bench/
// only: it is the speed reference, never the product (FAIL-002).
import type { BenchRow } from './portfolio-data.ts';

export interface FloatLot {
  transactionId: string;
  acquiredAt: Date;
  quantity: number;
  cost: number;
}

interface FloatPosition {
  lots: FloatLot[];
  currency: string | null;
  quantity: number;
  /** Sum of the lots' costs, kept alongside as the exact ledger does. */
  cost: number;
  realizedPnl: number;
  dividends: number;
  interest: number;
  fees: number;
  fxRate: number;
}

export interface FloatHolding {
  symbol: string;
  /** The open lots themselves, as the exact engine hands them out (cost per share is derived when formatted). */
  lots: readonly FloatLot[];
  quantity: number;
  costBasis: number;
  averageCost: number;
  currency: string | null;
  price: number | null;
  priceAsOf: Date | null;
  priceSource: string | null;
  stale: boolean;
  dividends: number;
  interest: number;
  fees: number;
  marketValue: number | null;
  unrealizedPnl: number | null;
  realizedPnl: number;
  weight: number | null;
}

export interface FloatValuation {
  items: FloatHolding[];
  cash: number;
  marketValue: number;
  costBasis: number;
  unrealizedPnl: number;
  realizedPnl: number;
  stale: boolean;
  unpricedSymbols: string[];
  totals: FloatLedger['totals'];
}

const num = (value: string | null): number | null => (value === null ? null : Number.parseFloat(value));

/**
 * A row as a float server's repository would hand it to its engine: the counterpart of
 * `ledgerFromRow`, so both variants parse the rows into transactions first and then
 * replay them, and the ratio compares arithmetic, not program structure.
 */
export interface FloatTransaction {
  id: string;
  type: BenchRow['type'];
  symbol: string | null;
  quantity: number | null;
  price: number | null;
  amount: number | null;
  fee: number;
  currency: string;
  fxRate: number;
  ratioNumerator: number | null;
  ratioDenominator: number | null;
  executedAt: Date;
}

export function floatFromRow(row: BenchRow): FloatTransaction {
  return {
    id: row.id,
    type: row.type,
    symbol: row.symbol,
    quantity: num(row.quantity),
    price: num(row.price),
    amount: num(row.amount),
    fee: Number.parseFloat(row.fee),
    currency: row.currency,
    fxRate: Number.parseFloat(row.fx_rate),
    ratioNumerator: row.ratio_numerator,
    ratioDenominator: row.ratio_denominator,
    executedAt: row.executed_at,
  };
}

export interface FloatLedger {
  positions: Map<string, FloatPosition>;
  cash: number;
  realizedPnl: number;
  /** Portfolio-wide totals, as the exact Ledger keeps them. */
  totals: { deposits: number; withdrawals: number; dividends: number; interest: number; fees: number };
}

/** Rows (decimal strings) → transactions → replay → valuation: what exactHoldings does in the bench. */
export function floatHoldings(rows: readonly BenchRow[], quotes: ReadonlyMap<string, FloatQuote>): FloatValuation {
  return floatValue(floatReplay(rows.map(floatFromRow)), quotes);
}

/** Transactions → positions with FIFO lots, cash and realized P&L. */
export function floatReplay(transactions: readonly FloatTransaction[]): FloatLedger {
  const ordered = transactions
    .map((tx, index) => ({ tx, index }))
    .sort((a, b) => a.tx.executedAt.getTime() - b.tx.executedAt.getTime() || a.index - b.index)
    .map((e) => e.tx);
  const positions = new Map<string, FloatPosition>();
  const position = (symbol: string): FloatPosition => {
    let p = positions.get(symbol);
    if (p === undefined) {
      p = { lots: [], currency: null, quantity: 0, cost: 0, realizedPnl: 0, dividends: 0, interest: 0, fees: 0, fxRate: 1 };
      positions.set(symbol, p);
    }
    return p;
  };
  let cash = 0;
  let realized = 0;
  const totals = { deposits: 0, withdrawals: 0, dividends: 0, interest: 0, fees: 0 };
  for (const tx of ordered) {
    const fx = tx.fxRate;
    const fee = tx.fee * fx;
    const symbol = tx.symbol ?? '';
    totals.fees += fee;
    switch (tx.type) {
      case 'deposit': {
        const amount = (tx.amount ?? 0) * fx;
        totals.deposits += amount;
        cash += amount - fee;
        break;
      }
      case 'withdrawal': {
        const amount = (tx.amount ?? 0) * fx;
        totals.withdrawals += amount;
        cash -= amount + fee;
        break;
      }
      case 'dividend': {
        const p = position(symbol);
        const amount = (tx.amount ?? 0) * fx;
        p.dividends += amount;
        p.fees += fee;
        totals.dividends += amount;
        cash += amount - fee;
        break;
      }
      case 'interest': {
        const amount = (tx.amount ?? 0) * fx;
        if (tx.symbol !== null) {
          const p = position(symbol);
          p.interest += amount;
          p.fees += fee;
        }
        totals.interest += amount;
        cash += amount - fee;
        break;
      }
      case 'fee': {
        const amount = (tx.amount ?? 0) * fx;
        if (tx.symbol !== null) position(symbol).fees += amount + fee;
        totals.fees += amount;
        cash -= amount + fee;
        break;
      }
      case 'split': {
        const p = position(symbol);
        const ratio = (tx.ratioNumerator ?? 1) / (tx.ratioDenominator ?? 1);
        for (const lot of p.lots) lot.quantity *= ratio;
        p.quantity *= ratio;
        p.fees += fee;
        cash -= fee;
        break;
      }
      case 'buy': {
        const p = position(symbol);
        const q = (tx.quantity ?? 0);
        const gross = q * (tx.price ?? 0) * fx;
        p.lots.push({ transactionId: tx.id, acquiredAt: tx.executedAt, quantity: q, cost: gross + fee });
        p.quantity += q;
        p.cost += gross + fee;
        p.fees += fee;
        p.currency = tx.currency;
        p.fxRate = fx;
        cash -= gross + fee;
        break;
      }
      case 'sell': {
        const p = position(symbol);
        const q = (tx.quantity ?? 0);
        if (q > p.quantity + 1e-9) throw new Error(`oversell of ${symbol}`);
        let remaining = q;
        let consumed = 0;
        p.quantity -= q;
        while (remaining > 1e-12) {
          const lot = p.lots[0];
          if (lot === undefined) break;
          if (lot.quantity <= remaining) {
            consumed += lot.cost;
            remaining -= lot.quantity;
            p.lots.shift();
          } else {
            const part = (remaining / lot.quantity) * lot.cost;
            lot.cost -= part;
            lot.quantity -= remaining;
            consumed += part;
            remaining = 0;
          }
        }
        const gross = q * (tx.price ?? 0) * fx;
        p.cost -= consumed;
        const pnl = gross - fee - consumed;
        p.realizedPnl += pnl;
        p.fees += fee;
        p.currency = tx.currency;
        p.fxRate = fx;
        realized += pnl;
        cash += gross - fee;
        break;
      }
    }
  }
  return { positions, cash, realizedPnl: realized, totals };
}

/** A latest quote, as the exact engine takes it. */
export interface FloatQuote {
  price: string;
  as_of: Date;
  stale: boolean;
  source: string;
}

/** Values a replayed ledger at the latest quotes (what a request does with a cached replay). */
export function floatValue(ledger: FloatLedger, quotes: ReadonlyMap<string, FloatQuote>): FloatValuation {
  const { positions } = ledger;
  const items: FloatHolding[] = [];
  let marketValue = 0;
  let costBasis = 0;
  let unrealized = 0;
  let stale = false;
  const unpriced: string[] = [];
  for (const symbol of [...positions.keys()].sort()) {
    const p = positions.get(symbol);
    if (p === undefined || p.quantity <= 1e-12) continue;
    const cost = p.cost;
    const quote = quotes.get(symbol);
    const price = quote === undefined ? null : Number.parseFloat(quote.price);
    const value = price === null ? null : p.quantity * price * p.fxRate;
    if (quote === undefined) unpriced.push(symbol);
    if (quote === undefined || quote.stale) stale = true;
    if (value !== null) {
      marketValue += value;
      unrealized += value - cost;
    }
    costBasis += cost;
    items.push({
      symbol,
      lots: p.lots,
      quantity: p.quantity,
      costBasis: cost,
      averageCost: cost / p.quantity,
      currency: p.currency,
      price,
      priceAsOf: quote?.as_of ?? null,
      priceSource: quote?.source ?? null,
      stale: quote === undefined || quote.stale,
      dividends: p.dividends,
      interest: p.interest,
      fees: p.fees,
      marketValue: value,
      unrealizedPnl: value === null ? null : value - cost,
      realizedPnl: p.realizedPnl,
      weight: null,
    });
  }
  for (const item of items) if (item.marketValue !== null && marketValue !== 0) item.weight = (item.marketValue / marketValue) * 100;
  return { items, cash: ledger.cash, marketValue, costBasis, unrealizedPnl: unrealized, realizedPnl: ledger.realizedPnl, stale, unpricedSymbols: unpriced, totals: ledger.totals };
}
