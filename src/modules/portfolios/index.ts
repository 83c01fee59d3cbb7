// The portfolios module: portfolios, transactions, holdings, import/export. registerPortfolios
// wires repository → services → routes inside an encapsulated plugin (its CSV body parser
// stays local) and returns the services for other modules (portfolio analytics) and the CLI.
import type { Clock } from '../../platform/clock.ts';
import type { Database } from '../../platform/db/index.ts';
import type { Guards } from '../../platform/http/principal.ts';
import type { App } from '../../platform/http/types.ts';
import type { Logger } from '../../platform/logger.ts';
import { createImportService, type ImportService } from './portfolios.import.ts';
import { createPortfoliosRepository, type PortfoliosRepository } from './portfolios.repository.ts';
import { portfolioRoutes } from './portfolios.routes.ts';
import { createPortfoliosService, type PortfoliosService } from './portfolios.service.ts';
import type { QuoteSource } from './portfolios.types.ts';

export { COST_SCALE, InsufficientQuantityError, Ledger, replay, sortForReplay, toLedger, valueHoldings, WEIGHT_SCALE } from './holdings.ts';
export type { HoldingValue, HoldingsValuation, Lot, LotValue, Position } from './holdings.ts';
export { Quantity } from './quantity.ts';
export { createImportService, parseTransactionsCsv, type ImportService } from './portfolios.import.ts';
export { createPortfoliosRepository, ledgerFromRow, TRANSACTION_COLUMNS, transactionFromRow, type LedgerRow, type PortfoliosRepository, type TransactionListQuery, type TransactionRow } from './portfolios.repository.ts';
export { createPortfoliosService, holdingsOut, transactionOut, portfolioOut, type PortfoliosService } from './portfolios.service.ts';
export * from './portfolios.types.ts';

export interface PortfoliosDeps {
  db: Database;
  logger: Logger;
  clock: Clock;
  guards: Guards;
  /** Latest quotes from the market module (narrowed); holdings are unpriced without it. */
  quotes?: QuoteSource | undefined;
  importBodyLimit: number;
}

export interface PortfoliosModule {
  repo: PortfoliosRepository;
  portfolios: PortfoliosService;
  imports: ImportService;
}

export function createPortfoliosModule(deps: Omit<PortfoliosDeps, 'guards' | 'importBodyLimit'>): PortfoliosModule {
  const repo = createPortfoliosRepository();
  const portfolios = createPortfoliosService({ db: deps.db, repo, clock: deps.clock, logger: deps.logger, quotes: deps.quotes });
  const imports = createImportService({ db: deps.db, repo, clock: deps.clock, logger: deps.logger });
  return { repo, portfolios, imports };
}

export async function registerPortfolios(app: App, deps: PortfoliosDeps): Promise<PortfoliosModule> {
  const module = createPortfoliosModule(deps);
  await app.register((scope, _options, done) => {
    portfolioRoutes(scope, { guards: deps.guards, portfolios: module.portfolios, imports: module.imports, importBodyLimit: deps.importBodyLimit });
    done();
  });
  return module;
}
