import type { Config } from '../../config.ts';
import type { Logger } from '../logger.ts';
import type { Database } from './database.ts';
import { openPglite } from './pglite.ts';
import { openPostgres } from './postgres.ts';

export type { Database, Queryable, QueryResult, PoolStats } from './database.ts';

type DbConfig = Pick<
  Config,
  | 'databaseUrl'
  | 'dataDir'
  | 'databasePoolMin'
  | 'databasePoolMax'
  | 'databaseConnectTimeoutMs'
  | 'databaseStatementTimeoutMs'
  | 'slowQueryMs'
>;

export interface OpenDatabaseOptions {
  /** PostgreSQL only: the schema every statement runs in (created if missing). */
  schema?: string;
  /** PGlite in memory only: start from this data directory (a `dumpDataDir` tarball) instead of an empty cluster. */
  snapshot?: Blob;
}

/** PostgreSQL when DATABASE_URL is set, PGlite otherwise. */
export function openDatabase(config: DbConfig, logger: Logger, options: OpenDatabaseOptions = {}): Promise<Database> {
  const { schema, snapshot } = options;
  if (config.databaseUrl !== undefined) {
    return openPostgres(
      {
        url: config.databaseUrl,
        poolMin: config.databasePoolMin,
        poolMax: config.databasePoolMax,
        connectTimeoutMs: config.databaseConnectTimeoutMs,
        statementTimeoutMs: config.databaseStatementTimeoutMs,
        slowQueryMs: config.slowQueryMs,
        ...(schema === undefined ? {} : { schema }),
      },
      logger,
    );
  }
  return openPglite(config.dataDir, logger, config.slowQueryMs, snapshot);
}
