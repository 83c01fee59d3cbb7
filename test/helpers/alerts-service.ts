// The alerts service alone on a real database, for tests that drive its tick path
// directly (the promise of each tick, the in-memory index) rather than through the bus:
// the real repository, job queue (producer: delivery jobs are enqueued, not worked) and
// migrations, on PGlite in memory or, with TEST_DATABASE_URL, on a schema of the shared
// PostgreSQL. Two instances share one system with `shareWith`, each with its own
// in-process event bus (so neither hears the other's change messages).
import { randomBytes, randomUUID } from 'node:crypto';
import { loadConfig } from '../../src/config.ts';
import { createAlertsRepository } from '../../src/modules/alerts/alerts.repository.ts';
import { createAlertsService, DELIVER_QUEUE, type AlertsService, type AlertsServiceDeps } from '../../src/modules/alerts/alerts.service.ts';
import type { Clock } from '../../src/platform/clock.ts';
import { systemClock } from '../../src/platform/clock.ts';
import type { Database } from '../../src/platform/db/index.ts';
import { migrate } from '../../src/platform/db/migrations.ts';
import type { JobQueue } from '../../src/platform/jobs/index.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { createPubSub, type PubSub } from '../../src/platform/pubsub.ts';
import { openRuntime } from '../../src/runtime.ts';
import { testEnv, usingPostgres } from './build-test-app.ts';
import { LogCapture } from './logs.ts';

export interface AlertsInstance {
  service: AlertsService;
  db: Database;
  jobs: JobQueue;
  logs: LogCapture;
  /** This instance's own in-process event bus. */
  pubsub: PubSub;
  schema: string;
  /** A user row to own alerts (inserted by the first instance). */
  userId: string;
  close(): Promise<void>;
}

export async function openAlertsInstance(
  options: {
    shareWith?: AlertsInstance;
    clock?: Clock;
    writer?: AlertsServiceDeps['writer'];
    env?: Record<string, string>;
    /** Wraps the real repository (to count or observe its calls). */
    wrapRepo?: (repo: AlertsServiceDeps['repo']) => AlertsServiceDeps['repo'];
  } = {},
): Promise<AlertsInstance> {
  const config = loadConfig(testEnv(options.env));
  const logs = new LogCapture();
  const logger = createLogger('info', logs);
  const schema = options.shareWith?.schema ?? `t_${randomBytes(6).toString('hex')}`;
  const runtime = await openRuntime(config, logger, usingPostgres ? { schema, jobsSchema: schema } : {});
  const pubsub = createPubSub({ logger });
  await migrate(runtime.db, logger);
  runtime.jobs.define({ name: DELIVER_QUEUE, handler: () => Promise.resolve() });
  await runtime.jobs.start('producer');
  const userId = options.shareWith?.userId ?? randomUUID();
  if (options.shareWith === undefined) {
    await runtime.db.query(`INSERT INTO users (id, email, password_hash, role, tier, created_at, updated_at) VALUES ($1, $2, 'x', 'user', 'pro', now(), now())`, [
      userId,
      `alerts-${userId}@example.test`,
    ]);
  }
  const service = createAlertsService({
    db: runtime.db,
    repo: (options.wrapRepo ?? ((repo) => repo))(createAlertsRepository(runtime.db)),
    jobs: runtime.jobs,
    pubsub,
    clock: options.clock ?? systemClock,
    logger,
    tiers: config.tiers,
    webhooks: { allowHttp: false, allowPrivate: false, timeoutMs: 1000, retries: 0 },
    ...(options.writer === undefined ? {} : { writer: options.writer }),
  });
  await service.start({ quoteEvent: 'test.quote', barsEvent: 'test.bars' });
  const owner = options.shareWith === undefined;
  return {
    service,
    db: runtime.db,
    jobs: runtime.jobs,
    logs,
    pubsub,
    schema,
    userId,
    async close() {
      await service.stop();
      await pubsub.close();
      if (owner && usingPostgres) await runtime.db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await runtime.close();
    },
  };
}

/** Stored events of an alert, oldest first. */
export async function storedEvents(db: Database, alertId: string): Promise<{ id: string; crossing_key: string; value: string }[]> {
  const { rows } = await db.query<{ id: string; crossing_key: string; value: string }>(
    'SELECT id, crossing_key, value::text AS value FROM alert_events WHERE alert_id = $1 ORDER BY fired_at, crossing_key',
    [alertId],
  );
  return rows;
}

/** Delivery jobs enqueued for an event (pg-boss keeps the payload in `data.payload`). */
export async function deliveryJobs(db: Database, jobs: JobQueue, eventId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${jobs.schema}.job WHERE name = $1 AND data->'payload'->>'event_id' = $2`, [
    DELIVER_QUEUE,
    eventId,
  ]);
  return rows[0]?.n ?? 0;
}
