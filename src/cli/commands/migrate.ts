import { loadConfig } from '../../config.ts';
import { createLogger } from '../../platform/logger.ts';
import type { Command } from '../command.ts';
import { openRuntimeOrLog } from '../runtime.ts';

export const migrateCommand: Command = {
  words: ['migrate'],
  summary: 'apply pending database migrations and exit',
  usage: `financehub migrate

Applies the numbered SQL files in migrations/ that the database has not seen yet,
under an advisory lock, then exits. Uses DATABASE_URL, or the PGlite database in
DATA_DIR when it is unset. \`financehub serve\` does the same on start.`,
  async run({ io }) {
    const config = loadConfig();
    const logger = createLogger(config.logLevel);
    const runtime = await openRuntimeOrLog(config, logger, io);
    if (runtime === undefined) return 1;
    await runtime.close();
    return 0;
  },
};
