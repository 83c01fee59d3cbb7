// PostgreSQL through a `pg` pool with bounded size and connection and statement
// timeouts (S-015). Every query is also bounded on the client side (a paused or
// unreachable server cannot hang a request), every client has an 'error' listener
// whether idle or checked out (a terminated backend cannot crash the process), and a
// database that cannot answer becomes a 503 with Retry-After, never a 500 (FAIL-023).
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFromStdin } from 'pg-copy-streams';
import { AppError } from '../errors.ts';
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

/** The client-side bound on every query: the server's statement timeout plus this margin. */
export const QUERY_TIMEOUT_MARGIN_MS = 1000;
/** What a 503 for an unreachable or saturated database tells the client to wait, seconds. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

// SQLSTATEs that mean "the database cannot serve this now", not "this statement is wrong":
// connection exceptions (class 08), the server shutting down or starting (57P01-57P03),
// too many connections (53300) and a statement cancelled by statement_timeout (57014).
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '57014']);
const UNAVAILABLE_SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
// pg and pg-pool report a lost connection, a client-side query timeout and a pool that
// found no free client within connectionTimeoutMillis only by message.
const UNAVAILABLE_MESSAGES = [
  'Connection terminated',
  'Query read timeout',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
];

/** Whether `err` says the database is unreachable, saturated or too slow (not a bad statement). */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08') || UNAVAILABLE_SOCKET_CODES.has(code))) return true;
  return UNAVAILABLE_MESSAGES.some((m) => err.message.startsWith(m));
}

/** A connection error for logs: pg-pool attaches the client (and its settings) to it, which has no place there. */
function forLog(err: Error): { type: string; message: string; code?: string } {
  const code = (err as { code?: unknown }).code;
  return { type: err.name, message: err.message, ...(typeof code === 'string' ? { code } : {}) };
}

/** The 503 a request gets when the database cannot serve it (problem JSON with Retry-After). */
function unavailable(cause: unknown): AppError {
  return new AppError(503, 'database_unavailable', 'Service unavailable', {
    detail: 'The database is unavailable or overloaded. Try again shortly.',
    headers: { 'retry-after': String(DATABASE_RETRY_AFTER_SECONDS) },
    cause,
  });
}

/** Database-unavailable errors become that 503; any other error passes unchanged. */
function mapError(err: unknown): unknown {
  return isDatabaseUnavailable(err) ? unavailable(err) : err;
}

function adapt(client: pg.Pool | pg.PoolClient): Queryable {
  const copyFrom =
    'release' in client
      ? async (sql: string, source: AsyncIterable<string>): Promise<void> => {
          try {
            await pipeline(Readable.from(source), client.query(copyFromStdin(sql)));
          } catch (err) {
            throw mapError(err);
          }
        }
      : undefined;
  return {
    ...(copyFrom === undefined ? {} : { copyFrom }),
    async query<R extends object>(text: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
      try {
        const result = await client.query<R>({ text, values: [...params], types: typeParsers });
        return { rows: result.rows, rowCount: result.rowCount ?? result.rows.length };
      } catch (err) {
        throw mapError(err);
      }
    },
    async exec(sql: string): Promise<void> {
      try {
        await client.query({ text: sql, types: typeParsers });
      } catch (err) {
        throw mapError(err);
      }
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
    // The server enforces statement_timeout only while it runs; a paused or partitioned
    // server would leave the query waiting for ever. The client gives up slightly later.
    query_timeout: options.statementTimeoutMs + QUERY_TIMEOUT_MARGIN_MS,
    idleTimeoutMillis: 30_000,
    // Operators (and the fault tests) find this process's backends in pg_stat_activity
    // by it; an application_name in DATABASE_URL takes precedence.
    application_name: options.schema === undefined ? 'financehub' : `financehub:${options.schema}`,
    ...(options.schema === undefined ? {} : { options: `-c search_path=${options.schema}` }),
  });
  // An idle client that loses its connection must not crash the process.
  pool.on('error', (err) => logger.error({ err: forLog(err), event: 'db_pool_error' }, 'idle database client failed'));
  // Every client also gets a listener of its own for its whole life: pg-pool listens only
  // while a client is idle, and a connection can fail in the moment between the pool
  // handing a client out and its new holder listening (a termination read in the same
  // chunk as the connection's first ReadyForQuery). The holder's next query then fails
  // ("not queryable") and the client is discarded.
  pool.on('connect', (client) => {
    client.on('error', (err: Error) => logger.debug({ err: forLog(err), event: 'db_connection_error' }, 'database connection failed'));
  });
  if (options.schema !== undefined) {
    await pool.query(`CREATE SCHEMA IF NOT EXISTS ${options.schema}`);
  }
  const root = timed(adapt(pool), logger, options.slowQueryMs);
  return {
    kind: 'postgres',
    native: { kind: 'postgres', pool },
    query: root.query,
    exec: root.exec,
    async transaction(fn) {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        throw mapError(err);
      }
      // pg-pool listens for 'error' only on idle clients; a checked-out client whose
      // backend is terminated (or whose server restarts) would otherwise emit an
      // unhandled 'error' and take the process down. The failing query rejects on its own.
      let lost: Error | undefined;
      const onError = (err: Error) => {
        lost = err;
        logger.error({ err: forLog(err), event: 'db_client_error' }, 'database connection lost inside a transaction');
      };
      client.on('error', onError);
      let discard = false;
      try {
        const tx = timed(adapt(client), logger, options.slowQueryMs);
        await tx.exec('BEGIN');
        const result = await fn(tx);
        await tx.exec('COMMIT');
        return result;
      } catch (err) {
        if (lost !== undefined || isDatabaseUnavailable(err) || isDatabaseUnavailable((err as { cause?: unknown } | undefined)?.cause)) {
          // The connection is gone or stuck: the server rolls back when it closes, and a
          // ROLLBACK would only wait behind it. The client is destroyed, not reused.
          discard = true;
        } else {
          await client.query('ROLLBACK').catch((rollbackErr: unknown) => {
            discard = true;
            logger.error({ err: rollbackErr instanceof Error ? forLog(rollbackErr) : rollbackErr, event: 'db_rollback_failed' }, 'rollback failed');
          });
        }
        throw lost === undefined ? err : unavailable(lost);
      } finally {
        client.off('error', onError);
        // A truthy argument makes the pool close this client and open a fresh one later.
        client.release(discard);
      }
    },
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    close: () => pool.end(),
  };
}
