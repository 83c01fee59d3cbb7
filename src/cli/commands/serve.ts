import closeWithGrace from 'close-with-grace';
import { buildApp } from '../../app.ts';
import { loadConfig } from '../../config.ts';
import { createLogger } from '../../platform/logger.ts';
import type { Command } from '../command.ts';
import { openRuntimeOrLog } from '../runtime.ts';

export const serveCommand: Command = {
  words: ['serve'],
  summary: 'migrate the database and serve the HTTP API',
  usage: `financehub serve

Migrates the database, then serves the API on HOST:PORT (default 127.0.0.1:3000).
Configuration comes from the environment; see the README. On SIGTERM or SIGINT it
stops accepting connections, lets in-flight requests finish (at most
SHUTDOWN_TIMEOUT_MS), closes its pools and exits 0.`,
  async run() {
    const config = loadConfig();
    const logger = createLogger(config.logLevel);
    const runtime = await openRuntimeOrLog(config, logger);
    if (runtime === undefined) return 1;
    const app = await buildApp({ config, logger, db: runtime.db, ...(runtime.redis ? { redis: runtime.redis } : {}) });
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
    logger.info({ event: 'listening', host: config.host, port: config.port, database: runtime.db.kind, redis: runtime.redis !== undefined }, 'FinanceHub is serving');
    return exited;
  },
};
