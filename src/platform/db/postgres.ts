// PostgreSQL through a `pg` pool with bounded size and connection and statement
// timeouts (S-015).
import pg from 'pg';
import type { Logger } from '../logger.ts';
import type { Database, Queryable, QueryResult } from './database.ts';
import { timed } from './timed.ts';

export interface PostgresOptions {
  url: string;
  poolMin: number;
  poolMax: number;
  connectTimeoutMs: number;
  statementTimeoutMs: number;
  slowQueryMs: number;
  /** A schema to work in (tests give each file its own); created if missing. */
  schema?: string;
}

// int8 (counts) as numbers, as on PGlite; NUMERIC stays a string (money is never a float).
const INT8_OID = 20;
const parseInt8 = (value: string): number => Number.parseInt(value, 10);
const typeParsers = {
  getTypeParser: ((oid: number) =>
    oid === INT8_OID ? parseInt8 : (pg.types.getTypeParser(oid, 'text') as (value: string) => unknown)) as typeof pg.types.getTypeParser,
};

function adapt(client: pg.Pool | pg.PoolClient): Queryable {
  return {
    async query<R extends object>(text: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
      const result = await client.query<R>({ text, values: [...params], types: typeParsers });
      return { rows: result.rows, rowCount: result.rowCount ?? result.rows.length };
    },
    async exec(sql: string): Promise<void> {
      await client.query({ text: sql, types: typeParsers });
    },
  };
}

export async function openPostgres(options: PostgresOptions, logger: Logger): Promise<Database> {
  if (options.schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(options.schema)) {
    throw new Error(`invalid schema name ${options.schema}`);
  }
  const pool = new pg.Pool({
    connectionString: options.url,
    min: options.poolMin,
    max: options.poolMax,
    connectionTimeoutMillis: options.connectTimeoutMs,
    statement_timeout: options.statementTimeoutMs,
    idleTimeoutMillis: 30_000,
    application_name: 'financehub',
    ...(options.schema === undefined ? {} : { options: `-c search_path=${options.schema}` }),
  });
  // An idle client that loses its connection must not crash the process.
  pool.on('error', (err) => logger.error({ err, event: 'db_pool_error' }, 'idle database client failed'));
  if (options.schema !== undefined) {
    await pool.query(`CREATE SCHEMA IF NOT EXISTS ${options.schema}`);
  }
  const root = timed(adapt(pool), logger, options.slowQueryMs);
  return {
    kind: 'postgres',
    query: root.query,
    exec: root.exec,
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(timed(adapt(client), logger, options.slowQueryMs));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch((rollbackErr: unknown) =>
          logger.error({ err: rollbackErr, event: 'db_rollback_failed' }, 'rollback failed'),
        );
        throw err;
      } finally {
        client.release();
      }
    },
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    close: () => pool.end(),
  };
}
