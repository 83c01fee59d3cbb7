// One small interface over the two databases FinanceHub runs on: PGlite in process
// (the embedded default) and PostgreSQL through a `pg` pool. The same SQL runs on both.
import type { PGlite } from '@electric-sql/pglite';
import type pg from 'pg';

export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

export interface Queryable {
  /** A parameterised statement; values are always bound, never concatenated. */
  query: <R extends object = Record<string, unknown>>(text: string, params?: readonly unknown[]) => Promise<QueryResult<R>>;
  /** Several statements without parameters (migrations). */
  exec: (sql: string) => Promise<void>;
  /**
   * `COPY … FROM STDIN` fed from `source` (PostgreSQL only: undefined on PGlite). The
   * stream is consumed with back-pressure, so memory stays bounded whatever its length.
   */
  copyFrom?: (sql: string, source: AsyncIterable<string>) => Promise<void>;
}

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}

/**
 * The driver underneath, for the job queue only: pg-boss runs its own multi-statement
 * SQL on the same database (PGlite has one connection, so it must share the instance).
 */
export type NativeDriver = { kind: 'pglite'; pglite: PGlite } | { kind: 'postgres'; pool: pg.Pool };

export interface Database extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  readonly native: NativeDriver;
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
