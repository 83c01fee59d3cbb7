// Rate limits, tiers and quotas. Wiring, in src/app.ts:
//   1. registerLimits(app, …) BEFORE any route, since it hooks every route as it is added;
//   2. modules owning a counted resource register its usage counter:
//        limits.usage.register('watchlist_symbols', (userId) => repo.countSymbols(userId))
//      ('alerts', 'watchlist_symbols', 'ws_connections', 'templates'), or
//        limits.usage.registerTogether([...], counter) for resources one query counts together;
//   3. registerQuotaRoutes(app, { guards, quotas: limits.quotas }) once guards exist.
// Other modules build their own limits with limits.limiters.createLimiter({ … }).
import type { Config } from '../../config.ts';
import type { Clock } from '../../platform/clock.ts';
import type { App } from '../../platform/http/types.ts';
import type { Database } from '../../platform/db/index.ts';
import type { Guards } from '../../platform/http/principal.ts';
import { createLimiterFactory, type LimiterFactory } from '../../platform/limits/index.ts';
import type { Logger } from '../../platform/logger.ts';
import type { Redis } from '../../platform/redis.ts';
import { createDailyUsageRepository } from './quotas.repository.ts';
import { quotaRoutes } from './quotas.routes.ts';
import { createQuotaService, createUsageRegistry, type QuotaService, type UsageRegistry } from './quotas.service.ts';
import { registerRequestLimits, type RequestLimits } from './request-limits.ts';

export interface Limits {
  limiters: LimiterFactory;
  usage: UsageRegistry;
  quotas: QuotaService;
  /** Refresh per session (FAIL-014): throws the 429 AppError when over the limit. */
  checkRefreshSession: RequestLimits['checkRefreshSession'];
  /** Lets a token the guards already verified skip the bad-token limit's check (no round trip). */
  trustVerifiedTokens: RequestLimits['trustVerifiedTokens'];
}

export function registerLimits(app: App, deps: { config: Config; db: Database; redis?: Redis | undefined; logger: Logger; clock: Clock }): Limits {
  const limiters = createLimiterFactory({ redis: deps.redis, logger: deps.logger });
  const usage = createUsageRegistry();
  const quotas = createQuotaService({
    tiers: deps.config.tiers,
    store: createDailyUsageRepository(deps.db),
    usage,
    clock: deps.clock,
    logger: deps.logger,
    flushBatch: deps.config.quotaFlushBatch,
    flushIntervalMs: deps.config.quotaFlushIntervalMs,
  });
  // Unsent request counts are recorded before the database closes.
  app.addHook('onClose', async () => quotas.close());
  const { checkRefreshSession, trustVerifiedTokens } = registerRequestLimits(app, { config: deps.config, limiters, quotas });
  return { limiters, usage, quotas, checkRefreshSession, trustVerifiedTokens };
}

export function registerQuotaRoutes(app: App, deps: { guards: Guards; quotas: QuotaService }): void {
  quotaRoutes(app, deps);
}

export { quotaJson } from './quotas.routes.ts';
export { QuotaSchema } from './quotas.schemas.ts';
export { COUNTED_RESOURCES, type CountedResource, type Quota, type QuotaService, type UsageCounter, type UsageRegistry } from './quotas.service.ts';
