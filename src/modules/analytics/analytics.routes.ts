// GET /v1/portfolios/:id/performance and GET /v1/dashboard. Both act only on the caller's
// data: another user's portfolio answers 404 like a missing one.
import { parseDecimal } from '../../money/index.ts';
import { principalOf, type Guards } from '../../platform/http/principal.ts';
import { problemResponses } from '../../platform/http/problem.ts';
import { utcDayOf } from '../../platform/http/time-params.ts';
import type { App } from '../../platform/http/types.ts';
import { DashboardOut, DashboardQuery, PerformanceOut, PerformanceParams, PerformanceQuery } from './analytics.schemas.ts';
import type { AnalyticsService } from './analytics.service.ts';

export interface AnalyticsRouteDeps {
  guards: Guards;
  analytics: AnalyticsService;
}

const security = [{ bearer: [] }];

export function analyticsRoutes(app: App, deps: AnalyticsRouteDeps): void {
  const { guards, analytics } = deps;
  const onRequest = guards.requireUser;

  app.get(
    '/v1/portfolios/:id/performance',
    {
      onRequest,
      schema: {
        tags: ['portfolios'],
        security,
        summary: 'Time- and money-weighted return, simple return, contributions and a daily value series (docs/performance.md)',
        params: PerformanceParams,
        querystring: PerformanceQuery,
        response: { 200: PerformanceOut, ...problemResponses },
      },
    },
    async (request) =>
      analytics.performance(principalOf(request).userId, request.params.id, {
        range: request.query.range ?? '1y',
        from: request.query.from === undefined ? undefined : utcDayOf(request.query.from),
        to: request.query.to === undefined ? undefined : utcDayOf(request.query.to),
      }),
  );

  app.get(
    '/v1/dashboard',
    {
      onRequest,
      schema: {
        tags: ['dashboard'],
        security,
        summary: "Totals per base currency across the caller's portfolios and a sortable, filterable holdings list",
        querystring: DashboardQuery,
        response: { 200: DashboardOut, ...problemResponses },
      },
    },
    async (request) => {
      const q = request.query;
      return analytics.dashboard(principalOf(request).userId, {
        sort: q.sort ?? 'market_value',
        order: q.order ?? 'desc',
        limit: q.limit ?? 50,
        cursor: q.cursor,
        symbolPrefix: q.symbol?.toUpperCase(),
        portfolioId: q.portfolio_id,
        minMarketValue: q.min_market_value === undefined ? undefined : parseDecimal(q.min_market_value, 'querystring.min_market_value'),
      });
    },
  );
}
