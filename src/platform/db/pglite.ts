// The embedded default: PostgreSQL compiled to WASM, in process, stored in DATA_DIR
// (or in memory). One connection, so statements queue; transactions are exclusive.
import { mkdirSync } from 'node:fs';
import { PGlite, types } from '@electric-sql/pglite';
import type { Logger } from '../logger.ts';
import type { Database, Queryable, QueryResult } from './database.ts';
import { timed } from './timed.ts';

interface PgliteLike {
  query<R>(text: string, params?: unknown[]): Promise<{ rows: R[]; affectedRows?: number }>;
  exec(sql: string): Promise<unknown>;
}

function adapt(conn: PgliteLike): Queryable {
  return {
    async query<R extends object>(text: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
      const result = await conn.query<R>(text, [...params]);
      return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
    },
    async exec(sql: string): Promise<void> {
      await conn.exec(sql);
    },
  };
}

export async function openPglite(dataDir: string, logger: Logger, slowQueryMs: number): Promise<Database> {
  const inMemory = dataDir === 'memory';
  if (!inMemory) mkdirSync(dataDir, { recursive: true });
  // int8 (counts) as numbers on both databases; NUMERIC stays a string (money is never a float).
  const pglite = await PGlite.create(inMemory ? undefined : dataDir, {
    parsers: { [types.INT8]: (value: string) => Number.parseInt(value, 10) },
  });
  const root = timed(adapt(pglite), logger, slowQueryMs);
  return {
    kind: 'pglite',
    query: root.query,
    exec: root.exec,
    transaction: (fn) => pglite.transaction((tx) => fn(timed(adapt(tx), logger, slowQueryMs))),
    poolStats: () => ({ total: 1, idle: 1, waiting: 0 }),
    close: () => pglite.close(),
  };
}
