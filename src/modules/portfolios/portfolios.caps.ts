// Per-user caps (FAIL-023, FAIL-007): portfolios per user, transactions per portfolio and
// split transactions per portfolio, from the caller's tier. Unbounded counts made a
// dashboard over thousands of portfolios take half a minute and thousands of splits grow a
// quantity to 120,000 digits. Callers check inside the transaction that writes, under a
// lock (the user's advisory lock for portfolios, the portfolio's row lock for its
// transactions), so parallel creates cannot pass a cap.
import { AppError } from '../../platform/errors.ts';
import type { TransactionType } from './portfolios.types.ts';

export interface PortfolioCaps {
  portfolios: number;
  transactionsPerPortfolio: number;
  splitsPerPortfolio: number;
}

export type CappedResource = 'portfolios' | 'transactions_per_portfolio' | 'splits_per_portfolio';

/** 409 `quota_exceeded` with the resource, its limit and the current usage (the shape every quota uses). */
export function capReached(resource: CappedResource, limit: number, usage: number): AppError {
  return new AppError(409, 'quota_exceeded', 'Conflict', {
    detail: `Your tier allows ${limit} ${resource.replace(/_/g, ' ')}; you have ${usage}.`,
    extra: { resource, limit, usage },
  });
}

/** Throws when adding `adding` transactions (of which `addingSplits` splits) would pass a cap of the portfolio. */
export function checkTransactionCaps(caps: PortfolioCaps, current: { total: number; splits: number }, adding: number, addingSplits: number): void {
  if (current.total + adding > caps.transactionsPerPortfolio) throw capReached('transactions_per_portfolio', caps.transactionsPerPortfolio, current.total);
  if (current.splits + addingSplits > caps.splitsPerPortfolio) throw capReached('splits_per_portfolio', caps.splitsPerPortfolio, current.splits);
}

export const splitsIn = (items: ReadonlyArray<{ type: TransactionType }>): number => items.reduce((n, tx) => n + (tx.type === 'split' ? 1 : 0), 0);
