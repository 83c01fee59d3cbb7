// GET /v1/me/quota: the caller's usage, limit and reset per resource of their tier.
import { Type } from 'typebox';
import { principalOf, type Guards } from '../../platform/http/principal.ts';
import { problemResponses } from '../../platform/http/problem.ts';
import type { App } from '../../platform/http/types.ts';
import { QuotaSchema } from './quotas.schemas.ts';
import type { Quota, QuotaService } from './quotas.service.ts';

export interface QuotaRouteDeps {
  guards: Guards;
  quotas: QuotaService;
}

/** The JSON form (timestamps as ISO-8601 UTC strings). */
export function quotaJson(quota: Quota) {
  return {
    ...quota,
    api_requests_per_day: { ...quota.api_requests_per_day, reset: quota.api_requests_per_day.reset?.toISOString() ?? '' },
    alerts: { ...quota.alerts, reset: null },
    watchlist_symbols: { ...quota.watchlist_symbols, reset: null },
    ws_connections: { ...quota.ws_connections, reset: null },
    templates: { ...quota.templates, reset: null },
    portfolios: { ...quota.portfolios, reset: null },
    transactions_per_portfolio: { ...quota.transactions_per_portfolio, reset: null },
    splits_per_portfolio: { ...quota.splits_per_portfolio, reset: null },
  };
}

export function quotaRoutes(app: App, deps: QuotaRouteDeps): void {
  app.get(
    '/v1/me/quota',
    {
      onRequest: deps.guards.requireUser,
      schema: {
        tags: ['account'],
        summary: "The caller's quota: usage, limit and reset per resource of their tier",
        security: [{ bearer: [] }],
        querystring: Type.Object({}, { additionalProperties: false }),
        response: { 200: QuotaSchema, ...problemResponses },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      return quotaJson(await deps.quotas.quotaOf(principal.userId, principal.tier));
    },
  );
}
