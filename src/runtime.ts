// The long-lived resources a process needs, opened in one place and closed in reverse.
import type { Config } from './config.ts';
import { openDatabase, type Database } from './platform/db/index.ts';
import type { Logger } from './platform/logger.ts';
import { createRedis, type Redis } from './platform/redis.ts';

export interface Runtime {
  db: Database;
  redis?: Redis;
  close(): Promise<void>;
}

export async function openRuntime(config: Config, logger: Logger, options: { schema?: string; redisPrefix?: string } = {}): Promise<Runtime> {
  const db = await openDatabase(config, logger, options.schema);
  const redis = config.redisUrl === undefined ? undefined : createRedis(config.redisUrl, logger, options.redisPrefix);
  return {
    db,
    ...(redis === undefined ? {} : { redis }),
    async close() {
      if (redis !== undefined) redis.disconnect();
      await db.close();
    },
  };
}
