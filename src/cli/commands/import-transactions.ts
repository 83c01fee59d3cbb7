// `financehub import transactions --portfolio ID FILE.csv`: the CSV import of the HTTP API
// (same parsing, validation, duplicate skipping and all-or-nothing write), run on the
// server's database by an operator. The portfolio id identifies the owner, so the import
// acts for that user. A progress bar is drawn on the terminal's progress stream.
import { readFile } from 'node:fs/promises';
import cliProgress from 'cli-progress';
import { loadConfig } from '../../config.ts';
import { createImportService, createPortfoliosRepository } from '../../modules/portfolios/index.ts';
import { systemClock, type Clock } from '../../platform/clock.ts';
import type { Database } from '../../platform/db/index.ts';
import { AppError } from '../../platform/errors.ts';
import { createLogger, type Logger } from '../../platform/logger.ts';
import type { Command, Io } from '../command.ts';
import { withRuntime } from '../runtime.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface ImportFileOptions {
  portfolioId: string;
  file: string;
  dryRun: boolean;
}

/** The command's work on an open database; returns the exit code. */
export async function importTransactionsFile(deps: { db: Database; logger: Logger; clock?: Clock }, options: ImportFileOptions, io: Io): Promise<number> {
  if (!UUID.test(options.portfolioId)) {
    io.err(`financehub import transactions: --portfolio must be a portfolio id (UUID), got "${options.portfolioId.slice(0, 60)}"`);
    return 2;
  }
  let text: string;
  try {
    text = await readFile(options.file, 'utf8');
  } catch (err) {
    io.err(`financehub import transactions: cannot read ${options.file}: ${(err as Error).message}`);
    return 1;
  }
  const repo = createPortfoliosRepository();
  const portfolio = await repo.findPortfolioById(deps.db, options.portfolioId);
  if (portfolio === null) {
    io.err(`financehub import transactions: portfolio ${options.portfolioId} not found`);
    return 1;
  }
  const imports = createImportService({ db: deps.db, repo, clock: deps.clock ?? systemClock, logger: deps.logger });
  const bar =
    io.progress === undefined
      ? undefined
      : new cliProgress.SingleBar(
          { stream: io.progress, format: 'importing [{bar}] {value}/{total} transactions', noTTYOutput: true, notTTYSchedule: 1000, hideCursor: true },
          cliProgress.Presets.shades_classic,
        );
  try {
    const { result } = await imports.importCsv(portfolio.userId, portfolio.id, text, {
      dryRun: options.dryRun,
      onProgress: (done, total) => {
        if (bar === undefined) return;
        if (done === 0) bar.start(total, 0);
        else bar.update(done);
      },
    });
    bar?.stop();
    if (options.dryRun) {
      for (const e of result.errors) io.err(`line ${e.row}: ${e.field}: ${e.reason}`);
      io.out(`dry run: ${result.rows} rows, ${result.would_import} would be imported, ${result.duplicates} duplicates, ${result.errors.length} problems`);
      return result.valid ? 0 : 1;
    }
    io.out(`imported ${result.imported} transactions into "${portfolio.name}" (${result.duplicates} duplicates skipped)`);
    return 0;
  } catch (err) {
    bar?.stop();
    if (!(err instanceof AppError)) throw err;
    const rows = err.extra?.rows;
    if (Array.isArray(rows)) {
      for (const e of rows as Array<{ row: number; field: string; reason: string }>) io.err(`line ${e.row}: ${e.field}: ${e.reason}`);
    }
    io.err(`financehub import transactions: ${err.detail ?? err.message}`);
    return 1;
  }
}

export const importTransactionsCommand: Command = {
  words: ['import', 'transactions'],
  summary: 'import a CSV of transactions into a portfolio',
  usage: `financehub import transactions --portfolio ID [--dry-run] FILE.csv

Imports FILE.csv into the portfolio ID, for the user who owns it, with the rules of
POST /v1/portfolios/:id/transactions/import: broker header aliases, every bad row
reported (line, field, reason), all-or-nothing, exact duplicates of stored
transactions skipped. --dry-run only validates. Uses DATABASE_URL or DATA_DIR
(migrating it first, like serve).`,
  options: { portfolio: { type: 'string' }, 'dry-run': { type: 'boolean' } },
  allowPositionals: true,
  async run({ values, positionals, io }) {
    const portfolioId = values.portfolio;
    const file = positionals[0];
    if (typeof portfolioId !== 'string' || file === undefined || positionals.length !== 1) {
      io.err(`financehub import transactions: --portfolio ID and one FILE.csv are required\n\n${this.usage}`);
      return 2;
    }
    const config = loadConfig();
    const logger = createLogger(config.logLevel);
    return await withRuntime(config, logger, async (runtime) => {
      return await importTransactionsFile({ db: runtime.db, logger }, { portfolioId, file, dryRun: values['dry-run'] === true }, io);
    });
  },
};
