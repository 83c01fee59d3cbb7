// `financehub import prices --symbol SYM FILE.csv`: the admin CSV import of the HTTP API
// (POST /v1/admin/market/prices/:symbol/import) run on the server's database by an
// operator: same parsing, the first bad row reported with its line and column, all rows
// or none, idempotent on (symbol, interval, ts). Progress is drawn on Io.progress.
import { readFile } from 'node:fs/promises';
import cliProgress from 'cli-progress';
import { loadConfig, type Config } from '../../config.ts';
import { createMarket, normaliseSymbol } from '../../modules/market/index.ts';
import { systemClock, type Clock } from '../../platform/clock.ts';
import type { Database } from '../../platform/db/index.ts';
import { AppError } from '../../platform/errors.ts';
import { createLogger, type Logger } from '../../platform/logger.ts';
import type { Command, Io } from '../command.ts';
import { withRuntime } from '../runtime.ts';

/** The command's work on an open, migrated database; returns the exit code. */
export async function importPricesFile(
  deps: { db: Database; logger: Logger; config: Config; clock?: Clock },
  options: { symbol: string; file: string },
  io: Io,
): Promise<number> {
  const symbol = normaliseSymbol(options.symbol);
  if (symbol === null) {
    io.err(`financehub import prices: --symbol must be a ticker such as AAPL or BRK.B, got "${options.symbol.slice(0, 40)}"`);
    return 2;
  }
  let text: string;
  try {
    text = await readFile(options.file, 'utf8');
  } catch (err) {
    io.err(`financehub import prices: cannot read ${options.file}: ${(err as Error).message}`);
    return 1;
  }
  // No live provider is needed to import; the history provider is never called here.
  const market = await createMarket({ config: { ...deps.config, marketDataProvider: 'none', marketHistoryProvider: 'none' }, logger: deps.logger, db: deps.db, clock: deps.clock ?? systemClock });
  const bar =
    io.progress === undefined
      ? undefined
      : new cliProgress.SingleBar(
          { stream: io.progress, format: '{stage} [{bar}] {value}/{total} rows', noTTYOutput: true, notTTYSchedule: 1000, hideCursor: true },
          cliProgress.Presets.shades_classic,
        );
  let started = false;
  try {
    const result = await market.service.importCsv(symbol, text, (stage, done, total) => {
      if (bar === undefined) return;
      if (!started) {
        bar.start(total, 0, { stage: 'checking' });
        started = true;
      }
      bar.update(done, { stage: stage === 'parse' ? 'checking' : 'written' });
    });
    bar?.stop();
    io.out(
      `imported ${result.rows} ${result.interval} bars for ${result.symbol}: ${result.inserted} new, ${result.updated} changed, ${result.unchanged} already stored`,
    );
    return 0;
  } catch (err) {
    bar?.stop();
    if (!(err instanceof AppError)) throw err;
    io.err(`financehub import prices: ${err.detail ?? err.message}`);
    return 1;
  } finally {
    await market.close();
  }
}

export const importPricesCommand: Command = {
  words: ['import', 'prices'],
  summary: 'import a CSV of daily or one-minute OHLCV bars for a symbol',
  usage: `financehub import prices --symbol SYM FILE.csv

Imports FILE.csv (columns Date, Open, High, Low, Close, Volume, any case; other columns
ignored) as price bars of SYM. Dates (YYYY-MM-DD) make daily bars, dates with times
(ISO 8601, UTC unless an offset is given) one-minute bars. The whole file is checked
first: the first bad row is reported with its line number and column, and nothing is
written. Re-importing is idempotent. Migrates the database first; uses DATABASE_URL
or DATA_DIR.`,
  options: { symbol: { type: 'string' } },
  allowPositionals: true,
  async run({ values, positionals, io }) {
    const symbol = values.symbol;
    const file = positionals[0];
    if (typeof symbol !== 'string' || file === undefined || positionals.length !== 1) {
      io.err(`financehub import prices: --symbol SYM and one FILE.csv are required\n\n${this.usage}`);
      return 2;
    }
    const config = loadConfig();
    const logger = createLogger(config.logLevel);
    return await withRuntime(config, logger, async (runtime) => {
      return await importPricesFile({ db: runtime.db, logger, config }, { symbol, file }, io);
    });
  },
};
