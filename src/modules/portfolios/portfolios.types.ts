// Domain types of the portfolios module, shared by the engine, the service, the
// repository and the portfolio-analytics code built on top of them. Money fields are
// Decimal objects here; they become strings only at the database and HTTP edges.
import type { Decimal, Exact } from '../../money/index.ts';

export const TRANSACTION_TYPES = ['buy', 'sell', 'dividend', 'interest', 'fee', 'split', 'deposit', 'withdrawal'] as const;
export type TransactionType = (typeof TRANSACTION_TYPES)[number];

export interface Portfolio {
  id: string;
  userId: string;
  name: string;
  baseCurrency: string;
  /** Bumped with every change to the portfolio's transactions (keys the replay cache). */
  revision: number;
  createdAt: Date;
  updatedAt: Date;
}

/** A stored transaction. `fxRate` is base-currency units per unit of `currency` (1 when equal). */
export interface Transaction {
  id: string;
  portfolioId: string;
  userId: string;
  /** Insertion order; breaks ties between equal `executedAt` in the replay. */
  seq: number;
  type: TransactionType;
  symbol: string | null;
  quantity: Decimal | null;
  price: Decimal | null;
  amount: Decimal | null;
  fee: Decimal;
  currency: string;
  fxRate: Decimal;
  ratioNumerator: number | null;
  ratioDenominator: number | null;
  executedAt: Date;
  note: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A transaction's fields that drive holdings and performance (money as Decimal). */
export type TransactionFields = Pick<
  Transaction,
  | 'id'
  | 'type'
  | 'symbol'
  | 'quantity'
  | 'price'
  | 'amount'
  | 'fee'
  | 'currency'
  | 'fxRate'
  | 'ratioNumerator'
  | 'ratioDenominator'
  | 'executedAt'
>;

/**
 * What the holdings engine replays: the same fields with money as exact BigInt decimals
 * (src/money/fixed.ts), so a replay of thousands of transactions never builds a Decimal.
 */
export interface LedgerTransaction extends Omit<TransactionFields, 'quantity' | 'price' | 'amount' | 'fee' | 'fxRate'> {
  quantity: Exact | null;
  price: Exact | null;
  amount: Exact | null;
  fee: Exact;
  fxRate: Exact;
}

/** The contents of a transaction, without identity and bookkeeping. */
export type TransactionInput = Omit<Transaction, 'id' | 'portfolioId' | 'userId' | 'seq' | 'createdAt' | 'updatedAt'>;

/** A latest price for valuation (the market module's `latestQuotes` item, narrowed). */
export interface Quote {
  symbol: string;
  price: string;
  as_of: Date;
  stale: boolean;
  source: string;
}

/** The one thing the portfolios module needs from market data; wired in src/app.ts. */
export interface QuoteSource {
  latestQuotes: (symbols: string[]) => Promise<Map<string, Quote>>;
}
