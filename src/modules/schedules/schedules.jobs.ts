// Scheduled market work on pg-boss cron: each occurrence of a schedule runs on ONE
// instance across all that share the database (pg-boss claims the cron pass and files
// each occurrence under one singleton key). The work is over the symbols somebody cares
// about: on a watchlist, bought in a portfolio, or with an active alert.
//   - quote refresh: fresh quotes (stored, cached, published: alerts evaluate them), at
//     most the schedules' share of the live provider's per-minute call budget per run,
//     oldest quotes first so a longer list rotates;
//   - daily candles after the close: the last days' daily bars filled from the history
//     provider (bars published: bar-driven alerts evaluate them);
//   - company news for watched and held symbols (deduplicated on insert);
//   - cache warming for the most watched symbols (quote and default daily candles; every
//     key from cacheKey(), FAIL-008, inside the market service).
// Every provider call goes through the market module's clients (timeouts, retries,
// breaker, shared rate limit: FAIL-017). Every handler is idempotent: running an
// occurrence twice refetches what is already stored, and stored rows are upserts.
import type { Clock } from '../../platform/clock.ts';
import type { JobQueue } from '../../platform/jobs/index.ts';

export const QUOTE_REFRESH_QUEUE = 'schedules.quotes';
export const DAILY_CANDLES_QUEUE = 'schedules.daily-candles';
export const NEWS_REFRESH_QUEUE = 'schedules.news';
export const CACHE_WARM_QUEUE = 'schedules.cache-warm';

/** Days of daily bars the after-close run makes sure of (covers a long weekend and a missed run). */
const DAILY_DAYS = 7;
/** News looked at per run: the last two days (the provider's items are deduplicated on insert). */
const NEWS_WINDOW_MS = 2 * 86_400_000;
/** The candle request warmed: GET /v1/market/candles/:symbol with its defaults. */
const WARM_CANDLE_LIMIT = 500;

export interface ScheduleSettings {
  enabled: boolean;
  quoteRefreshMinutes: number;
  providerBudgetPercent: number;
  maxSymbolsPerRun: number;
  dailyCandlesCron: string;
  newsCron: string;
  cacheWarmCron: string;
  cacheWarmSymbols: number;
}

export interface ScheduleDeps {
  symbols: {
    /** Watchlisted symbols, the most watched first. */
    watched: (limit: number) => Promise<string[]>;
    held: (limit: number) => Promise<string[]>;
    alerted: () => Promise<string[]>;
  };
  market: {
    refreshQuotes: (symbols: string[], max: number) => Promise<{ asked: string[]; priced: number }>;
    fillDailyBars: (symbols: string[], days: number) => Promise<number>;
    warm: (symbols: string[], candleLimit: number) => Promise<void>;
  };
  news: { refresh: (symbols: string[], from: Date, to: Date, options: { force: boolean }) => Promise<number> };
  clock: Clock;
  settings: ScheduleSettings;
  /** The live provider's per-minute call budget (shared by all instances); null: none (simulated, Yahoo). */
  callsPerMinute: number | null;
}

/**
 * Provider calls one run may make: its share (`providerBudgetPercent`) of one minute's
 * budget (the provider's limit is per minute, whatever the run's interval), split over
 * `runsPerMinute` runs of a timer that runs more often than once a minute; at least one,
 * at most `maxSymbolsPerRun` (the only cap when the provider has no budget).
 */
export function runBudget(callsPerMinute: number | null, settings: Pick<ScheduleSettings, 'providerBudgetPercent' | 'maxSymbolsPerRun'>, runsPerMinute = 1): number {
  if (callsPerMinute === null) return settings.maxSymbolsPerRun;
  const perMinute = (callsPerMinute * settings.providerBudgetPercent) / 100;
  return Math.min(settings.maxSymbolsPerRun, Math.max(1, Math.floor(perMinute / Math.max(1, runsPerMinute))));
}

export function createScheduledWork(deps: ScheduleDeps) {
  const { symbols, market, news, clock, settings } = deps;
  const budget = (): number => runBudget(deps.callsPerMinute, settings);
  const union = (...lists: string[][]): string[] => [...new Set(lists.flat())].sort();
  const cared = async (): Promise<string[]> =>
    union(await symbols.watched(settings.maxSymbolsPerRun), await symbols.held(settings.maxSymbolsPerRun), await symbols.alerted());

  return {
    budget,
    /** Watched, held and alerted symbols, sorted. */
    caredSymbols: cared,
    async refreshQuotes() {
      const all = await cared();
      const { asked, priced } = await market.refreshQuotes(all, budget());
      return { symbols: all.length, asked: asked.length, priced };
    },
    async dailyCandles() {
      const all = await cared();
      const bars = await market.fillDailyBars(all, DAILY_DAYS);
      return { symbols: all.length, bars };
    },
    async news() {
      const all = union(await symbols.watched(settings.maxSymbolsPerRun), await symbols.held(settings.maxSymbolsPerRun));
      // Over budget, successive runs take successive slices of the list (it rotates).
      const cap = budget();
      let chosen = all;
      if (all.length > cap) {
        const start = (Math.floor(clock.now().getTime() / 60_000) * cap) % all.length;
        chosen = [...all.slice(start), ...all.slice(0, start)].slice(0, cap);
      }
      const to = clock.now();
      const added = await news.refresh(chosen, new Date(to.getTime() - NEWS_WINDOW_MS), to, { force: true });
      return { symbols: chosen.length, added };
    },
    async warmCache() {
      const top = await symbols.watched(Math.min(settings.cacheWarmSymbols, budget()));
      await market.warm(top, WARM_CANDLE_LIMIT);
      return { symbols: top.length };
    },
  };
}

export type ScheduledWork = ReturnType<typeof createScheduledWork>;

/** Defines the scheduled queues; their crons are registered only with SCHEDULES_ENABLED (the default). */
export function defineScheduledJobs(jobs: JobQueue, work: ScheduledWork, settings: ScheduleSettings): void {
  const cron = (expression: string) => (settings.enabled ? { cron: expression } : {});
  // A missed occurrence is not worth retrying for long: the next one is minutes away.
  const define = (name: string, expression: string, run: () => Promise<Record<string, number>>, event: string, message: string) =>
    jobs.define({
      name,
      retryLimit: 1,
      ...cron(expression),
      async handler(_payload, context) {
        context.logger.info({ event, ...(await run()) }, message);
      },
    });
  const minutes = settings.quoteRefreshMinutes;
  define(QUOTE_REFRESH_QUEUE, minutes === 1 ? '* * * * *' : `*/${minutes} * * * *`, () => work.refreshQuotes(), 'schedule_quotes_refreshed', 'refreshed quotes of watched, held and alerted symbols');
  define(DAILY_CANDLES_QUEUE, settings.dailyCandlesCron, () => work.dailyCandles(), 'schedule_daily_candles_filled', 'filled daily bars after the close');
  define(NEWS_REFRESH_QUEUE, settings.newsCron, () => work.news(), 'schedule_news_refreshed', 'refreshed company news of watched and held symbols');
  define(CACHE_WARM_QUEUE, settings.cacheWarmCron, () => work.warmCache(), 'schedule_cache_warmed', 'warmed the cache for the most watched symbols');
}
