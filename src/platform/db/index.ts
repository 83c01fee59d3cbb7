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

/** PostgreSQL when DATABASE_URL is set, PGlite otherwise. */
export function openDatabase(config: DbConfig, logger: Logger, schema?: string): Promise<Database> {
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
  return openPglite(config.dataDir, logger, config.slowQueryMs);
}
