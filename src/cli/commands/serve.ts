import closeWithGrace from 'close-with-grace';
import { buildApp } from '../../app.ts';
import { loadConfig } from '../../config.ts';
import { migrate } from '../../platform/db/migrations.ts';
import { createLogger } from '../../platform/logger.ts';
import { openRuntime } from '../../runtime.ts';
import type { Command } from '../command.ts';

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
    const runtime = await openRuntime(config, logger);
    await migrate(runtime.db, logger);
    const app = await buildApp({ config, logger, db: runtime.db, ...(runtime.redis ? { redis: runtime.redis } : {}) });
    app.addHook('onClose', () => runtime.close());

    let resolveExit: (code: number) => void = () => undefined;
    const exited = new Promise<number>((resolve) => (resolveExit = resolve));
    closeWithGrace({ delay: config.shutdownTimeoutMs }, async ({ signal, err }) => {
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
