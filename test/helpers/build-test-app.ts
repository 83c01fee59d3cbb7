// Builds the real app on a real database for one test file: PGlite in memory by
// default; PostgreSQL (a schema of its own) and Redis (a key prefix of its own) when
// TEST_DATABASE_URL / TEST_REDIS_URL are set, so parallel files never see each other.
import { randomBytes } from 'node:crypto';
import { buildApp } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import type { Clock } from '../../src/platform/clock.ts';
import type { Database } from '../../src/platform/db/index.ts';
import { migrate } from '../../src/platform/db/migrations.ts';
import type { App } from '../../src/platform/http/types.ts';
import { createLogger } from '../../src/platform/logger.ts';
import type { Redis } from '../../src/platform/redis.ts';
import { openRuntime } from '../../src/runtime.ts';
import { LogCapture } from './logs.ts';

export const usingPostgres = process.env.TEST_DATABASE_URL !== undefined && process.env.TEST_DATABASE_URL !== '';
export const usingRedis = process.env.TEST_REDIS_URL !== undefined && process.env.TEST_REDIS_URL !== '';

export interface TestAppOptions {
  /** Extra environment for loadConfig (strings, as in a real environment). */
  env?: Record<string, string>;
  /** Share another test app's database schema and Redis prefix (two instances, one system). */
  shareWith?: TestApp;
  clock?: Clock;
  /** Runs after the app is built and before `ready()`: register test-only routes or hooks. */
  beforeReady?: (app: App) => void | Promise<void>;
}

export interface TestApp {
  app: App;
  db: Database;
  redis: Redis | undefined;
  config: Config;
  logs: LogCapture;
  schema: string;
  redisPrefix: string;
  close(): Promise<void>;
}

export function testEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATA_DIR: 'memory',
    LOG_LEVEL: 'info',
    // Rate limits high enough that tests registering and logging in many users from
    // 127.0.0.1 are not throttled; rate-limit tests pass small ones (FAIL-014).
    RATE_LIMIT_PUBLIC: '100000/60',
    RATE_LIMIT_LOGIN: '100000/60',
    RATE_LIMIT_REGISTER: '100000/60',
    RATE_LIMIT_REFRESH_IP: '100000/60',
    RATE_LIMIT_REFRESH_SESSION: '100000/60',
    // Building a second app in one file (PGlite start-up compiles WASM) blocks the event
    // loop for seconds, which would make the first app shed load; load-shedding tests
    // set their own threshold.
    SHED_EVENT_LOOP_DELAY_MS: '0',
    ...(usingPostgres ? { DATABASE_URL: process.env.TEST_DATABASE_URL ?? '', DATABASE_POOL_MIN: '0', DATABASE_POOL_MAX: '5' } : {}),
    ...(usingRedis ? { REDIS_URL: process.env.TEST_REDIS_URL ?? '' } : {}),
    ...extra,
  };
}

export async function buildTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const config = loadConfig(testEnv(options.env));
  const logs = new LogCapture();
  const logger = createLogger(config.logLevel, logs);
  const suffix = randomBytes(6).toString('hex');
  const schema = options.shareWith?.schema ?? `t_${suffix}`;
  const redisPrefix = options.shareWith?.redisPrefix ?? `t_${suffix}:`;
  const runtime = await openRuntime(config, logger, { ...(usingPostgres ? { schema } : {}), redisPrefix });
  await migrate(runtime.db, logger);
  const app = await buildApp({
    config,
    logger,
    db: runtime.db,
    ...(runtime.redis === undefined ? {} : { redis: runtime.redis }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  if (options.beforeReady !== undefined) await options.beforeReady(app);
  await app.ready();
  const owner = options.shareWith === undefined;
  return {
    app,
    db: runtime.db,
    redis: runtime.redis,
    config,
    logs,
    schema,
    redisPrefix,
    async close() {
      await app.close();
      if (owner && usingPostgres) await runtime.db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await runtime.close();
    },
  };
}
