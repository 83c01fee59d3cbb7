// The long-lived resources a process needs, opened in one place and closed in reverse.
import type { Config } from './config.ts';
import { openDatabase, type Database, type OpenDatabaseOptions } from './platform/db/index.ts';
import { createJobQueue, type JobQueue } from './platform/jobs/index.ts';
import type { Logger } from './platform/logger.ts';
import { createRedis, type Redis } from './platform/redis.ts';

export interface Runtime {
  db: Database;
  redis?: Redis;
  /** The durable job queue on the same database; started by the app (or the CLI) that uses it. */
  jobs: JobQueue;
  close(): Promise<void>;
}

export interface RuntimeOptions extends OpenDatabaseOptions {
  redisPrefix?: string;
  jobsSchema?: string;
}

export async function openRuntime(config: Config, logger: Logger, options: RuntimeOptions = {}): Promise<Runtime> {
  const db = await openDatabase(config, logger, {
    ...(options.schema === undefined ? {} : { schema: options.schema }),
    ...(options.snapshot === undefined ? {} : { snapshot: options.snapshot }),
  });
  const redis = config.redisUrl === undefined ? undefined : createRedis(config.redisUrl, logger, options.redisPrefix);
  const jobs = createJobQueue({ db, logger, config: config.jobs, ...(options.jobsSchema === undefined ? {} : { schema: options.jobsSchema }) });
  return {
    db,
    ...(redis === undefined ? {} : { redis }),
    jobs,
    async close() {
      // The queue first: its workers and pollers use the database.
      await jobs.stop();
      if (redis !== undefined) redis.disconnect();
      await db.close();
    },
  };
}
