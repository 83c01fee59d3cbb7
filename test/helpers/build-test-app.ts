// Builds the real app on a real database for one test file: PGlite in memory by
// default; PostgreSQL (a schema of its own) and Redis (a key prefix of its own) when
// TEST_DATABASE_URL / TEST_REDIS_URL are set, so parallel files never see each other.
import { randomBytes } from 'node:crypto';
import { after, before } from 'node:test';
import { buildApp } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import type { Clock } from '../../src/platform/clock.ts';
import type { Database } from '../../src/platform/db/index.ts';
import { migrate } from '../../src/platform/db/migrations.ts';
import type { App } from '../../src/platform/http/types.ts';
import type { JobQueue } from '../../src/platform/jobs/index.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { createPubSub, type PubSub } from '../../src/platform/pubsub.ts';
import type { Redis } from '../../src/platform/redis.ts';
import { openRuntime } from '../../src/runtime.ts';
import { LogCapture } from './logs.ts';
import { migratedSnapshot } from './pglite-snapshot.ts';

export const usingPostgres = process.env.TEST_DATABASE_URL !== undefined && process.env.TEST_DATABASE_URL !== '';
export const usingRedis = process.env.TEST_REDIS_URL !== undefined && process.env.TEST_REDIS_URL !== '';

export interface TestAppOptions {
  /** Extra environment for loadConfig (strings, as in a real environment). */
  env?: Record<string, string>;
  /** Share another test app's database schema and Redis prefix (two instances, one system). */
  shareWith?: TestApp;
  clock?: Clock;
  /** Runs after the app is built and before `ready()`: register test-only routes or hooks. */
  beforeReady?: (app: App, runtime: { db: Database; jobs: JobQueue }) => void | Promise<void>;
  /** Work the job queues in this app (default: enqueue only, so idle test apps do not poll). */
  worker?: boolean;
  /** On PGlite: start from an empty cluster, not the migrated snapshot, so this app runs every migration. */
  unmigrated?: boolean;
  /** Build the OpenAPI documents while starting, as `serve` does. */
  buildDocs?: boolean;
}

export interface TestApp {
  app: App;
  db: Database;
  jobs: JobQueue;
  /** The app's event bus (publish market ticks, listen to alerts.fired). */
  pubsub: PubSub;
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
    // The default provider is a real one (internet); tests use the simulation or a local
    // fake provider server (test/helpers/fake-providers.ts), chosen explicitly.
    MARKET_DATA_PROVIDER: 'simulated',
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
    // No cron schedules in worker test apps (their passes and runs would slow every file);
    // schedule tests turn them on, or enqueue the scheduled jobs themselves.
    SCHEDULES_ENABLED: 'false',
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
  // On PostgreSQL the job queue lives in the app's own schema, so parallel files never share jobs.
  // On PGlite in memory the database starts from a migrated snapshot (initdb and the
  // migrations once per set of migrations, not once per app); migrate() below then finds
  // nothing to apply.
  const runtime = await openRuntime(config, logger, {
    ...(usingPostgres ? { schema, jobsSchema: schema } : {}),
    ...(!usingPostgres && config.dataDir === 'memory' && options.unmigrated !== true ? { snapshot: await migratedSnapshot() } : {}),
    redisPrefix,
  });
  await migrate(runtime.db, logger);
  const pubsub = createPubSub({ logger, redis: runtime.redis });
  const app = await buildApp({
    pubsub,
    config,
    logger,
    db: runtime.db,
    jobs: runtime.jobs,
    worker: options.worker === true,
    buildDocs: options.buildDocs === true,
    ...(runtime.redis === undefined ? {} : { redis: runtime.redis }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  if (options.beforeReady !== undefined) await options.beforeReady(app, { db: runtime.db, jobs: runtime.jobs });
  await app.ready();
  const owner = options.shareWith === undefined;
  return {
    app,
    db: runtime.db,
    jobs: runtime.jobs,
    pubsub,
    redis: runtime.redis,
    config,
    logs,
    schema,
    redisPrefix,
    async close() {
      await app.close();
      await pubsub.close();
      if (owner && usingPostgres) await runtime.db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await runtime.close();
    },
  };
}

/** Why a test of two instances sharing one PostgreSQL and one Redis cannot run here, or false when it can. */
export const twoInstancesSkip: string | false =
  !usingRedis || !usingPostgres ? 'needs TEST_REDIS_URL and TEST_DATABASE_URL (two instances share one PostgreSQL and one Redis)' : false;

/**
 * Two apps on one database schema and one Redis prefix, built before the enclosing
 * describe block's tests and closed after them; nothing is built when twoInstancesSkip
 * says they cannot run (the tests then skip with it). Read them inside the tests.
 */
export function twoInstances(options: Omit<TestAppOptions, 'shareWith'> = {}): { readonly a: TestApp; readonly b: TestApp } {
  const pair: { a?: TestApp; b?: TestApp } = {};
  before(async () => {
    if (twoInstancesSkip !== false) return;
    pair.a = await buildTestApp(options);
    pair.b = await buildTestApp({ ...options, shareWith: pair.a });
  });
  after(async () => {
    await pair.b?.close();
    await pair.a?.close();
  });
  const built = (app: TestApp | undefined) => {
    if (app === undefined) throw new Error('the two instances are built in before(); read them inside a test');
    return app;
  };
  return {
    get a() {
      return built(pair.a);
    },
    get b() {
      return built(pair.b);
    },
  };
}
