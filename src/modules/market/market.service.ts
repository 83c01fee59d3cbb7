// Market-data rules: quotes with staleness, candles from stored bars (filled from the
// history provider on first request), indicators over candles, search, CSV imports and
// watchlists. Quotes and candles are cached under cacheKey() keys (FAIL-008); new
// quotes and bars are published on the event bus. When the provider fails or its
// breaker is open, the last known quote is served flagged `stale: true` (FAIL-023).
import { randomUUID } from 'node:crypto';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import { AppError, conflict, notFound } from '../../platform/errors.ts';
import { cacheKey } from '../../platform/cache-keys.ts';
import type { Cache } from '../../platform/cache.ts';
import type { Clock } from '../../platform/clock.ts';
import { ProviderError } from '../../platform/http-client.ts';
import type { Logger } from '../../platform/logger.ts';
import type { PubSub } from '../../platform/pubsub.ts';
import { columnNames, firstIndexes, formatIndicatorSpec, prepareSeries, renderEngine, runEngines, type IndicatorSpec } from '../indicators/index.ts';
import { parsePriceCsv, streamedPriceCsv } from './csv-import.ts';
import { gapsIn, type CoverageRepository, type TimeRange } from './coverage.repository.ts';
import { BUCKET_ORIGIN, IMPORT_BATCH_ROWS, intervalMs, type CandleInterval, type CandleRow, type MarketRepository, type QuoteRow } from './market.repository.ts';
import { DEMO_SYMBOLS, type Bar, type BarInterval, type MarketDataProvider, type NewsItem, type SearchResult, type Trade, type TradeStream } from './providers/index.ts';

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
  coverage: CoverageRepository;
  providers: { live: MarketDataProvider | null; history: MarketDataProvider | null };
  cache: Cache;
  pubsub: PubSub;
  clock: Clock;
  logger: Logger;
  settings: {
    quoteStaleSeconds: number;
    quoteCacheSeconds: number;
    candleCacheSeconds: number;
    /** How long one computed indicator column is cached (its key names the exact bars it came from). */
    indicatorCacheSeconds?: number;
  };
  /** Told after each bulk write of bars (a fill from the history provider, an import): how many rows. */
  bulkWritten?: (rows: number) => Promise<void>;
}

interface CachedQuote {
  symbol: string;
  price: string;
  previous_close: string | null;
  as_of: string;
  source: string;
  /**
   * A fetched quote: when (ms since the epoch, on the service's clock) a read begins to
   * refresh it in the background, ahead of its expiry (REFRESH_AHEAD). Absent on a streamed
   * trade's quote, which the next trade replaces.
   */
  refresh_after?: number;
  /** When the shared cache drops it (ms since the epoch, on the writer's clock): the end of its lifetime. */
  expires_at?: number;
}

/** A symbol the live provider does not know, remembered for a quote's lifetime. */
interface MissingQuote {
  missing: true;
  expires_at?: number;
}

/**
 * How long this instance reads a quote from its own memory before asking the shared cache
 * again: another instance's newer quote (a refresh, a streamed trade) reaches this one's
 * readers within this bound. A quote is kept here never past its own lifetime (`expires_at`)
 * nor, for a fetched quote, past the point where its refresh is due (`refresh_after`), so
 * the refresh-ahead rule and its provider calls are unchanged. This instance's own writes
 * replace its copy at once.
 */
export const NEAR_QUOTE_MS = 1000;
/** Symbols whose quotes one instance keeps in memory at most (least recently stored dropped first). */
const NEAR_QUOTE_ENTRIES = 10_000;

/**
 * The part of QUOTE_CACHE_SECONDS after which a read of a fetched quote still answers from
 * the cache but also starts its refresh, so a quote that is read keeps being renewed before
 * it lapses and its readers never wait for the provider. The cached quote is served only
 * within its lifetime, as before.
 */
export const REFRESH_AHEAD = 0.9;

/** How far back from now the history provider is asked (its budget: minutes for days, days for decades). */
const MAX_FILL_MS: Record<BarInterval, number> = { '1m': 5 * 86_400_000, '1d': 20 * 366 * 86_400_000 };
/** Bars this close to now may still change or arrive late: they are fetched but never marked covered. */
const SETTLE_MS: Record<BarInterval, number> = { '1m': 5 * 60_000, '1d': 4 * 86_400_000 };
/** At most this many provider calls (uncovered gaps) per candle request. */
const MAX_GAPS_PER_FILL = 4;
/** A fill lease outlives a holder that died mid-fill by at most this long. */
const FILL_LEASE_MS = 60_000;
/** How long a request waits for another instance's fill of the same history before serving what is stored. */
const FILL_WAIT_MS = 20_000;
const BUCKET_ORIGIN_MS = Date.parse(BUCKET_ORIGIN);
const STORED_MS: Record<BarInterval, number> = { '1m': 60_000, '1d': 86_400_000 };

/** `t` aligned down to a multiple of `ms` counted from the bucket origin (a Monday, 00:00 UTC). */
function alignDown(t: number, ms: number): number {
  return BUCKET_ORIGIN_MS + Math.floor((t - BUCKET_ORIGIN_MS) / ms) * ms;
}

/**
 * How far before `to` the latest `limit` candles of `interval` surely start: markets
 * trade on about 5 days of 7 (and, for minutes, 6.5 hours of 24), so a range of
 * `limit` × interval would hold far fewer candles than asked for.
 */
export function lookbackMs(interval: CandleInterval, limit: number): number {
  const day = 86_400_000;
  switch (interval) {
    case '1d':
      return (Math.ceil(limit * 1.5) + 10) * day;
    case '1w':
      return (limit + 2) * 7 * day;
    case '1m':
    case '5m':
    case '15m':
    case '1h':
      return intervalMs(interval) * limit * 6 + 4 * day;
  }
}

function unknownSymbol(symbol: string, provider: string): AppError {
  return new AppError(404, 'unknown_symbol', 'Not found', {
    detail:
      provider === 'simulated'
        ? `${symbol} is not in the simulated demo universe (${DEMO_SYMBOLS.join(', ')}); set MARKET_DATA_PROVIDER to a real provider for other symbols.`
        : `${provider} does not know the symbol ${symbol}.`,
  });
}

export function createMarketService(deps: MarketServiceDeps) {
  const { repo, coverage, providers, cache, pubsub, clock, logger, settings } = deps;
  /** Fills running in this process, per symbol and stored resolution (single flight). */
  const inflight = new Map<string, Promise<number>>();
  const bulkWritten = async (rows: number) => {
    if (rows > 0) await deps.bulkWritten?.(rows).catch((err: unknown) => logger.warn({ err, event: 'bulk_write_hook_failed' }, 'could not act on a bulk price write'));
  };

  /** A quote is stale once its as_of is older than QUOTE_STALE_SECONDS at `nowMs`. */
  const isOldAt = (asOfMs: number, nowMs: number) => nowMs - asOfMs > settings.quoteStaleSeconds * 1000;
  const isOld = (asOf: Date) => isOldAt(asOf.getTime(), clock.now().getTime());

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

  /**
   * A cached quote as readers get it, fresh or stale by `now`. Both forms are made once per
   * cached value and shared by every read of it (a quote read from memory is the same object
   * for up to NEAR_QUOTE_MS), so they are frozen: a reader cannot change another's quote.
   */
  const servedForms = new WeakMap<CachedQuote, { asOfMs: number; fresh: Quote; stale: Quote }>();
  const served = (cached: CachedQuote, now: number): Quote => {
    let forms = servedForms.get(cached);
    if (forms === undefined) {
      const { refresh_after: _refreshAfter, expires_at: _expiresAt, ...quote } = cached;
      const asOf = new Date(quote.as_of);
      forms = { asOfMs: asOf.getTime(), fresh: Object.freeze({ ...quote, as_of: asOf, stale: false }), stale: Object.freeze({ ...quote, as_of: asOf, stale: true }) };
      servedForms.set(cached, forms);
    }
    return isOldAt(forms.asOfMs, now) ? forms.stale : forms.fresh;
  };

  /** Stores `value` as the most recent entry of `map`, dropping the least recently stored past NEAR_QUOTE_ENTRIES. */
  const keepBounded = <V>(map: Map<string, V>, symbol: string, value: V) => {
    map.delete(symbol);
    map.set(symbol, value);
    if (map.size > NEAR_QUOTE_ENTRIES) {
      const oldest = map.keys().next();
      if (oldest.done !== true) map.delete(oldest.value);
    }
  };
  const near = new Map<string, { value: CachedQuote | MissingQuote; until: number }>();
  /** Keeps `value` in this instance's memory within NEAR_QUOTE_MS and the quote's own lifetime (above). */
  const keepNear = (symbol: string, value: CachedQuote | MissingQuote, now: number) => {
    if (value.expires_at === undefined) return;
    // A read that began before this instance stored a newer quote must not put the older one back.
    const kept = near.get(symbol);
    if (kept !== undefined && now < kept.until && (kept.value.expires_at ?? 0) > value.expires_at) return;
    near.delete(symbol);
    const refreshAfter = 'missing' in value ? undefined : value.refresh_after;
    const until = Math.min(now + NEAR_QUOTE_MS, value.expires_at, refreshAfter ?? Number.POSITIVE_INFINITY);
    if (until > now) keepBounded(near, symbol, { value, until });
  };
  /**
   * While the live provider cannot answer for a symbol (outage, breaker open, or no live
   * provider configured), the last known value read from the database, or that there is
   * none, kept for NEAR_QUOTE_MS (for at most NEAR_QUOTE_ENTRIES symbols): within it, reads of the symbol ask neither the provider nor
   * the database again, so an outage costs one provider attempt and one fallback read per
   * symbol and second on an instance, not one per request. Its staleness is worked out
   * again on every read. Dropped when this instance stores a quote or bars of the symbol
   * (and a read that began before that is not kept); another instance's new value reaches
   * this one's readers within the same bound as a quote kept near.
   */
  const lastKnown = new Map<string, { row: Omit<Quote, 'stale'> | undefined; down: boolean; until: number }>();
  let lastKnownGeneration = 0;
  const forgetLastKnown = (symbol: string) => {
    lastKnownGeneration++;
    lastKnown.delete(symbol);
  };
  /** A last known value as its readers get it: stale while the provider is down for it, else by its age at `now`. */
  const lastKnownQuote = (row: Omit<Quote, 'stale'>, down: boolean, now: number): Quote => ({ ...row, stale: down || isOldAt(row.as_of.getTime(), now) });

  /** Writes a quote (or a symbol's absence) to the shared cache for its lifetime, and to this instance's memory. */
  const storeQuote = async (symbol: string, value: CachedQuote | MissingQuote) => {
    const now = clock.now().getTime();
    const stored = { ...value, expires_at: now + settings.quoteCacheSeconds * 1000 };
    near.delete(symbol);
    forgetLastKnown(symbol);
    await cache.set(cacheKey('quote', symbol), stored, settings.quoteCacheSeconds);
    keepNear(symbol, stored, now);
  };

  /**
   * A quote missing from the cache, from the live provider: stored, cached and published
   * when there is one, cached as missing when the provider knows no such symbol. One
   * refresh per symbol at a time in this process: the readers that find the same quote
   * expired at once (every holdings read of a popular symbol, the moment its cache entry
   * lapses) share one provider call and one write, instead of spending the provider's
   * per-minute budget and the database on copies of it.
   */
  const refreshing = new Map<string, Promise<{ quote?: QuoteRow; missing?: true; down?: true }>>();
  const refreshQuote = (symbol: string): Promise<{ quote?: QuoteRow; missing?: true; down?: true }> => {
    const running = refreshing.get(symbol);
    if (running !== undefined) return running;
    const work = (async () => {
      const answer = await fromProvider(symbol);
      if (answer.missing === true) {
        await storeQuote(symbol, { missing: true });
        return answer;
      }
      if (answer.quote === undefined) return answer;
      const q = answer.quote;
      await repo.saveQuote(q);
      const refreshAfter = clock.now().getTime() + settings.quoteCacheSeconds * 1000 * REFRESH_AHEAD;
      await storeQuote(symbol, { ...q, as_of: q.as_of.toISOString(), refresh_after: refreshAfter });
      await publish(QUOTE_EVENT, { symbol, price: q.price, previous_close: q.previous_close, as_of: q.as_of.toISOString(), source: q.source });
      return answer;
    })().finally(() => refreshing.delete(symbol));
    refreshing.set(symbol, work);
    return work;
  };

  let refreshesStopped = false;
  /** Starts refreshing a quote that is still served, unless a refresh of it is running (or the app is closing). */
  const refreshAhead = (symbol: string) => {
    if (refreshesStopped || refreshing.has(symbol)) return;
    refreshQuote(symbol).catch((err: unknown) => logger.warn({ err, event: 'quote_refresh_failed', symbol }, `could not refresh the quote for ${symbol} ahead of its expiry`));
  };

  /** Latest quotes; symbols nobody has a price for are absent. */
  const latestQuotes = async (symbols: string[]): Promise<Map<string, Quote>> => {
    const unique = [...new Set(symbols)];
    const result = new Map<string, Quote>();
    const fallback: string[] = [];
    const providerDown = new Set<string>();
    // Quotes this instance read within NEAR_QUOTE_MS from memory (and, while the provider
    // cannot answer, the last known values); the others from the shared cache in one round
    // trip; the provider only for the misses.
    let now = clock.now().getTime();
    const hits = new Map<string, CachedQuote | MissingQuote>();
    const shared: string[] = [];
    for (const symbol of unique) {
      const kept = near.get(symbol);
      if (kept !== undefined && now < kept.until) {
        hits.set(symbol, kept.value);
        continue;
      }
      const known = lastKnown.get(symbol);
      if (known === undefined || now >= known.until) shared.push(symbol);
      else if (known.row !== undefined) result.set(symbol, lastKnownQuote(known.row, known.down, now));
    }
    if (shared.length > 0) {
      const values = await cache.getMany<CachedQuote | MissingQuote>(shared.map((symbol) => cacheKey('quote', symbol)));
      now = clock.now().getTime();
      shared.forEach((symbol, index) => {
        const value = values[index];
        if (value === undefined) return;
        hits.set(symbol, value);
        keepNear(symbol, value, now);
      });
    }
    const misses = shared.filter((symbol) => !hits.has(symbol));
    hits.forEach((cached, symbol) => {
      if ('missing' in cached) return;
      if (cached.refresh_after !== undefined && now >= cached.refresh_after) refreshAhead(symbol);
      result.set(symbol, served(cached, now));
    });
    await Promise.all(
      misses.map(async (symbol) => {
        const answer = await refreshQuote(symbol);
        if (answer.missing === true) return;
        if (answer.quote === undefined) {
          if (providers.live !== null) providerDown.add(symbol);
          fallback.push(symbol);
          return;
        }
        result.set(symbol, { ...answer.quote, stale: isOld(answer.quote.as_of) });
      }),
    );
    if (fallback.length > 0) {
      // The last known value: a stored quote, else the newest stored bar's close.
      const generation = lastKnownGeneration;
      const known = new Map<string, Omit<Quote, 'stale'>>();
      for (const row of await repo.latestQuotes(fallback)) known.set(row.symbol, row);
      const still = fallback.filter((s) => !known.has(s));
      for (const bar of still.length === 0 ? [] : await repo.latestBars(still)) {
        // A bar's close is known at its end.
        const asOf = new Date(bar.ts.getTime() + (bar.interval === '1d' ? 86_400_000 : 60_000));
        known.set(bar.symbol, { symbol: bar.symbol, price: bar.close, previous_close: bar.previous_close, as_of: asOf, source: bar.source });
      }
      now = clock.now().getTime();
      for (const symbol of fallback) {
        const row = known.get(symbol);
        const down = providerDown.has(symbol);
        if (generation === lastKnownGeneration) keepBounded(lastKnown, symbol, { row, down, until: now + NEAR_QUOTE_MS });
        if (row !== undefined) result.set(symbol, lastKnownQuote(row, down, now));
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
    if (bars.length === 0) {
      await cache.set(cacheKey('bars-version', symbol), randomUUID(), 30 * 86_400);
      return;
    }
    let first = Number.POSITIVE_INFINITY;
    let last = Number.NEGATIVE_INFINITY;
    for (const bar of bars) {
      first = Math.min(first, bar.ts.getTime());
      last = Math.max(last, bar.ts.getTime());
    }
    await barRangeChanged(symbol, interval, { count: bars.length, first: new Date(first), last: new Date(last) }, source);
  };
  const barRangeChanged = async (symbol: string, interval: BarInterval, range: { count: number; first: Date; last: Date }, source: string) => {
    forgetLastKnown(symbol);
    await cache.set(cacheKey('bars-version', symbol), randomUUID(), 30 * 86_400);
    await publish(BARS_EVENT, { symbol, interval, count: range.count, from: range.first.toISOString(), to: range.last.toISOString(), source });
  };

  /** Bars before this instant are settled: once asked, their range is covered for good. */
  const settledBefore = (stored: BarInterval): number => alignDown(clock.now().getTime() - SETTLE_MS[stored], STORED_MS[stored]);

  /**
   * After a failed attempt a gap is not asked again within CANDLE_CACHE_SECONDS (an
   * outage is not hammered); the unsettled edge near now, never covered, is asked at most
   * once per CANDLE_CACHE_SECONDS either way. A fill in progress is not throttled here:
   * others wait for it on the lease and then look again.
   */
  const throttles = (stored: BarInterval, gap: TimeRange): string[][] => {
    const boundary = settledBefore(stored);
    // The key parts of each throttle: the settled part of the gap, and the edge near now.
    const parts: string[][] = [];
    if (gap.start.getTime() < boundary) parts.push([gap.start.toISOString(), new Date(Math.min(gap.end.getTime(), boundary)).toISOString()]);
    if (gap.end.getTime() > boundary) parts.push(['recent']);
    return parts;
  };

  /** The uncovered parts of `range` with a part not throttled. */
  const openGaps = async (symbol: string, stored: BarInterval, range: TimeRange): Promise<TimeRange[]> => {
    const gaps = gapsIn(range, await coverage.covered(symbol, stored, range));
    const open: TimeRange[] = [];
    for (const gap of gaps) {
      for (const parts of throttles(stored, gap)) {
        if ((await cache.get<true>(cacheKey('history-fill', symbol, stored, ...parts))) === undefined) {
          open.push(gap);
          break;
        }
      }
    }
    return open;
  };

  /** Takes the cross-instance fill lease, waiting (bounded) while another instance holds it. */
  const acquireLease = async (symbol: string, stored: BarInterval, holder: string): Promise<boolean> => {
    const deadline = Date.now() + FILL_WAIT_MS;
    for (;;) {
      const now = clock.now();
      if (await coverage.tryLease(symbol, stored, holder, now, new Date(now.getTime() + FILL_LEASE_MS))) return true;
      if (Date.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  /** Under the lease: asks the provider for each open gap, stores the bars, marks the settled part covered; returns the bars stored. */
  const fillGaps = async (provider: MarketDataProvider, symbol: string, stored: BarInterval, range: TimeRange): Promise<number> => {
    const holder = randomUUID();
    if (!(await acquireLease(symbol, stored, holder))) {
      logger.warn({ event: 'history_fill_busy', symbol, interval: stored }, `history of ${symbol} is being filled elsewhere; serving what is stored`);
      return 0;
    }
    let written = 0;
    try {
      // Looked at again under the lease: another instance may have filled it meanwhile.
      const gaps = (await openGaps(symbol, stored, range)).slice(0, MAX_GAPS_PER_FILL);
      for (const gap of gaps) {
        const throttled = throttles(stored, gap);
        const boundary = settledBefore(stored);
        let bars: Bar[];
        try {
          bars = await provider.history(symbol, stored, gap.start, gap.end);
        } catch (err) {
          if (!(err instanceof ProviderError)) throw err;
          for (const parts of throttled) await cache.set(cacheKey('history-fill', symbol, stored, ...parts), true, settings.candleCacheSeconds);
          logger.warn({ event: 'history_provider_unavailable', provider: err.provider, kind: err.kind, symbol }, `history for ${symbol}: ${err.message}`);
          return written;
        }
        bars = [...repo.retained(stored, bars)];
        if (bars.length > 0) {
          await repo.upsertBars(symbol, stored, bars, provider.name);
          written += bars.length;
          await barsChanged(symbol, stored, bars, provider.name);
        }
        const settled = Math.min(gap.end.getTime(), boundary);
        if (settled > gap.start.getTime()) await coverage.markCovered(symbol, stored, { start: gap.start, end: new Date(settled) });
        if (gap.end.getTime() > boundary) await cache.set(cacheKey('history-fill', symbol, stored, 'recent'), true, settings.candleCacheSeconds);
      }
    } finally {
      await coverage.releaseLease(symbol, stored, holder);
      await bulkWritten(written);
    }
    return written;
  };

  /**
   * Makes sure the history provider has been asked for every part of [from, to) within
   * its budget that is not yet covered, before and after what is stored. One fill per
   * symbol and resolution runs at a time: in this process a second request waits for
   * the running one and then looks again; across instances the lease does the same.
   */
  const ensureHistory = async (symbol: string, stored: BarInterval, from: Date, to: Date): Promise<number> => {
    const provider = providers.history;
    if (provider === null) return 0;
    const now = clock.now().getTime();
    const start = alignDown(Math.max(from.getTime(), now - MAX_FILL_MS[stored]), STORED_MS[stored]);
    const end = Math.min(to.getTime(), now);
    if (start >= end) return 0;
    const range = { start: new Date(start), end: new Date(end) };
    const key = `${symbol} ${stored}`;
    for (;;) {
      const running = inflight.get(key);
      if (running !== undefined) {
        await running.catch(() => undefined);
        continue;
      }
      if ((await openGaps(symbol, stored, range)).length === 0) return 0;
      if (inflight.has(key)) continue;
      const work = fillGaps(provider, symbol, stored, range).finally(() => inflight.delete(key));
      inflight.set(key, work);
      return work;
    }
  };

  /**
   * The latest `limit` candles of [from, to) (to defaults to now). Without `from`, the
   * latest `limit` candles before `to`, however far back they lie: the look-back is
   * estimated and, when it holds too few, widened to everything stored.
   */
  const candles = async (
    symbol: string,
    interval: CandleInterval,
    range: { from?: Date; to?: Date; limit: number },
  ): Promise<Candle[]> => {
    const to = range.to ?? clock.now();
    const from = range.from ?? new Date(to.getTime() - lookbackMs(interval, range.limit));
    if (from.getTime() >= to.getTime()) throw new AppError(400, 'invalid_range', 'Bad request', { detail: '`from` must be before `to`.' });
    const version = await barsVersion(symbol);
    const key = cacheKey('candles', symbol, interval, range.from?.toISOString() ?? 'auto', range.to?.toISOString() ?? 'now', range.limit, version);
    const cached = await cache.get<Array<Omit<Candle, 'ts'> & { ts: string }>>(key);
    if (cached !== undefined) return cached.map((c) => ({ ...c, ts: new Date(c.ts) }));
    const stored: BarInterval = interval === '1d' || interval === '1w' ? '1d' : '1m';
    // From the start of the first bucket, so the first candle is complete.
    await ensureHistory(symbol, stored, new Date(alignDown(from.getTime(), intervalMs(interval))), to);
    let rows: CandleRow[] = await repo.candles(symbol, interval, from, to, range.limit);
    if (range.from === undefined && rows.length < range.limit) rows = await repo.candles(symbol, interval, new Date(0), to, range.limit);
    if (rows.length === 0 && providers.history?.knows?.(symbol) === false) throw unknownSymbol(symbol, providers.history.name);
    // Requests with an open end ("until now") are cached briefly; a fixed range for longer.
    const ttl = range.to === undefined ? Math.min(settings.candleCacheSeconds, settings.quoteCacheSeconds) : settings.candleCacheSeconds;
    await cache.set(key, rows.map((r) => ({ ...r, ts: r.ts.toISOString() })), ttl);
    return rows;
  };

  // Live trades (Finnhub's trade stream, the simulation's ticks): the provider streams a
  // symbol while at least one watcher holds it (reference counted), and each trade becomes
  // the symbol's latest quote: cached like a fetched quote (so holdings value at it) and
  // published as QUOTE_EVENT with the trade's volume.
  let stream: TradeStream | undefined;
  const watchers = new Map<string, number>();

  const ingestTrade = async (trade: Trade): Promise<void> => {
    const previous = await cache.get<CachedQuote | MissingQuote>(cacheKey('quote', trade.symbol));
    // A trade carries no previous close: keep the cached quote's, or (cache expired or
    // empty) the stored quote's, so the day change stays known while trades stream.
    let previousClose = previous !== undefined && !('missing' in previous) ? previous.previous_close : null;
    if (previousClose === null) previousClose = (await repo.latestQuotes([trade.symbol]))[0]?.previous_close ?? null;
    const quote: CachedQuote = { symbol: trade.symbol, price: trade.price, previous_close: previousClose, as_of: trade.at.toISOString(), source: trade.source };
    await storeQuote(trade.symbol, quote);
    await publish(QUOTE_EVENT, { ...quote, volume: trade.volume });
  };

  const onTrade = (trade: Trade) => {
    if (!watchers.has(trade.symbol)) return;
    ingestTrade(trade).catch((err: unknown) => logger.warn({ err, event: 'trade_ingest_failed', symbol: trade.symbol }, 'could not record a streamed trade'));
  };

  /** Streams `symbol` from the live provider until the returned release is called (once per watch). */
  const watchSymbol = (symbol: string): (() => void) => {
    const provider = providers.live;
    if (provider?.streamTrades === undefined) return () => undefined;
    stream ??= provider.streamTrades(onTrade);
    const count = watchers.get(symbol) ?? 0;
    watchers.set(symbol, count + 1);
    if (count === 0) stream.subscribe(symbol);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (watchers.get(symbol) ?? 1) - 1;
      if (left > 0) {
        watchers.set(symbol, left);
        return;
      }
      watchers.delete(symbol);
      stream?.unsubscribe(symbol);
    };
  };

  /** Company news from the live provider; empty when there is none or it is down (logged). */
  const companyNews = async (symbol: string, from: Date, to: Date): Promise<NewsItem[]> => {
    const provider = providers.live;
    if (provider === null) return [];
    try {
      return await provider.news(symbol, from, to);
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err;
      logger.warn({ event: 'news_provider_unavailable', provider: err.provider, kind: err.kind, symbol }, `news for ${symbol} not available from ${err.provider} (${err.kind})`);
      return [];
    }
  };

  /**
   * Makes sure the daily history of each symbol over [from, to] has been asked of the
   * history provider (the same gap-free filling as candles: covered ranges are not asked
   * again), so valuations read real closes, not whatever earlier requests happened to store.
   */
  const fillDailyHistory = async (symbols: string[], from: Date, to: Date): Promise<void> => {
    for (const symbol of [...new Set(symbols)]) await ensureHistory(symbol, '1d', new Date(alignDown(from.getTime(), STORED_MS['1d'])), to);
  };

  return {
    latestQuotes,
    dailyCloses,
    fillDailyHistory,
    companyNews,
    candles,
    watchSymbol,
    /** Symbols streamed now and how many watchers each has (tests, metrics). */
    watchedSymbols: (): ReadonlyMap<string, number> => watchers,
    /** Stops the live trade stream (app shutdown). */
    stopStreaming: () => {
      stream?.close();
      stream = undefined;
      watchers.clear();
    },
    /** Starts no more background refreshes and waits for those running (app shutdown: they write to the database). */
    async stopRefreshing(): Promise<void> {
      refreshesStopped = true;
      await Promise.allSettled([...refreshing.values()]);
    },

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

    /**
     * Indicator values for the candles of the range. The engines start from the
     * `warmUp` candles before the range (the longest null prefix of the specs), so every
     * candle of the range has a value where history allows; those earlier candles are
     * not returned.
     */
    async indicators(symbol: string, interval: CandleInterval, specs: IndicatorSpec[], range: { from?: Date; to?: Date; limit: number }) {
      const series = await candles(symbol, interval, range);
      const first = series[0];
      const last = series.at(-1);
      if (first === undefined || last === undefined) throw notFound('Price history');
      const warmUp = Math.max(0, ...specs.flatMap(firstIndexes));
      const earlier = warmUp === 0 ? [] : await candles(symbol, interval, { to: first.ts, limit: warmUp });
      const all = [...earlier, ...series];
      // A column's values depend on exactly the bars it is computed over (EMA, RSI, MACD
      // and ATR on where the warm-up starts), so its key names them: the spec, the first
      // and the last bar, how many, which of them are returned, and the symbol's bar
      // version (new or corrected bars change it). Equal keys mean equal values.
      const version = await barsVersion(symbol);
      const keyOf = (spec: IndicatorSpec) =>
        cacheKey('indicator', symbol, interval, formatIndicatorSpec(spec), all[0]!.ts.toISOString(), last.ts.toISOString(), all.length, earlier.length, version);
      const found = await Promise.all(specs.map((spec) => cache.get<(string | null)[][]>(keyOf(spec))));
      const outputs = new Map<IndicatorSpec, (string | null)[][]>();
      specs.forEach((spec, i) => {
        const cached = found[i];
        if (cached !== undefined) outputs.set(spec, cached);
      });
      const missing = specs.filter((spec) => !outputs.has(spec));
      if (missing.length > 0) {
        const engines = runEngines(
          prepareSeries(all.map((c) => ({ close: c.close, high: c.high, low: c.low, open: c.open })), missing),
          missing,
        );
        // Rendering is the costly part: only the returned rows, one engine at a time, with
        // a turn of the event loop in between, so a large request never holds it long (FAIL-023).
        for (const [i, spec] of missing.entries()) {
          await yieldToLoop();
          const columns = renderEngine(engines[i]!, earlier.length, all.length);
          outputs.set(spec, columns);
          await cache.set(keyOf(spec), columns, settings.indicatorCacheSeconds ?? settings.candleCacheSeconds);
        }
      }
      logger.debug({ event: 'indicator_columns', symbol, interval, computed: missing.length, cached: specs.length - missing.length }, 'indicator columns');
      const named = specs.flatMap((spec) => {
        const values = outputs.get(spec)!;
        return columnNames(spec).map((name, c) => ({ name, values: values[c]! }));
      });
      return series.map((c, i) => ({
        ts: c.ts,
        close: c.close,
        values: Object.fromEntries(named.map((col) => [col.name, col.values[i] ?? null])),
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
      const { interval, bars } = parsePriceCsv(text, (done, total) => onProgress?.('parse', done, total), clock.now());
      const { inserted, updated } = await repo.upsertBars(symbol, interval, bars, 'csv');
      onProgress?.('write', bars.length, bars.length);
      // The imported span is history the provider need not be asked for.
      if (bars.length > 0) {
        let first = Number.POSITIVE_INFINITY;
        let last = Number.NEGATIVE_INFINITY;
        for (const bar of bars) {
          first = Math.min(first, bar.ts.getTime());
          last = Math.max(last, bar.ts.getTime());
        }
        await coverage.markCovered(symbol, interval, { start: new Date(first), end: new Date(last + STORED_MS[interval]) });
      }
      if (inserted + updated > 0) await barsChanged(symbol, interval, bars, 'csv');
      await bulkWritten(inserted + updated);
      logger.info({ event: 'prices_imported', symbol, interval, rows: bars.length, inserted, updated }, `imported ${bars.length} ${interval} bars for ${symbol}`);
      return { symbol, interval, rows: bars.length, inserted, updated, unchanged: bars.length - inserted - updated };
    },

    /**
     * A price CSV of any length read from a stream in bounded memory: checked whole
     * first (422 at the first bad row, nothing written), then written in one transaction
     * (COPY on PostgreSQL) with its rollups (the `financehub import prices` command).
     */
    async importCsvStream(
      symbol: string,
      open: () => Readable,
      onProgress?: (stage: 'parse' | 'write', done: number, total: number | undefined) => void,
    ): Promise<ImportResult> {
      const file = streamedPriceCsv(open, clock.now());
      const summary = await file.check((done) => onProgress?.('parse', done, undefined));
      const { inserted, updated } = await repo.importStream(symbol, summary, file.bars(IMPORT_BATCH_ROWS), 'csv', (done) =>
        onProgress?.('write', done, summary.rows),
      );
      const { interval, rows } = summary;
      if (inserted + updated > 0) await barRangeChanged(symbol, interval, { count: rows, first: summary.first, last: summary.last }, 'csv');
      await bulkWritten(inserted + updated);
      logger.info({ event: 'prices_imported', symbol, interval, rows, inserted, updated }, `imported ${rows} ${interval} bars for ${symbol}`);
      return { symbol, interval, rows, inserted, updated, unchanged: rows - inserted - updated };
    },

    /** Whether any bar behind these candles came from the simulation (the API marks them `simulated: true`). */
    async simulatedIn(symbol: string, interval: CandleInterval, items: ReadonlyArray<{ ts: Date }>): Promise<boolean> {
      const first = items[0];
      const last = items[items.length - 1];
      if (first === undefined || last === undefined) return false;
      const stored: BarInterval = interval === '1d' || interval === '1w' ? '1d' : '1m';
      return coverage.anySimulated(symbol, stored, { start: first.ts, end: new Date(last.ts.getTime() + intervalMs(interval)) });
    },

    watchlist: (userId: string) => repo.watchlist(userId),

    async addToWatchlist(userId: string, symbol: string, cap: number) {
      // Checked against the live provider: a typo is refused, not watched forever. When the
      // provider cannot answer (outage) the symbol is accepted rather than refused on a guess;
      // with no provider (stored data only) any ticker may be watched.
      const answer = await fromProvider(symbol);
      if (answer.missing === true && providers.live !== null) throw unknownSymbol(symbol, providers.live.name);
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

    // --- scheduled work (src/modules/schedules): every provider call goes through the
    // provider's own client (timeout, retries, breaker, shared per-minute budget, FAIL-017)
    // and every cache key through cacheKey() (FAIL-008).

    /** Symbols on anybody's watchlist, the most watched first; at most `limit`. */
    watchlistSymbols: (limit: number) => repo.mostWatched(limit),

    /**
     * Fresh quotes for at most `max` of `symbols`: those whose stored quote is oldest (or
     * missing) first, so successive runs over more symbols than the budget rotate through
     * all of them. Each fetched quote is stored, cached and published (alerts evaluate it).
     */
    async refreshQuotes(symbols: string[], max: number): Promise<{ asked: string[]; priced: number }> {
      const unique = [...new Set(symbols)];
      const asOf = new Map((await repo.latestQuotes(unique)).map((q) => [q.symbol, q.as_of.getTime()]));
      const asked = unique
        .map((symbol) => ({ symbol, at: asOf.get(symbol) ?? Number.NEGATIVE_INFINITY }))
        .sort((a, b) => a.at - b.at || (a.symbol < b.symbol ? -1 : 1))
        .slice(0, max)
        .map((e) => e.symbol);
      const found = await latestQuotes(asked);
      return { asked, priced: found.size };
    },

    /** The last `days` daily bars of each symbol, from the history provider where not stored; returns the bars written. */
    async fillDailyBars(symbols: string[], days: number): Promise<number> {
      const now = clock.now().getTime();
      let written = 0;
      for (const symbol of new Set(symbols)) {
        written += await ensureHistory(symbol, '1d', new Date(now - days * 86_400_000), new Date(now));
      }
      return written;
    },

    /**
     * Warms what a dashboard asks for first: the quote and the default daily candles
     * (GET /v1/market/candles/:symbol) of each symbol, filling stored history on the way.
     */
    async warm(symbols: string[], candleLimit: number): Promise<void> {
      await latestQuotes(symbols);
      for (const symbol of symbols) {
        try {
          await candles(symbol, '1d', { limit: candleLimit });
        } catch (err) {
          if (!(err instanceof AppError)) throw err;
          logger.warn({ event: 'cache_warm_skipped', symbol, code: err.code }, `no candles to warm for ${symbol}`);
        }
      }
    },
  };
}

export type MarketService = ReturnType<typeof createMarketService>;
