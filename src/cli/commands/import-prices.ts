// `financehub import prices --symbol SYM FILE.csv`: the admin CSV import of the HTTP API
// (POST /v1/admin/market/prices/:symbol/import) run on the server's database by an
// operator, for files of any size: same row checks, the first bad row reported with its
// line and column, all rows or none, idempotent on (symbol, interval, ts). The file is
// streamed (bounded memory; COPY on PostgreSQL) and progress drawn on Io.progress.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import cliProgress from 'cli-progress';
import { loadConfig, type Config } from '../../config.ts';
import { analyzeAfterBulkWrite, defineAnalyzeJob } from '../../modules/maintenance/maintenance.jobs.ts';
import { createMarket, normaliseSymbol } from '../../modules/market/index.ts';
import type { JobQueue } from '../../platform/jobs/index.ts';
import { systemClock, type Clock } from '../../platform/clock.ts';
import type { Database } from '../../platform/db/index.ts';
import { AppError } from '../../platform/errors.ts';
import { createLogger, type Logger } from '../../platform/logger.ts';
import type { Command, Io } from '../command.ts';
import { withRuntime } from '../runtime.ts';

/** The command's work on an open, migrated database; returns the exit code. */
export async function importPricesFile(
  deps: { db: Database; logger: Logger; config: Config; clock?: Clock; jobs?: JobQueue },
  options: { symbol: string; file: string },
  io: Io,
): Promise<number> {
  const symbol = normaliseSymbol(options.symbol);
  if (symbol === null) {
    io.err(`financehub import prices: --symbol must be a ticker such as AAPL or BRK.B, got "${options.symbol.slice(0, 40)}"`);
    return 2;
  }
  let size: number;
  try {
    size = (await stat(options.file)).size;
  } catch (err) {
    io.err(`financehub import prices: cannot read ${options.file}: ${(err as Error).message}`);
    return 1;
  }
  // No live provider is needed to import; the history provider is never called here.
  // A large import enqueues ANALYZE of price_bars for a worker (ANALYZE_AFTER_ROWS).
  const market = await createMarket({
    config: { ...deps.config, marketDataProvider: 'none', marketHistoryProvider: 'none' },
    logger: deps.logger,
    db: deps.db,
    clock: deps.clock ?? systemClock,
    ...(deps.jobs === undefined ? {} : { bulkWritten: analyzeAfterBulkWrite(deps.jobs, deps.config.schedules.analyzeAfterRows) }),
  });
  const bar =
    io.progress === undefined
      ? undefined
      : new cliProgress.SingleBar(
          { stream: io.progress, format: '{stage} [{bar}] {percentage}% {rows} rows', noTTYOutput: true, notTTYSchedule: 1000, hideCursor: true },
          cliProgress.Presets.shades_classic,
        );
  // The file is read twice (checked, then written), a stream each time; the bar follows
  // the bytes read, so it moves for a file of any length.
  let bytes = 0;
  let stage: 'parse' | 'write' | undefined;
  const open = () => {
    bytes = 0;
    const stream = createReadStream(options.file);
    stream.on('data', (chunk) => {
      bytes += chunk.length;
    });
    return stream;
  };
  try {
    const result = await market.service.importCsvStream(symbol, open, (now, done) => {
      if (bar === undefined) return;
      if (stage !== now) {
        if (stage !== undefined) bar.stop();
        bar.start(size, 0, { stage: now === 'parse' ? 'checking' : 'writing ', rows: 0 });
        stage = now;
      }
      bar.update(Math.min(bytes, size), { rows: done });
    });
    if (bar !== undefined && stage !== undefined) {
      bar.update(size);
      bar.stop();
    }
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
written. Files of any size are streamed in bounded memory (rows in time order, as
exports are; an unordered file is accepted up to 2,000,000 rows). Re-importing is
idempotent; the 5m/1h/1d rollups of the imported range are rebuilt. An import of at
least ANALYZE_AFTER_ROWS bars enqueues ANALYZE of price_bars, run by a worker. Migrates
the database first; uses DATABASE_URL or DATA_DIR.`,
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
    return await withRuntime(config, logger, io, async (runtime) => {
      // Enqueue only: a worker (`serve`, `financehub worker`) runs the ANALYZE.
      defineAnalyzeJob(runtime.jobs, { db: runtime.db });
      await runtime.jobs.start('producer');
      try {
        return await importPricesFile({ db: runtime.db, logger, config, jobs: runtime.jobs }, { symbol, file }, io);
      } finally {
        await runtime.jobs.stop();
      }
    });
  },
};
