// Builds the configured providers: one for quotes, search, profiles and news
// (MARKET_DATA_PROVIDER) and one for history (MARKET_HISTORY_PROVIDER, by default the
// same, except Finnhub, whose candles are premium-only, which pairs with Yahoo). Each
// external provider gets its own HTTP client: its own timeout, retries, breaker,
// bulkhead and rate limit (FAIL-017).
import type { Config } from '../../../config.ts';
import type { Clock } from '../../../platform/clock.ts';
import { createHttpClient } from '../../../platform/http-client.ts';
import type { LimiterFactory } from '../../../platform/limits/index.ts';
import type { Logger } from '../../../platform/logger.ts';
import { createFinnhubProvider } from './finnhub.ts';
import type { MarketDataProvider } from './provider.ts';
import { createSimulatedProvider } from './simulated.ts';
import { createYahooProvider } from './yahoo.ts';

export type { Bar, BarInterval, CompanyProfile, MarketDataProvider, NewsItem, ProviderQuote, SearchResult, Trade, TradeStream } from './provider.ts';
export { createFinnhubProvider } from './finnhub.ts';
export { createSimulatedProvider, centsToDecimal, DEMO_SYMBOLS } from './simulated.ts';
export { createYahooProvider } from './yahoo.ts';

export type ProviderConfig = Pick<
  Config,
  | 'marketDataProvider'
  | 'marketHistoryProvider'
  | 'finnhubApiKey'
  | 'finnhubBaseUrl'
  | 'finnhubWebsocketUrl'
  | 'finnhubCallsPerMinute'
  | 'yahooBaseUrl'
  | 'providerTimeoutMs'
  | 'providerRetries'
  | 'providerBreakerFailures'
  | 'providerBreakerHalfOpenMs'
  | 'providerMaxResponseBytes'
  | 'providerMaxRetryAfterSeconds'
>;

export interface Providers {
  /** Quotes, search, profiles, news; null with MARKET_DATA_PROVIDER=none. */
  live: MarketDataProvider | null;
  /** Daily/intraday history; null when none is configured. */
  history: MarketDataProvider | null;
}

export function createProviders(config: ProviderConfig, deps: { logger: Logger; clock: Clock; limits: LimiterFactory }): Providers {
  const made = new Map<string, MarketDataProvider>();
  const client = (name: string, baseUrl: string, extra: { headers?: Record<string, string>; perMinute?: number } = {}) =>
    createHttpClient({
      name,
      baseUrl,
      logger: deps.logger,
      timeoutMs: config.providerTimeoutMs,
      retries: config.providerRetries,
      breakerThreshold: config.providerBreakerFailures,
      breakerHalfOpenMs: config.providerBreakerHalfOpenMs,
      maxResponseBytes: config.providerMaxResponseBytes,
      maxRetryAfterSeconds: config.providerMaxRetryAfterSeconds,
      // A 429's Retry-After pauses this provider for every instance (shared through Redis).
      pauses: deps.limits.createLimiter({ name: `provider-${name}-pause`, points: 1, durationSeconds: 1 }),
      ...(extra.headers === undefined ? {} : { headers: extra.headers }),
      ...(extra.perMinute === undefined
        ? {}
        : { rateLimit: deps.limits.createLimiter({ name: `provider-${name}`, points: extra.perMinute, durationSeconds: 60 }) }),
    });
  const build = (name: Config['marketDataProvider']): MarketDataProvider | null => {
    const existing = made.get(name);
    if (existing !== undefined) return existing;
    let provider: MarketDataProvider | null;
    switch (name) {
      case 'none':
        return null;
      case 'simulated':
        provider = createSimulatedProvider({ clock: deps.clock });
        break;
      case 'finnhub': {
        const apiKey = config.finnhubApiKey ?? '';
        provider = createFinnhubProvider({
          client: client('finnhub', config.finnhubBaseUrl, { headers: { 'x-finnhub-token': apiKey }, perMinute: config.finnhubCallsPerMinute }),
          logger: deps.logger,
          apiKey,
          websocketUrl: config.finnhubWebsocketUrl,
          maxMessageBytes: config.providerMaxResponseBytes,
          handshakeTimeoutMs: config.providerTimeoutMs,
        });
        break;
      }
      case 'yahoo':
        // Yahoo refuses requests without a browser-like User-Agent.
        provider = createYahooProvider({ client: client('yahoo', config.yahooBaseUrl, { headers: { 'user-agent': 'Mozilla/5.0 (compatible; FinanceHub)' } }) });
        break;
    }
    made.set(name, provider);
    return provider;
  };
  return { live: build(config.marketDataProvider), history: build(config.marketHistoryProvider) };
}
