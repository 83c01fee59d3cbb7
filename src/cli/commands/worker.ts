import closeWithGrace from 'close-with-grace';
import { buildApp } from '../../app.ts';
import { loadConfig } from '../../config.ts';
import { createProcessLogger } from '../../platform/logger.ts';
import type { Command } from '../command.ts';
import { openRuntimeOrLog } from '../runtime.ts';

export const workerCommand: Command = {
  words: ['worker'],
  summary: 'work the job queues without serving HTTP (scale out next to `serve --no-worker`)',
  usage: `financehub worker

Migrates the database, then works every job queue (retries, schedules, dead letters;
see docs/jobs.md) until SIGTERM or SIGINT, which lets running jobs finish (at most
SHUTDOWN_TIMEOUT_MS) and exits 0. Any number of workers may run against one database:
each job runs in one of them, and a job whose worker dies runs again once its lock
expires (JOBS_EXPIRE_SECONDS).`,
  async run() {
    const config = loadConfig();
    const { logger } = createProcessLogger(config.logLevel, config.logFormat);
    const runtime = await openRuntimeOrLog(config, logger);
    if (runtime === undefined) return 1;
    // The same app as serve (so every module defines its jobs), never listening.
    const app = await buildApp({ config, logger, db: runtime.db, jobs: runtime.jobs, worker: true, ...(runtime.redis ? { redis: runtime.redis } : {}) });
    app.addHook('onClose', () => runtime.close());
    let resolveExit: (code: number) => void = () => undefined;
    const exited = new Promise<number>((resolve) => (resolveExit = resolve));
    closeWithGrace(
      {
        delay: config.shutdownTimeoutMs,
        logger: { error: (value: unknown) => logger.error({ err: value, event: 'shutdown_error' }, 'error while shutting down') },
      },
      async ({ signal, err }) => {
        if (err !== undefined) logger.error({ err, event: 'shutdown' }, 'shutting down after an error');
        else logger.info({ event: 'shutdown', signal }, 'shutting down');
        await app.close();
        logger.info({ event: 'stopped' }, 'stopped');
        resolveExit(err === undefined ? 0 : 1);
      },
    );
    await app.ready();
    logger.info({ event: 'worker_ready', database: runtime.db.kind, queues: runtime.jobs.names() }, 'FinanceHub worker is running');
    return exited;
  },
};
