// Job throughput: no-op jobs enqueued and worked by one process on PGlite (and on
// PostgreSQL when BENCH_DATABASE_URL or TEST_DATABASE_URL is set), end to end.
import { randomBytes } from 'node:crypto';
import type { BenchContext } from './lib/context.ts';
import { loadConfig } from '../src/config.ts';
import { migrate } from '../src/platform/db/migrations.ts';
import { createLogger } from '../src/platform/logger.ts';
import { openRuntime } from '../src/runtime.ts';

export const description = 'Durable jobs: no-op jobs per second, enqueued then worked by one worker process (pg-boss on PGlite and PostgreSQL).';

const JOBS = Number(process.env.BENCH_JOBS ?? 2000);

async function measure(ctx: BenchContext, label: string, env: Record<string, string>, schema?: string): Promise<void> {
  const config = loadConfig({ LOG_LEVEL: 'error', JOBS_POLL_INTERVAL_MS: '500', JOBS_CONCURRENCY: '8', ...env });
  const logger = createLogger('error');
  const runtime = await openRuntime(config, logger, schema === undefined ? {} : { schema, jobsSchema: schema });
  try {
    await migrate(runtime.db, logger);
    let done = 0;
    let finish: () => void = () => undefined;
    const all = new Promise<void>((resolve) => (finish = resolve));
    runtime.jobs.define({
      name: 'bench.noop',
      handler: () => {
        done += 1;
        if (done === JOBS) finish();
        return Promise.resolve();
      },
    });
    await runtime.jobs.start('producer');
    const enqueueStarted = performance.now();
    for (let i = 0; i < JOBS; i += 1) await runtime.jobs.enqueue(undefined, 'bench.noop', { i });
    const enqueueSeconds = (performance.now() - enqueueStarted) / 1000;
    await runtime.jobs.stop();
    await runtime.jobs.start('worker');
    const started = performance.now();
    await all;
    const seconds = (performance.now() - started) / 1000;
    ctx.record({ name: `${label}: enqueue`, unit: 'ops/s', throughput: Math.round(JOBS / enqueueSeconds), p50_ms: 0, p99_ms: 0, notes: `${JOBS} sends, one at a time` });
    ctx.record({ name: `${label}: work (no-op)`, unit: 'ops/s', throughput: Math.round(JOBS / seconds), p50_ms: 0, p99_ms: 0, notes: `${JOBS} jobs, concurrency 8, polling 500 ms` });
    if (schema !== undefined) await runtime.db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await runtime.close();
  }
}

export async function run(ctx: BenchContext): Promise<void> {
  await measure(ctx, 'PGlite', { DATA_DIR: 'memory' });
  const url = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
  if (url !== undefined && url !== '') await measure(ctx, 'PostgreSQL', { DATABASE_URL: url, DATABASE_POOL_MIN: '0', DATABASE_POOL_MAX: '5' }, `bench_${randomBytes(4).toString('hex')}`);
}
