// Portfolio analytics: performance (TWR, XIRR, simple return, value series) and the
// dashboard. Built on the portfolios module's service and repository and the market
// module's prices; registerAnalytics wires service → routes.
import type { Clock } from '../../platform/clock.ts';
import type { Database } from '../../platform/db/index.ts';
import type { Guards } from '../../platform/http/principal.ts';
import type { App } from '../../platform/http/types.ts';
import type { Logger } from '../../platform/logger.ts';
import { fieldsFromRow, type PortfoliosModule } from '../portfolios/index.ts';
import { analyticsRoutes } from './analytics.routes.ts';
import { createAnalyticsService, type AnalyticsService, type MarketPrices } from './analytics.service.ts';

export { computePerformance, xirr, npv, type PerformanceResult, type PerfTransaction } from './performance.ts';
export { createAnalyticsService, resolveRange, type AnalyticsService, type MarketPrices } from './analytics.service.ts';

export interface AnalyticsDeps {
  db: Database;
  logger: Logger;
  clock: Clock;
  guards: Guards;
  portfolios: PortfoliosModule;
  market?: MarketPrices | undefined;
}

export function registerAnalytics(app: App, deps: AnalyticsDeps): AnalyticsService {
  const { db, portfolios } = deps;
  const analytics = createAnalyticsService({
    ownedPortfolio: (userId, id) => portfolios.portfolios.ownedPortfolio(userId, id),
    listPortfolios: (userId) => portfolios.portfolios.listPortfolios(userId),
    // Read in pages (no statement holds the event loop for a whole large portfolio), all
    // from one snapshot, so a write committed meanwhile is wholly in or wholly out.
    portfolioTransactions: (userId, id) =>
      db.transaction(async (q) => {
        await q.exec('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
        return portfolios.repo.replayRows(q, userId, id, fieldsFromRow);
      }),
    ledgerOf: (userId, id) => portfolios.portfolios.ledger(userId, id),
    market: deps.market,
    clock: deps.clock,
    logger: deps.logger,
  });
  analyticsRoutes(app, { guards: deps.guards, analytics });
  return analytics;
}
