// The portfolios module: portfolios, transactions, holdings, import/export. registerPortfolios
// wires repository → services → routes inside an encapsulated plugin (its CSV body parser
// stays local) and returns the services for other modules (portfolio analytics) and the CLI.
import type { Clock } from '../../platform/clock.ts';
import type { Database } from '../../platform/db/index.ts';
import type { Guards, Tier } from '../../platform/http/principal.ts';
import type { PortfolioCaps } from './portfolios.caps.ts';
import type { App } from '../../platform/http/types.ts';
import type { Logger } from '../../platform/logger.ts';
import type { PubSub } from '../../platform/pubsub.ts';
import { createSharedCache } from '../../platform/shared-cache.ts';
import { createMappingsService, type MappingsService } from './import.mappings.ts';
import { createImportService, type ImportService, type WatchlistAccess } from './portfolios.import.ts';
import { createPortfoliosRepository, type PortfoliosRepository } from './portfolios.repository.ts';
import { portfolioRoutes } from './portfolios.routes.ts';
import { createPortfoliosService, type PortfoliosService } from './portfolios.service.ts';
import type { Portfolio, QuoteSource } from './portfolios.types.ts';

export { COST_SCALE, InsufficientQuantityError, Ledger, replay, sortForReplay, toLedger, valueHoldings, WEIGHT_SCALE } from './holdings.ts';
export type { HoldingValue, HoldingsValuation, Lot, LotValue, Position } from './holdings.ts';
export { Quantity } from './quantity.ts';
export { capReached, type PortfolioCaps } from './portfolios.caps.ts';
export { createImportService, parseTransactionsCsv, type ImportService } from './portfolios.import.ts';
export { PRESETS, PRESET_NAMES, type PresetName } from './import.presets.ts';
export { createPortfoliosRepository, fieldsFromRow, ledgerFromRow, TRANSACTION_COLUMNS, transactionFromRow, type LedgerRow, type PortfoliosRepository, type TransactionListQuery, type TransactionRow } from './portfolios.repository.ts';
export { createPortfoliosService, holdingsOut, transactionOut, portfolioOut, type PortfoliosService } from './portfolios.service.ts';
export * from './portfolios.types.ts';

export interface PortfoliosDeps {
  db: Database;
  logger: Logger;
  clock: Clock;
  guards: Guards;
  /** Latest quotes from the market module (narrowed); holdings are unpriced without it. */
  quotes?: QuoteSource | undefined;
  /** The caller's watchlist (market module), carried by the export and its import. */
  watchlist?: WatchlistAccess | undefined;
  importBodyLimit: number;
  /** Tier limits: portfolios per user, transactions and splits per portfolio. */
  tiers: Readonly<Record<Tier, Readonly<PortfolioCaps>>>;
  /**
   * The event bus: with it, each user's portfolio rows are read from memory and invalidated
   * on every instance when they change (the CLI passes none and always reads the database).
   */
  pubsub?: PubSub | undefined;
  /** Reports usage to the quota registry (GET /v1/me/quota). */
  usage?: {
    register: (resource: 'portfolios', counter: (userId: string) => Promise<number>) => void;
    registerTogether: <R extends 'transactions_per_portfolio' | 'splits_per_portfolio'>(resources: readonly R[], counter: (userId: string) => Promise<Record<R, number>>) => void;
  };
}

export interface PortfoliosModule {
  repo: PortfoliosRepository;
  portfolios: PortfoliosService;
  imports: ImportService;
  /** Symbols bought in any portfolio, for scheduled quote, candle and news refreshes; at most `limit`. */
  heldSymbols: (limit: number) => Promise<string[]>;
  /** Symbols in any of one user's transactions, sorted; at most `limit`. */
  tradedSymbols: (userId: string, limit: number) => Promise<string[]>;
  mappings: MappingsService;
  start: () => Promise<void>;
  stop: () => Promise<void>;
}

/**
 * How long an instance trusts its copy of a user's portfolio rows: with Redis, events make
 * it current within milliseconds and this only bounds a lost event; without Redis other
 * instances sharing a PostgreSQL hear nothing, so the copy is trusted for one second.
 */
export const PORTFOLIO_ROWS_MAX_AGE_MS = { bus: 5_000, noBus: 1_000 } as const;
/** Where a change of a user's portfolios is announced (key: the user id), for every instance's copy of the rows. */
export const PORTFOLIOS_CHANGED_CHANNEL = 'portfolios.changed';
const PORTFOLIO_ROWS_MAX_USERS = 10_000;

export function createPortfoliosModule(deps: Omit<PortfoliosDeps, 'guards' | 'importBodyLimit' | 'tiers' | 'usage'>): PortfoliosModule {
  const repo = createPortfoliosRepository();
  const rows =
    deps.pubsub === undefined
      ? undefined
      : createSharedCache<Portfolio[]>({
          channel: PORTFOLIOS_CHANGED_CHANNEL,
          pubsub: deps.pubsub,
          clock: deps.clock,
          logger: deps.logger,
          maxAgeMs: PORTFOLIO_ROWS_MAX_AGE_MS.bus,
          maxAgeNoBusMs: PORTFOLIO_ROWS_MAX_AGE_MS.noBus,
          maxEntries: PORTFOLIO_ROWS_MAX_USERS,
        });
  const portfolios = createPortfoliosService({ db: deps.db, repo, clock: deps.clock, logger: deps.logger, quotes: deps.quotes, rows });
  const importer = createImportService({ db: deps.db, repo, clock: deps.clock, logger: deps.logger, watchlist: deps.watchlist });
  // Imports write portfolios and transactions: every instance drops its copy of the rows after.
  const imports: ImportService = {
    ...importer,
    importCsv: (userId, ...rest) => importer.importCsv(userId, ...rest).finally(() => portfolios.changed(userId)),
    importExport: (principal, ...rest) => importer.importExport(principal, ...rest).finally(() => portfolios.changed(principal.userId)),
  };
  const mappings = createMappingsService({ db: deps.db, clock: deps.clock });
  return {
    repo,
    portfolios,
    imports,
    mappings,
    heldSymbols: (limit) => repo.heldSymbols(deps.db, limit),
    tradedSymbols: (userId, limit) => repo.tradedSymbols(deps.db, userId, limit),
    start: async () => rows?.start(),
    stop: async () => rows?.stop(),
  };
}

export async function registerPortfolios(app: App, deps: PortfoliosDeps): Promise<PortfoliosModule> {
  const module = createPortfoliosModule(deps);
  await module.start();
  app.addHook('onClose', async () => module.stop());
  await app.register((scope, _options, done) => {
    portfolioRoutes(scope, {
      guards: deps.guards,
      portfolios: module.portfolios,
      imports: module.imports,
      mappings: module.mappings,
      importBodyLimit: deps.importBodyLimit,
      capsOf: (tier) => deps.tiers[tier],
    });
    done();
  });
  const { repo } = module;
  deps.usage?.register('portfolios', (userId) => repo.countPortfolios(deps.db, userId));
  // Per-portfolio caps show the fullest portfolio: that is the one a create would hit first.
  // Its counts are kept on the portfolio rows (migration 0280), so this reads one row per portfolio.
  deps.usage?.registerTogether(['transactions_per_portfolio', 'splits_per_portfolio'], async (userId) => {
    const largest = await repo.largestPortfolio(deps.db, userId);
    return { transactions_per_portfolio: largest.total, splits_per_portfolio: largest.splits };
  });
  return module;
}
