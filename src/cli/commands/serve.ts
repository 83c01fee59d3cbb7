import closeWithGrace from 'close-with-grace';
import { buildApp } from '../../app.ts';
import { loadConfig } from '../../config.ts';
import { createProcessLogger } from '../../platform/logger.ts';
import { startBanner } from '../banner.ts';
import type { Command } from '../command.ts';
import { openRuntimeOrLog } from '../runtime.ts';

export const serveCommand: Command = {
  words: ['serve'],
  summary: 'migrate the database and serve the HTTP API',
  options: { 'no-worker': { type: 'boolean' } },
  usage: `financehub serve [--no-worker]

Migrates the database, then serves the API on HOST:PORT (default 127.0.0.1:3000).
By default it also works the job queues (retries, schedules, dead letters; see
docs/jobs.md); with --no-worker it only enqueues, and \`financehub worker\` processes
elsewhere do the work.
Configuration comes from the environment; see the README. On SIGTERM or SIGINT it
stops accepting connections, lets in-flight requests finish (at most
SHUTDOWN_TIMEOUT_MS), closes its pools and exits 0.
On a terminal (or with LOG_FORMAT=pretty) it prints a start-up banner and readable
log lines; otherwise (or with LOG_FORMAT=json) JSON lines, one per event.`,
  async run({ values, io }) {
    const config = loadConfig();
    const { logger, pretty } = createProcessLogger(config.logLevel, config.logFormat);
    const runtime = await openRuntimeOrLog(config, logger, io);
    if (runtime === undefined) return 1;
    const app = await buildApp({
      config,
      logger,
      db: runtime.db,
      jobs: runtime.jobs,
      worker: values['no-worker'] !== true,
      buildDocs: true,
      ...(runtime.redis ? { redis: runtime.redis } : {}),
    });
    app.addHook('onClose', () => runtime.close());

    let resolveExit: (code: number) => void = () => undefined;
    const exited = new Promise<number>((resolve) => (resolveExit = resolve));
    const graceOptions = {
      delay: config.shutdownTimeoutMs,
      // close-with-grace would print to the console; everything goes through the logger (FAIL-003).
      logger: { error: (value: unknown) => logger.error({ err: value, event: 'shutdown_error' }, 'error while shutting down') },
      onTimeout: (delayMs: number) =>
        logger.error({ event: 'shutdown_timeout', delayMs }, 'in-flight work did not finish within SHUTDOWN_TIMEOUT_MS; exiting'),
      onSecondSignal: (signal: string) => logger.warn({ event: 'shutdown_forced', signal }, 'second signal; exiting now'),
    };
    closeWithGrace(graceOptions, async ({ signal, err }) => {
      if (err !== undefined) logger.error({ err, event: 'shutdown' }, 'shutting down after an error');
      else logger.info({ event: 'shutdown', signal }, 'shutting down');
      await app.close();
      logger.info({ event: 'stopped' }, 'stopped');
      resolveExit(err === undefined ? 0 : 1);
    });

    await app.listen({ host: config.host, port: config.port });
    logger.info(
      { event: 'listening', host: config.host, port: config.port, database: runtime.db.kind, redis: runtime.redis !== undefined, worker: values['no-worker'] !== true },
      'FinanceHub is serving',
    );
    if (pretty) {
      // The bound address (PORT=0 picks a free port); an IPv6 host needs brackets in a URL.
      const address = app.server.address();
      const port = typeof address === 'object' && address !== null ? address.port : config.port;
      const host = config.host.includes(':') ? `[${config.host}]` : config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
      io.out(startBanner(config, `http://${host}:${port}`));
    }
    return exited;
  },
};
