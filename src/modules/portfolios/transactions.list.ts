// Listing a portfolio's transactions: the sort and filter enums, and the opaque keyset
// cursor (FAIL-016). The request's words never reach SQL: the sort is an enum the
// repository maps to a fixed column expression, filters become bound parameters, and a
// cursor is decoded and checked member by member before its values are bound.
import { decodeCursor, encodeCursor, invalidCursor, isSerialId, isTimestampKey } from '../../platform/http/cursor.ts';
import { SYMBOL_PATTERN } from '../market/symbols.ts';
import { TRANSACTION_TYPES, type Transaction, type TransactionType } from './portfolios.types.ts';

export const TRANSACTION_SORTS = ['executed_at', 'created_at', 'symbol', 'type'] as const;
export type TransactionSort = (typeof TRANSACTION_SORTS)[number];
export type TransactionOrder = 'asc' | 'desc';

/** Filters and position, all validated; the repository binds every value. */
export interface TransactionPageQuery {
  userId: string;
  portfolioId: string;
  sort: TransactionSort;
  order: TransactionOrder;
  limit: number;
  type?: TransactionType | undefined;
  symbol?: string | undefined;
  /** executed_at ≥ from. */
  from?: Date | undefined;
  /** executed_at < toExclusive. */
  toExclusive?: Date | undefined;
  /** Keyset position: the sort key and seq of the last row of the previous page. */
  after?: { key: string; seq: string } | undefined;
}

const SYMBOL_RE = new RegExp(SYMBOL_PATTERN);

/** What a cursor's key must look like for each sort (the key text is bound as a parameter). */
const KEY_RULES: Record<TransactionSort, (key: string) => boolean> = {
  executed_at: isTimestampKey,
  created_at: isTimestampKey,
  // Transactions without a symbol (deposits, fees …) sort under the empty string.
  symbol: (k) => k === '' || SYMBOL_RE.test(k),
  type: (k) => (TRANSACTION_TYPES as readonly string[]).includes(k),
};

const KEY_OF: Record<TransactionSort, (tx: Transaction) => string> = {
  executed_at: (tx) => tx.executedAt.toISOString(),
  created_at: (tx) => tx.createdAt.toISOString(),
  symbol: (tx) => tx.symbol ?? '',
  type: (tx) => tx.type,
};

export function decodeTransactionCursor(cursor: string, sort: TransactionSort, order: TransactionOrder): { key: string; seq: string } {
  const c = decodeCursor(cursor, { sort, order, key: KEY_RULES[sort], id: isSerialId });
  if (c.k === null) throw invalidCursor();
  return { key: c.k, seq: c.id };
}

export function transactionCursor(last: Transaction, sort: TransactionSort, order: TransactionOrder): string {
  return encodeCursor({ s: sort, o: order, k: KEY_OF[sort](last), id: String(last.seq) });
}

/** A date (YYYY-MM-DD) or an ISO timestamp; a date `to` covers that whole UTC day. */
export function boundOf(value: string, edge: 'from' | 'to'): Date {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const start = Date.parse(`${value}T00:00:00.000Z`);
    return new Date(edge === 'from' ? start : start + 86_400_000);
  }
  const at = new Date(value);
  return edge === 'from' ? at : new Date(at.getTime() + 1);
}
