// The market module: providers, storage, quotes/candles/indicators/search routes,
// watchlists and the admin CSV import. Other modules use the service through
// `latestQuotes` and `dailyCloses`; the ticker grammar is shared.
import type { Config } from '../../config.ts';
import { createCache, type Cache } from '../../platform/cache.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Database } from '../../platform/db/index.ts';
import type { Guards } from '../../platform/http/principal.ts';
import type { App } from '../../platform/http/types.ts';
import { createConcurrencyLimiter, createLimiterFactory, type LimiterFactory } from '../../platform/limits/index.ts';
import type { Logger } from '../../platform/logger.ts';
import { createPubSub, type PubSub } from '../../platform/pubsub.ts';
import type { Redis } from '../../platform/redis.ts';
import { createCoverageRepository } from './coverage.repository.ts';
import { createMarketRepository, type StoragePath } from './market.repository.ts';
import { marketRoutes } from './market.routes.ts';
import { createMarketService, type MarketService } from './market.service.ts';
import { createProviders, DEMO_SYMBOLS } from './providers/index.ts';
import { createPartitionManager, type PartitionManager } from './partitions.ts';
import { setUpTimeseriesStorage } from './storage.ts';

export { createMarketService, BARS_EVENT, QUOTE_EVENT, NEAR_QUOTE_MS, type MarketService, type Quote, type Candle, type ImportResult } from './market.service.ts';
export { createMarketRepository, CANDLE_INTERVALS, intervalMs, BUCKET_ORIGIN, type MarketRepository, type CandleInterval } from './market.repository.ts';
export { createProviders, type MarketDataProvider } from './providers/index.ts';
export { parsePriceCsv } from './csv-import.ts';
export { setUpTimeseriesStorage, timescaleStatements } from './storage.ts';
export { createPartitionManager, partitionFor, type PartitionManager } from './partitions.ts';
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
  /** Told after each bulk write of bars (history fill, import), with the row count (ANALYZE). */
  bulkWritten?: (rows: number) => Promise<void>;
  /** The quotes' and candles' cache; created here otherwise (in Redis when configured, shared by every instance). */
  cache?: Cache;
}

/** The live provider's per-minute call budget shared by all instances; null when it has none (simulated, Yahoo). */
export function liveCallsPerMinute(config: Config): number | null {
  return config.marketDataProvider === 'finnhub' ? config.finnhubCallsPerMinute : null;
}

/** Everything but the routes: used by the app and by the `import prices` command. */
export async function createMarket(
  deps: Omit<MarketDeps, 'guards'>,
): Promise<{ service: MarketService; pubsub: PubSub; storagePath: StoragePath; partitions: PartitionManager; close: () => Promise<void> }> {
  const { config, logger, db, redis, clock } = deps;
  const retentionDays = { '1m': config.barsRetention1mDays, '1d': config.barsRetention1dDays } as const;
  // One TimescaleDB hypertable holds both intervals: it can only drop what both intervals
  // give up, so its retention is the longer of the two, and none while either keeps all.
  const hypertableRetention = retentionDays['1m'] > 0 && retentionDays['1d'] > 0 ? Math.max(retentionDays['1m'], retentionDays['1d']) : 0;
  const storagePath = await setUpTimeseriesStorage(db, logger, { retentionDays: hypertableRetention });
  const partitions = createPartitionManager(db, logger, { partitioned: storagePath === 'partitioned' });
  const repo = createMarketRepository(db, { storagePath: () => storagePath, partitions, retentionDays, now: () => clock.now() });
  // Partitions for the coming periods exist before the first bar of them arrives, and
  // expired ones go, at start and then periodically. Across instances the advisory lock
  // makes this safe to run everywhere; it is cheap when there is nothing to do.
  const maintain = () =>
    partitions.maintain(clock.now(), { retentionDays }).catch((err: unknown) => {
      logger.error({ err, event: 'partition_maintenance_failed' }, 'price_bars partition maintenance failed');
    });
  await maintain();
  const maintenance = setInterval(() => void maintain(), config.partitionMaintenanceSeconds * 1000);
  maintenance.unref();
  const coverage = createCoverageRepository(db);
  const providers = createProviders(config, { logger, clock, limits: deps.limiters ?? createLimiterFactory({ redis, logger }) });
  if (providers.live?.name === 'simulated' || providers.history?.name === 'simulated') {
    logger.warn(
      { event: 'market_data_simulated', live: providers.live?.name ?? 'none', history: providers.history?.name ?? 'none', symbols: DEMO_SYMBOLS },
      `market data is SIMULATED (MARKET_DATA_PROVIDER=simulated): demo prices for ${DEMO_SYMBOLS.join(', ')} only, marked "simulated": true; not real prices`,
    );
  } else {
    logger.info({ event: 'market_data_provider', live: providers.live?.name ?? 'none', history: providers.history?.name ?? 'none' }, `market data from ${providers.live?.name ?? 'stored data only'} (history: ${providers.history?.name ?? 'stored data only'})`);
  }
  const ownBus = deps.pubsub === undefined;
  const pubsub = deps.pubsub ?? createPubSub({ logger, redis });
  const service = createMarketService({
    repo,
    coverage,
    providers,
    cache: deps.cache ?? createCache({ logger, redis, maxBytes: config.cacheMaxBytes, now: () => clock.now().getTime() }),
    pubsub,
    clock,
    logger,
    settings: {
      quoteStaleSeconds: config.quoteStaleSeconds,
      quoteCacheSeconds: config.quoteCacheSeconds,
      candleCacheSeconds: config.candleCacheSeconds,
      indicatorCacheSeconds: config.indicators.cacheSeconds,
    },
    ...(deps.bulkWritten === undefined ? {} : { bulkWritten: deps.bulkWritten }),
  });
  return {
    service,
    pubsub,
    storagePath,
    partitions,
    close: async () => {
      clearInterval(maintenance);
      service.stopStreaming();
      await service.stopRefreshing();
      if (ownBus) await pubsub.close();
    },
  };
}

export async function registerMarket(app: App, deps: MarketDeps): Promise<{ service: MarketService; pubsub: PubSub }> {
  const market = await createMarket(deps);
  marketRoutes(app, {
    service: market.service,
    guards: deps.guards,
    tiers: deps.config.tiers,
    importBodyLimitBytes: Math.max(deps.config.bodyLimitBytes, 64 * 1024 * 1024),
    indicatorMaxValues: deps.config.indicators.maxValues,
    // A slot outlives a crashed holder by at most its lease: longer than any request may run.
    indicatorSlots: createConcurrencyLimiter(
      { name: 'indicators-user', max: deps.config.indicators.maxConcurrentPerUser, leaseSeconds: Math.ceil(deps.config.requestTimeoutMs / 1000) + 30 },
      { redis: deps.redis, logger: deps.logger },
    ),
  });
  deps.usage?.register('watchlist_symbols', (userId) => market.service.watchlistCount(userId));
  app.addHook('onClose', async () => market.close());
  return { service: market.service, pubsub: market.pubsub };
}
