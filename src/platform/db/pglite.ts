// The embedded default: PostgreSQL compiled to WASM, in process, stored in DATA_DIR
// (or in memory). One connection, so statements queue; transactions are exclusive.
// A data directory is locked for as long as it is open (data-dir-lock.ts): a second
// process opening it would silently lose writes.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { PGlite, types } from '@electric-sql/pglite';
import type { Logger } from '../logger.ts';
import { lockDataDir } from './data-dir-lock.ts';
import type { Database, Queryable, QueryResult } from './database.ts';
import { timed } from './timed.ts';

interface PgliteLike {
  query<R>(text: string, params?: unknown[]): Promise<{ rows: R[]; affectedRows?: number }>;
  exec(sql: string): Promise<unknown>;
}

/**
 * PGlite runs each statement on the main thread and settles its promise without a turn of
 * the event loop, so a chain of statements (a paged read, a batched write) would hold the
 * loop for all of them together. After each statement the caller resumes on the next turn
 * (setImmediate): the loop is never held longer than the longest single statement plus
 * the caller's own work (FAIL-023).
 */
function adapt(conn: PgliteLike): Queryable {
  return {
    async query<R extends object>(text: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
      const result = await conn.query<R>(text, [...params]);
      await nextTurn();
      return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
    },
    async exec(sql: string): Promise<void> {
      await conn.exec(sql);
      await nextTurn();
    },
  };
}

/**
 * Settings of PGlite's one session, made when it opens. `wal_init_zero = off`: PostgreSQL
 * fills each new 16 MB WAL segment with zeroes before using it, so that a file system
 * allocates the space up front; PGlite's file systems (memory, or files written through
 * Emscripten) gain nothing from it, and the statement that crossed into a new segment held
 * the event loop for it: every 12,000–20,000 imported transactions, one 500-row INSERT took
 * 250–425 ms instead of 40. Off, only the segment's last byte is written; the WAL's contents
 * and its checks (each record's CRC) are the same.
 */
const SESSION_SETTINGS = 'SET wal_init_zero = off';

/**
 * Opens DATA_DIR (or memory). A new cluster is made by initdb, about a second of CPU; an
 * in-memory database can start from `snapshot` instead (a `dumpDataDir` tarball), which
 * loads in a fifth of that.
 */
export async function openPglite(dataDir: string, logger: Logger, slowQueryMs: number, snapshot?: Blob): Promise<Database> {
  const inMemory = dataDir === 'memory';
  if (snapshot !== undefined && !inMemory) throw new Error('a PGlite snapshot can only be loaded into an in-memory database');
  const lock = inMemory ? undefined : lockDataDir(dataDir);
  if (lock?.replaced !== undefined) {
    logger.warn({ event: 'data_dir_lock_stale', dataDir, stalePid: lock.replaced.pid }, `replaced a stale lock on ${dataDir} left by process ${lock.replaced.pid}, which no longer runs`);
  }
  let pglite: PGlite;
  try {
    // int8 (counts) as numbers on both databases; NUMERIC stays a string (money is never a float).
    pglite = await PGlite.create(inMemory ? undefined : dataDir, {
      parsers: { [types.INT8]: (value: string) => Number.parseInt(value, 10) },
      ...(snapshot === undefined ? {} : { loadDataDir: snapshot }),
    });
    await pglite.exec(SESSION_SETTINGS);
  } catch (err) {
    lock?.release();
    throw err;
  }
  const root = timed(adapt(pglite), logger, slowQueryMs);
  return {
    kind: 'pglite',
    native: { kind: 'pglite', pglite },
    query: root.query,
    exec: root.exec,
    transaction: (fn) => pglite.transaction((tx) => fn(timed(adapt(tx), logger, slowQueryMs))),
    poolStats: () => ({ total: 1, idle: 1, waiting: 0 }),
    close: async () => {
      try {
        await pglite.close();
      } finally {
        lock?.release();
      }
    },
  };
}
