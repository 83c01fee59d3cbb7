// A real worker process for the kill-a-worker test (FAIL-021): opens the database from
// its environment (DATA_DIR for PGlite, DATABASE_URL + CHILD_SCHEMA for PostgreSQL),
// migrates, defines one job whose effect is keyed by a natural key (a unique constraint
// and ON CONFLICT DO NOTHING: running it twice leaves one row), and works the queue.
// With CHILD_ENQUEUE=<key> it enqueues that job first; with CHILD_HANG_AFTER_EFFECT=1
// the handler writes its effect and then never completes (so it can be killed between
// its effect and its completion). Lines on stdout: READY, RAN <key> <attempt>,
// COMPLETED <key>, then REPORT <json> once the job has completed (and it exits).
import { loadConfig } from '../../src/config.ts';
import { migrate } from '../../src/platform/db/migrations.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { openRuntime } from '../../src/runtime.ts';

const out = (line: string) => process.stdout.write(`${line}\n`);
const config = loadConfig(process.env);
const schema = process.env.CHILD_SCHEMA;
const logger = createLogger('warn');
const runtime = await openRuntime(config, logger, schema === undefined ? {} : { schema, jobsSchema: schema });
await migrate(runtime.db, logger);
const { db, jobs } = runtime;
await db.exec('CREATE TABLE IF NOT EXISTS test_job_effects (key text PRIMARY KEY, runs int NOT NULL DEFAULT 1)');
const hang = process.env.CHILD_HANG_AFTER_EFFECT === '1';
let finish: (key: string) => void = () => undefined;
const completed = new Promise<string>((resolve) => (finish = resolve));

jobs.define<{ key: string }>({
  name: 'test.effect',
  retryLimit: 3,
  retryDelaySeconds: 1,
  async handler(payload, context) {
    out(`RAN ${payload.key} ${context.attempt}`);
    // The effect, idempotent by its natural key.
    await db.query('INSERT INTO test_job_effects (key) VALUES ($1) ON CONFLICT (key) DO NOTHING', [payload.key]);
    out(`EFFECT ${payload.key}`);
    if (hang) await new Promise(() => undefined);
  },
});
jobs.setEvents({ completed: () => setImmediate(() => finish('done')) });
await jobs.start('worker');
const key = process.env.CHILD_ENQUEUE;
if (key !== undefined) await db.transaction((tx) => jobs.enqueue(tx, 'test.effect', { key }));
out('READY');
await completed;
out('COMPLETED');
// The handler has returned; pg-boss marks the job completed right after.
for (let i = 0; i < 100; i += 1) {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${jobs.schema}.job WHERE name = 'test.effect' AND state = 'completed'`);
  if ((rows[0]?.n ?? 0) > 0) break;
  await new Promise((resolve) => setTimeout(resolve, 100));
}
const effects = await db.query<{ key: string }>('SELECT key FROM test_job_effects');
const states = await db.query<{ state: string; retry_count: number }>(`SELECT state::text AS state, retry_count FROM ${jobs.schema}.job WHERE name = 'test.effect'`);
out(`REPORT ${JSON.stringify({ effects: effects.rows.map((r) => r.key), jobs: states.rows })}`);
await runtime.close();
process.exit(0);
