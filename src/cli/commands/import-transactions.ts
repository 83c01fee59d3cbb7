// `financehub import transactions --portfolio ID FILE.csv`: the CSV import of the HTTP API
// (same parsing, validation, duplicate skipping and all-or-nothing write, same file
// options: preset, column mapping and ignoring, saved mapping, delimiter, date format,
// decimal separator), run on the server's database by an operator. The portfolio id
// identifies the owner, so the import acts for that user (and a saved mapping is looked
// up among that user's). A progress bar is drawn on the terminal's progress stream.
import { readFile } from 'node:fs/promises';
import cliProgress from 'cli-progress';
import { loadConfig } from '../../config.ts';
import { DATE_FORMATS, DELIMITERS, type DateFormat, type DelimiterName } from '../../modules/portfolios/import.formats.ts';
import { createMappingsService } from '../../modules/portfolios/import.mappings.ts';
import { IMPORT_TARGETS, isPresetName, PRESET_NAMES, type ImportTarget } from '../../modules/portfolios/import.presets.ts';
import type { CsvImportOptions } from '../../modules/portfolios/import.csv.ts';
import { createImportService, createPortfoliosRepository, PORTFOLIOS_CHANGED_CHANNEL } from '../../modules/portfolios/index.ts';
import { systemClock, type Clock } from '../../platform/clock.ts';
import type { Database } from '../../platform/db/index.ts';
import { AppError } from '../../platform/errors.ts';
import { createLogger, type Logger } from '../../platform/logger.ts';
import { createPubSub } from '../../platform/pubsub.ts';
import type { Redis } from '../../platform/redis.ts';
import { publishInvalidation } from '../../platform/shared-cache.ts';
import type { Command, Io } from '../command.ts';
import { withRuntime } from '../runtime.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface ImportFileOptions {
  portfolioId: string;
  file: string;
  dryRun: boolean;
  /** How to read the file, as the command line gave it (checked here). */
  preset?: string | undefined;
  /** `Header=field`, repeatable. */
  map?: readonly string[] | undefined;
  /** Headers deliberately not imported. */
  ignore?: readonly string[] | undefined;
  /** A saved mapping of the portfolio's owner, by id or name. */
  mapping?: string | undefined;
  delimiter?: string | undefined;
  dateFormat?: string | undefined;
  decimal?: string | undefined;
}

/** The file options of the command line as import options, or the usage error to print. */
export function csvOptionsFrom(options: ImportFileOptions): CsvImportOptions | string {
  if (options.preset !== undefined && !isPresetName(options.preset)) return `--preset must be one of ${PRESET_NAMES.join(', ')}, got "${options.preset.slice(0, 40)}"`;
  if (options.delimiter !== undefined && !Object.hasOwn(DELIMITERS, options.delimiter)) return `--delimiter must be comma, semicolon or tab, got "${options.delimiter.slice(0, 40)}"`;
  if (options.dateFormat !== undefined && !(DATE_FORMATS as readonly string[]).includes(options.dateFormat)) {
    return `--date-format must be one of ${DATE_FORMATS.join(', ')}, got "${options.dateFormat.slice(0, 40)}"`;
  }
  if (options.decimal !== undefined && options.decimal !== 'point' && options.decimal !== 'comma') return `--decimal must be point or comma, got "${options.decimal.slice(0, 40)}"`;
  const columns: Record<string, ImportTarget> = {};
  for (const entry of options.map ?? []) {
    const at = entry.lastIndexOf('=');
    const target = entry.slice(at + 1);
    if (at <= 0 || !(IMPORT_TARGETS as readonly string[]).includes(target)) return `--map must be Header=field with field one of ${IMPORT_TARGETS.join(', ')}, got "${entry.slice(0, 60)}"`;
    columns[entry.slice(0, at)] = target as ImportTarget;
  }
  for (const header of options.ignore ?? []) if (header.trim() === '') return '--ignore needs a header name';
  return {
    preset: options.preset,
    delimiter: options.delimiter as DelimiterName | undefined,
    dateFormat: options.dateFormat as DateFormat | undefined,
    decimal: options.decimal,
    columns,
    ignore: [...(options.ignore ?? [])],
  };
}

/**
 * Running instances keep a copy of each user's portfolio rows (their revision decides
 * whether a cached replay of the transactions still holds). With Redis they hear of this
 * import at once; without it no event can reach them, and their copy is trusted for at
 * most a second (PORTFOLIO_ROWS_MAX_AGE_MS).
 */
async function announceChange(redis: Redis | undefined, logger: Logger, userId: string): Promise<void> {
  if (redis === undefined) return;
  const bus = createPubSub({ logger, redis });
  try {
    await publishInvalidation(bus, PORTFOLIOS_CHANGED_CHANNEL, userId);
  } catch (err) {
    logger.warn({ err, event: 'cache_invalidation_not_shared', channel: PORTFOLIOS_CHANGED_CHANNEL }, 'could not tell running instances; they trust their copy for at most its max age');
  } finally {
    await bus.close();
  }
}

/** The command's work on an open database; returns the exit code. */
export async function importTransactionsFile(deps: { db: Database; logger: Logger; clock?: Clock; redis?: Redis | undefined }, options: ImportFileOptions, io: Io): Promise<number> {
  if (!UUID.test(options.portfolioId)) {
    io.err(`financehub import transactions: --portfolio must be a portfolio id (UUID), got "${options.portfolioId.slice(0, 60)}"`);
    return 2;
  }
  const fileOptions = csvOptionsFrom(options);
  if (typeof fileOptions === 'string') {
    io.err(`financehub import transactions: ${fileOptions}`);
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
  const clock = deps.clock ?? systemClock;
  const imports = createImportService({ db: deps.db, repo, clock, logger: deps.logger });
  const bar =
    io.progress === undefined
      ? undefined
      : new cliProgress.SingleBar(
          { stream: io.progress, format: 'importing [{bar}] {value}/{total} transactions', noTTYOutput: true, notTTYSchedule: 1000, hideCursor: true },
          cliProgress.Presets.shades_classic,
        );
  try {
    // A saved mapping supplies defaults; the command line's options win over it, as the
    // HTTP parameters do.
    const saved = options.mapping === undefined ? {} : await createMappingsService({ db: deps.db, clock }).options(portfolio.userId, options.mapping);
    const csv: CsvImportOptions = {
      preset: fileOptions.preset ?? saved.preset,
      delimiter: fileOptions.delimiter ?? saved.delimiter,
      dateFormat: fileOptions.dateFormat ?? saved.dateFormat,
      decimal: fileOptions.decimal ?? saved.decimal,
      columns: { ...saved.columns, ...fileOptions.columns },
      ignore: [...(saved.ignore ?? []), ...(fileOptions.ignore ?? [])],
    };
    const { result } = await imports
      .importCsv(portfolio.userId, portfolio.id, text, {
        dryRun: options.dryRun,
        csv,
        onProgress: (done, total) => {
          if (bar === undefined) return;
          if (done === 0) bar.start(total, 0);
          else bar.update(done);
        },
      })
      .finally(() => (options.dryRun ? undefined : announceChange(deps.redis, deps.logger, portfolio.userId)));
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
  usage: `financehub import transactions --portfolio ID [--dry-run] [file options] FILE.csv

Imports FILE.csv into the portfolio ID, for the user who owns it, with the rules of
POST /v1/portfolios/:id/transactions/import: every column mapped or ignored (an
unknown column is an error), every bad row reported (line, field, reason),
all-or-nothing, exact duplicates of stored transactions skipped. --dry-run only
validates. Uses DATABASE_URL or DATA_DIR (migrating it first, like serve).

File options (as the HTTP query parameters):
  --preset NAME          ${PRESET_NAMES.join(', ')}
  --map Header=field     the column's cells go to that field (repeatable)
  --ignore Header        the column is deliberately not imported (repeatable)
  --mapping NAME         a saved mapping of the portfolio's owner (id or name);
                         the options above win over it
  --delimiter NAME       comma, semicolon or tab (default: detected)
  --date-format FORMAT   ${DATE_FORMATS.join(', ')} (default: the preset's, else detected)
  --decimal NAME         point (1,234.56) or comma (1.234,56)`,
  options: {
    portfolio: { type: 'string' },
    'dry-run': { type: 'boolean' },
    preset: { type: 'string' },
    map: { type: 'string', multiple: true },
    ignore: { type: 'string', multiple: true },
    mapping: { type: 'string' },
    delimiter: { type: 'string' },
    'date-format': { type: 'string' },
    decimal: { type: 'string' },
  },
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
    return await withRuntime(config, logger, io, async (runtime) => {
      const text = (name: string) => (typeof values[name] === 'string' ? values[name] : undefined);
      // parseArgs gives a `multiple` option as an array (Command's type names single values).
      const list = (name: string) => {
        const value: unknown = values[name];
        return Array.isArray(value) ? value.map(String) : undefined;
      };
      return await importTransactionsFile(
        { db: runtime.db, logger, redis: runtime.redis },
        {
          portfolioId,
          file,
          dryRun: values['dry-run'] === true,
          preset: text('preset'),
          map: list('map'),
          ignore: list('ignore'),
          mapping: text('mapping'),
          delimiter: text('delimiter'),
          dateFormat: text('date-format'),
          decimal: text('decimal'),
        },
        io,
      );
    });
  },
};
