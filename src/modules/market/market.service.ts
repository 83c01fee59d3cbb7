// Market-data rules: quotes with staleness, candles from stored bars (filled from the
// history provider on first request), indicators over candles, search, CSV imports and
// watchlists. Quotes and candles are cached under cacheKey() keys (FAIL-008); new
// quotes and bars are published on the event bus. When the provider fails or its
// breaker is open, the last known quote is served flagged `stale: true` (FAIL-023).
import { randomUUID } from 'node:crypto';
import { AppError, conflict, notFound } from '../../platform/errors.ts';
import { cacheKey } from '../../platform/cache-keys.ts';
import type { Cache } from '../../platform/cache.ts';
import type { Clock } from '../../platform/clock.ts';
import { ProviderError } from '../../platform/http-client.ts';
import type { Logger } from '../../platform/logger.ts';
import type { PubSub } from '../../platform/pubsub.ts';
import { computeIndicators, type IndicatorSpec } from '../indicators/index.ts';
import { parsePriceCsv } from './csv-import.ts';
import { intervalMs, type CandleInterval, type CandleRow, type MarketRepository, type QuoteRow } from './market.repository.ts';
import type { Bar, BarInterval, MarketDataProvider, SearchResult } from './providers/index.ts';

export const QUOTE_EVENT = 'market.quote';
export const BARS_EVENT = 'market.bars';

export interface Quote {
  symbol: string;
  price: string;
  previous_close: string | null;
  as_of: Date;
  stale: boolean;
  source: string;
}

export interface Candle {
  ts: Date;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
}

export interface ImportResult {
  symbol: string;
  interval: BarInterval;
  rows: number;
  inserted: number;
  updated: number;
  unchanged: number;
}

export interface MarketServiceDeps {
  repo: MarketRepository;
  providers: { live: MarketDataProvider | null; history: MarketDataProvider | null };
  cache: Cache;
  pubsub: PubSub;
  clock: Clock;
  logger: Logger;
  settings: { quoteStaleSeconds: number; quoteCacheSeconds: number; candleCacheSeconds: number };
}

interface CachedQuote {
  symbol: string;
  price: string;
  previous_close: string | null;
  as_of: string;
  source: string;
}

/** How far back a first candle request fills from the history provider. */
const MAX_FILL_MS: Record<BarInterval, number> = { '1m': 5 * 86_400_000, '1d': 20 * 366 * 86_400_000 };
/** How far the newest stored bar may trail the requested end before a fill (weekends for days). */
const FILL_TOLERANCE_MS: Record<BarInterval, number> = { '1m': 5 * 60_000, '1d': 4 * 86_400_000 };

export function createMarketService(deps: MarketServiceDeps) {
  const { repo, providers, cache, pubsub, clock, logger, settings } = deps;

  const isOld = (asOf: Date) => clock.now().getTime() - asOf.getTime() > settings.quoteStaleSeconds * 1000;

  const publish = (channel: string, message: unknown) =>
    pubsub.publish(channel, message).catch((err: unknown) => logger.warn({ err, event: 'market_event_failed', channel }, 'could not publish a market event'));

  /** Asks the live provider; `down` when it failed (timeout, breaker open, bad answer …). */
  const fromProvider = async (symbol: string): Promise<{ quote?: QuoteRow; missing?: true; down?: true }> => {
    const provider = providers.live;
    if (provider === null) return { down: true };
    try {
      const quote = await provider.quote(symbol);
      if (quote === null) return { missing: true };
      return { quote };
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err;
      logger.warn(
        { event: 'quote_provider_unavailable', provider: err.provider, kind: err.kind, symbol },
        `quote for ${symbol} not available from ${err.provider} (${err.kind}); serving the last known value`,
      );
      return { down: true };
    }
  };

  /** Latest quotes; symbols nobody has a price for are absent. */
  const latestQuotes = async (symbols: string[]): Promise<Map<string, Quote>> => {
    const unique = [...new Set(symbols)];
    const result = new Map<string, Quote>();
    const fallback: string[] = [];
    const providerDown = new Set<string>();
    await Promise.all(
      unique.map(async (symbol) => {
        const key = cacheKey('quote', symbol);
        const cached = await cache.get<CachedQuote | { missing: true }>(key);
        if (cached !== undefined) {
          if ('missing' in cached) return;
          const asOf = new Date(cached.as_of);
          result.set(symbol, { ...cached, as_of: asOf, stale: isOld(asOf) });
          return;
        }
        const answer = await fromProvider(symbol);
        if (answer.missing === true) {
          await cache.set(key, { missing: true }, settings.quoteCacheSeconds);
          return;
        }
        if (answer.quote === undefined) {
          if (providers.live !== null) providerDown.add(symbol);
          fallback.push(symbol);
          return;
        }
        const q = answer.quote;
        result.set(symbol, { ...q, stale: isOld(q.as_of) });
        await repo.saveQuote(q);
        await cache.set(key, { ...q, as_of: q.as_of.toISOString() }, settings.quoteCacheSeconds);
        await publish(QUOTE_EVENT, { symbol, price: q.price, previous_close: q.previous_close, as_of: q.as_of.toISOString(), source: q.source });
      }),
    );
    if (fallback.length > 0) {
      // The last known value: a stored quote, else the newest stored bar's close.
      for (const row of await repo.latestQuotes(fallback)) {
        result.set(row.symbol, { ...row, stale: providerDown.has(row.symbol) || isOld(row.as_of) });
      }
      const still = fallback.filter((s) => !result.has(s));
      for (const bar of await repo.latestBars(still)) {
        // A bar's close is known at its end.
        const asOf = new Date(bar.ts.getTime() + (bar.interval === '1d' ? 86_400_000 : 60_000));
        result.set(bar.symbol, {
          symbol: bar.symbol,
          price: bar.close,
          previous_close: bar.previous_close,
          as_of: asOf,
          stale: providerDown.has(bar.symbol) || isOld(asOf),
          source: bar.source,
        });
      }
    }
    return result;
  };

  /** Stored daily closes per symbol, oldest first (for portfolio valuation). */
  const dailyCloses = async (symbols: string[], from: Date, to: Date): Promise<Map<string, Array<{ date: string; close: string }>>> => {
    const result = new Map<string, Array<{ date: string; close: string }>>();
    for (const row of await repo.dailyCloses([...new Set(symbols)], from, to)) {
      let list = result.get(row.symbol);
      if (list === undefined) {
        list = [];
        result.set(row.symbol, list);
      }
      list.push({ date: row.ts.toISOString().slice(0, 10), close: row.close });
    }
    return result;
  };

  const barsVersion = async (symbol: string): Promise<string> =>
    (await cache.get<string>(cacheKey('bars-version', symbol))) ?? '0';

  /** New bars for a symbol: cached candles of it are never read again, and subscribers hear of it. */
  const barsChanged = async (symbol: string, interval: BarInterval, bars: readonly Bar[], source: string) => {
    await cache.set(cacheKey('bars-version', symbol), randomUUID(), 30 * 86_400);
    if (bars.length === 0) return;
    let first = Number.POSITIVE_INFINITY;
    let last = Number.NEGATIVE_INFINITY;
    for (const bar of bars) {
      first = Math.min(first, bar.ts.getTime());
      last = Math.max(last, bar.ts.getTime());
    }
    await publish(BARS_EVENT, { symbol, interval, count: bars.length, from: new Date(first).toISOString(), to: new Date(last).toISOString(), source });
  };

  /** Fetches [from, to) from the history provider and stores it; false when nothing came. */
  const fill = async (symbol: string, stored: BarInterval, from: Date, to: Date): Promise<boolean> => {
    const provider = providers.history;
    if (provider === null) return false;
    const start = new Date(Math.max(from.getTime(), to.getTime() - MAX_FILL_MS[stored]));
    let bars: Bar[];
    try {
      bars = await provider.history(symbol, stored, start, to);
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err;
      logger.warn({ event: 'history_provider_unavailable', provider: err.provider, kind: err.kind, symbol }, `history for ${symbol}: ${err.message}`);
      return false;
    }
    if (bars.length === 0) return false;
    await repo.upsertBars(symbol, stored, bars, provider.name);
    await barsChanged(symbol, stored, bars, provider.name);
    return true;
  };

  const candles = async (
    symbol: string,
    interval: CandleInterval,
    range: { from?: Date; to?: Date; limit: number },
  ): Promise<Candle[]> => {
    const to = range.to ?? clock.now();
    const from = range.from ?? new Date(to.getTime() - intervalMs(interval) * range.limit);
    if (from.getTime() >= to.getTime()) throw new AppError(400, 'invalid_range', 'Bad request', { detail: '`from` must be before `to`.' });
    const version = await barsVersion(symbol);
    const key = cacheKey('candles', symbol, interval, range.from?.toISOString() ?? 'auto', range.to?.toISOString() ?? 'now', range.limit, version);
    const cached = await cache.get<Array<Omit<Candle, 'ts'> & { ts: string }>>(key);
    if (cached !== undefined) return cached.map((c) => ({ ...c, ts: new Date(c.ts) }));
    const stored: BarInterval = interval === '1d' || interval === '1w' ? '1d' : '1m';
    // Fill from the history provider what is missing at the end of the range (all of it on
    // a first request), at most once per symbol and resolution per CANDLE_CACHE_SECONDS.
    const latest = await repo.latestBarTs(symbol, stored);
    const behind = latest === null || latest.getTime() + FILL_TOLERANCE_MS[stored] < to.getTime();
    const attemptKey = cacheKey('history-fill', symbol, stored);
    if (providers.history !== null && behind && (await cache.get<true>(attemptKey)) === undefined) {
      await cache.set(attemptKey, true, settings.candleCacheSeconds);
      const start = latest === null || latest.getTime() < from.getTime() ? from : new Date(latest.getTime() + 1);
      await fill(symbol, stored, start, to);
    }
    const rows: CandleRow[] = await repo.candles(symbol, interval, from, to, range.limit);
    // Requests with an open end ("until now") are cached briefly; a fixed range for longer.
    const ttl = range.to === undefined ? Math.min(settings.candleCacheSeconds, settings.quoteCacheSeconds) : settings.candleCacheSeconds;
    await cache.set(key, rows.map((r) => ({ ...r, ts: r.ts.toISOString() })), ttl);
    return rows;
  };

  return {
    latestQuotes,
    dailyCloses,
    candles,

    /** Quotes for the API: found ones in request order, and the symbols nobody knows. */
    async quotes(symbols: string[]): Promise<{ items: Quote[]; not_found: string[] }> {
      const found = await latestQuotes(symbols);
      const unique = [...new Set(symbols)];
      return {
        items: unique.flatMap((s) => {
          const q = found.get(s);
          return q === undefined ? [] : [q];
        }),
        not_found: unique.filter((s) => !found.has(s)),
      };
    },

    async indicators(symbol: string, interval: CandleInterval, specs: IndicatorSpec[], range: { from?: Date; to?: Date; limit: number }) {
      const series = await candles(symbol, interval, range);
      if (series.length === 0) throw notFound('Price history');
      const columns = computeIndicators(
        series.map((c) => ({ close: c.close, high: c.high, low: c.low, open: c.open })),
        specs,
      );
      return series.map((c, i) => ({
        ts: c.ts,
        close: c.close,
        values: Object.fromEntries(columns.map((col) => [col.name, col.values[i] ?? null])),
      }));
    },

    async search(query: string): Promise<SearchResult[]> {
      let remote: SearchResult[] = [];
      if (providers.live !== null) {
        try {
          remote = await providers.live.search(query);
        } catch (err) {
          if (!(err instanceof ProviderError)) throw err;
          if (err.kind !== 'not_supported') logger.warn({ event: 'search_provider_unavailable', provider: err.provider, kind: err.kind }, 'search served from stored instruments only');
        }
      }
      const valid = remote.filter((r) => /^[A-Z0-9][A-Z0-9.-]{0,14}$/.test(r.symbol)).slice(0, 50);
      await repo.saveInstruments(valid.map((r) => ({ symbol: r.symbol, name: r.name, type: r.type, exchange: r.exchange, currency: null, source: r.source })));
      const local = await repo.searchInstruments(query, 20);
      const seen = new Set(valid.map((r) => r.symbol));
      return [
        ...valid,
        ...local
          .filter((r) => !seen.has(r.symbol))
          .map((r) => ({ symbol: r.symbol, name: r.name ?? r.symbol, type: r.type, exchange: r.exchange, source: r.source })),
      ].slice(0, 50);
    },

    /** Checks the whole CSV, then writes it in one transaction (idempotent on symbol, interval, ts). */
    async importCsv(symbol: string, text: string, onProgress?: (stage: 'parse' | 'write', done: number, total: number) => void): Promise<ImportResult> {
      const { interval, bars } = parsePriceCsv(text, (done, total) => onProgress?.('parse', done, total));
      const { inserted, updated } = await repo.upsertBars(symbol, interval, bars, 'csv');
      onProgress?.('write', bars.length, bars.length);
      if (inserted + updated > 0) await barsChanged(symbol, interval, bars, 'csv');
      logger.info({ event: 'prices_imported', symbol, interval, rows: bars.length, inserted, updated }, `imported ${bars.length} ${interval} bars for ${symbol}`);
      return { symbol, interval, rows: bars.length, inserted, updated, unchanged: bars.length - inserted - updated };
    },

    watchlist: (userId: string) => repo.watchlist(userId),

    async addToWatchlist(userId: string, symbol: string, cap: number) {
      const result = await repo.addToWatchlist(userId, symbol, cap, clock.now());
      if (result.outcome === 'full') {
        throw new AppError(409, 'watchlist_full', 'Conflict', {
          detail: `Your watchlist holds its maximum of ${cap} symbols for your plan; remove one first.`,
          extra: { limit: cap },
        });
      }
      if (result.row === undefined) throw conflict('watchlist_conflict', 'The watchlist changed meanwhile; try again.');
      return { created: result.outcome === 'added', item: result.row };
    },

    async removeFromWatchlist(userId: string, symbol: string): Promise<void> {
      if (!(await repo.removeFromWatchlist(userId, symbol))) throw notFound('Watchlist symbol');
    },

    watchlistCount: (userId: string) => repo.watchlistCount(userId),
  };
}

export type MarketService = ReturnType<typeof createMarketService>;
