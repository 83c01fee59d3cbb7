// One small interface over the two databases FinanceHub runs on: PGlite in process
// (the embedded default) and PostgreSQL through a `pg` pool. The same SQL runs on both.

export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

export interface Queryable {
  /** A parameterised statement; values are always bound, never concatenated. */
  query: <R extends object = Record<string, unknown>>(text: string, params?: readonly unknown[]) => Promise<QueryResult<R>>;
  /** Several statements without parameters (migrations). */
  exec: (sql: string) => Promise<void>;
}

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}

export interface Database extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction: <T>(fn: (tx: Queryable) => Promise<T>) => Promise<T>;
  poolStats: () => PoolStats;
  close: () => Promise<void>;
}

/** Statement text for logs: whitespace collapsed and bounded. Values are never in it. */
export function normaliseStatement(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 500 ? `${flat.slice(0, 500)}…` : flat;
}
