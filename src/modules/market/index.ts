// The market module: providers, storage, quotes/candles/indicators/search routes,
// watchlists and the admin CSV import. Other modules use the service through
// `latestQuotes` and `dailyCloses`; the ticker grammar is shared.
import type { Config } from '../../config.ts';
import { createCache } from '../../platform/cache.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Database } from '../../platform/db/index.ts';
import type { Guards } from '../../platform/http/principal.ts';
import type { App } from '../../platform/http/types.ts';
import { createLimiterFactory, type LimiterFactory } from '../../platform/limits/index.ts';
import type { Logger } from '../../platform/logger.ts';
import { createPubSub, type PubSub } from '../../platform/pubsub.ts';
import type { Redis } from '../../platform/redis.ts';
import { createMarketRepository, type StoragePath } from './market.repository.ts';
import { marketRoutes } from './market.routes.ts';
import { createMarketService, type MarketService } from './market.service.ts';
import { createProviders } from './providers/index.ts';
import { setUpTimeseriesStorage } from './storage.ts';

export { createMarketService, BARS_EVENT, QUOTE_EVENT, type MarketService, type Quote, type Candle, type ImportResult } from './market.service.ts';
export { createMarketRepository, type MarketRepository, type CandleInterval } from './market.repository.ts';
export { createProviders, type MarketDataProvider } from './providers/index.ts';
export { parsePriceCsv } from './csv-import.ts';
export { setUpTimeseriesStorage } from './storage.ts';
export { MAX_QUOTE_SYMBOLS, SYMBOL_INPUT_PATTERN, SYMBOL_PATTERN, SymbolParam, isSymbol, normaliseSymbol } from './symbols.ts';

export interface MarketDeps {
  config: Config;
  logger: Logger;
  db: Database;
  redis?: Redis | undefined;
  clock: Clock;
  guards: Guards;
  /** The event bus; created here when the app does not share one. */
  pubsub?: PubSub;
  /** The app's limiter factory (provider call budgets shared across instances); a private one otherwise. */
  limiters?: LimiterFactory;
  /** Reports watchlist usage to the quota registry (GET /v1/me/quota). */
  usage?: { register: (resource: 'watchlist_symbols', counter: (userId: string) => Promise<number>) => void };
}

/** Everything but the routes: used by the app and by the `import prices` command. */
export async function createMarket(deps: Omit<MarketDeps, 'guards'>): Promise<{ service: MarketService; pubsub: PubSub; storagePath: StoragePath; close: () => Promise<void> }> {
  const { config, logger, db, redis, clock } = deps;
  const storagePath = await setUpTimeseriesStorage(db, logger);
  const repo = createMarketRepository(db, { storagePath: () => storagePath });
  const providers = createProviders(config, { logger, clock, limits: deps.limiters ?? createLimiterFactory({ redis, logger }) });
  const ownBus = deps.pubsub === undefined;
  const pubsub = deps.pubsub ?? createPubSub({ logger, redis });
  const service = createMarketService({
    repo,
    providers,
    cache: createCache({ logger, redis, now: () => clock.now().getTime() }),
    pubsub,
    clock,
    logger,
    settings: {
      quoteStaleSeconds: config.quoteStaleSeconds,
      quoteCacheSeconds: config.quoteCacheSeconds,
      candleCacheSeconds: config.candleCacheSeconds,
    },
  });
  return { service, pubsub, storagePath, close: () => (ownBus ? pubsub.close() : Promise.resolve()) };
}

export async function registerMarket(app: App, deps: MarketDeps): Promise<{ service: MarketService; pubsub: PubSub }> {
  const market = await createMarket(deps);
  marketRoutes(app, {
    service: market.service,
    guards: deps.guards,
    tiers: deps.config.tiers,
    importBodyLimitBytes: Math.max(deps.config.bodyLimitBytes, 64 * 1024 * 1024),
  });
  deps.usage?.register('watchlist_symbols', (userId) => market.service.watchlistCount(userId));
  app.addHook('onClose', async () => market.close());
  return { service: market.service, pubsub: market.pubsub };
}
