import { loadConfig } from '../../config.ts';
import { migrate } from '../../platform/db/migrations.ts';
import { createLogger } from '../../platform/logger.ts';
import { openRuntime } from '../../runtime.ts';
import type { Command } from '../command.ts';

export const migrateCommand: Command = {
  words: ['migrate'],
  summary: 'apply pending database migrations and exit',
  usage: `financehub migrate

Applies the numbered SQL files in migrations/ that the database has not seen yet,
under an advisory lock, then exits. Uses DATABASE_URL, or the PGlite database in
DATA_DIR when it is unset. \`financehub serve\` does the same on start.`,
  async run() {
    const config = loadConfig();
    const logger = createLogger(config.logLevel);
    const runtime = await openRuntime(config, logger);
    try {
      await migrate(runtime.db, logger);
      return 0;
    } finally {
      await runtime.close();
    }
  },
};
