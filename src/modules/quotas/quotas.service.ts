// Tiers and quotas (FAIL-007): the daily API request quota, counted per user and UTC day,
// and the per-tier limits of
// resources other modules own (alerts, watchlist symbols, WebSocket connections,
// templates), whose current usage those modules report through the usage registry.
import type { TierLimits } from '../../config.ts';
import type { Clock } from '../../platform/clock.ts';
import { AppError } from '../../platform/errors.ts';
import type { Tier } from '../../platform/http/principal.ts';
import type { Logger } from '../../platform/logger.ts';
import type { DailyUsageStore } from './quotas.repository.ts';

export const COUNTED_RESOURCES = ['alerts', 'watchlist_symbols', 'ws_connections', 'templates', 'portfolios', 'transactions_per_portfolio', 'splits_per_portfolio'] as const;
export type CountedResource = (typeof COUNTED_RESOURCES)[number];
export type QuotaResource = 'api_requests_per_day' | CountedResource;

/** How many of a resource a user has now (e.g. `SELECT count(*) … WHERE user_id = $1`). */
export type UsageCounter = (userId: string) => Promise<number>;
/** How many of each of several resources a user has, read together (one query for all). */
export type UsagesCounter<R extends CountedResource> = (userId: string) => Promise<Record<R, number>>;

export interface UsageRegistry {
  /** Called once by the module owning the resource, at wiring time. */
  register: (resource: CountedResource, counter: UsageCounter) => void;
  /** Like `register`, for resources one read counts together. */
  registerTogether: <R extends CountedResource>(resources: readonly R[], counter: UsagesCounter<R>) => void;
  /** The usage, or 0 while no module owns the resource yet (then none can exist). */
  usage: (resource: CountedResource, userId: string) => Promise<number>;
  /** Every resource's usage, each registered counter called once. */
  usages: (userId: string) => Promise<Record<CountedResource, number>>;
}

export function createUsageRegistry(): UsageRegistry {
  const counters = new Map<CountedResource, UsagesCounter<CountedResource>>();
  const registerTogether = <R extends CountedResource>(resources: readonly R[], counter: UsagesCounter<R>) => {
    for (const resource of resources) {
      if (counters.has(resource)) throw new TypeError(`a usage counter for ${resource} is already registered`);
    }
    for (const resource of resources) counters.set(resource, counter as UsagesCounter<CountedResource>);
  };
  return {
    register: (resource, counter) => registerTogether([resource], async (userId) => ({ [resource]: await counter(userId) }) as Record<CountedResource, number>),
    registerTogether,
    usage: async (resource, userId) => {
      const counter = counters.get(resource);
      return counter === undefined ? 0 : (await counter(userId))[resource];
    },
    usages: async (userId) => {
      const read = await Promise.all([...new Set(counters.values())].map((counter) => counter(userId)));
      const all = Object.fromEntries(COUNTED_RESOURCES.map((resource) => [resource, 0])) as Record<CountedResource, number>;
      for (const counts of read) Object.assign(all, counts);
      return all;
    },
  };
}

export interface QuotaEntry {
  usage: number;
  limit: number;
  /** When the usage goes back to 0 (daily quotas); null for standing counts. */
  reset: Date | null;
}

export type Quota = { tier: Tier } & Record<QuotaResource, QuotaEntry>;

export interface DailyRequestCount {
  allowed: boolean;
  usage: number;
  limit: number;
  remaining: number;
  /** Seconds until the next UTC midnight, at least 1. */
  resetSeconds: number;
  reset: Date;
}

const RESOURCE_LIMIT: Record<CountedResource, keyof TierLimits> = {
  alerts: 'alerts',
  watchlist_symbols: 'watchlistSymbols',
  ws_connections: 'wsConnections',
  templates: 'templates',
  portfolios: 'portfolios',
  transactions_per_portfolio: 'transactionsPerPortfolio',
  splits_per_portfolio: 'splitsPerPortfolio',
};

const DAY_MS = 86_400_000;

/** Users' counts one flush statement carries at most (a bounded statement, FAIL-023). */
export const MAX_USERS_PER_FLUSH = 1000;

export interface QuotaServiceDeps {
  tiers: Readonly<Record<Tier, Readonly<TierLimits>>>;
  /** The day's counts in the database: the one record every instance adds to. */
  store: DailyUsageStore;
  usage: UsageRegistry;
  clock: Clock;
  logger: Logger;
  /** Requests an instance counts locally before it adds them to the store (and waits). */
  flushBatch: number;
  /** The longest an instance keeps a count to itself. */
  flushIntervalMs: number;
}

interface DayCount {
  userId: string;
  day: string;
  /** The day's total in the store when this instance last read or added to it. */
  base: number;
  /** Counted here, being added to the store now. */
  inflight: number;
  /** Counted here, not yet sent. */
  pending: number;
  flushing: Promise<void> | undefined;
  loading: Promise<void> | undefined;
}

export function createQuotaService(deps: QuotaServiceDeps) {
  const { tiers, usage, clock, store, logger } = deps;
  // The daily request quota, counted in memory and added to the database in batches
  // (issue 14): no database or Redis round trip on a request's path, except the first
  // request of a user's day on an instance (reads the day's total) and one in every
  // `flushBatch` (adds the batch). The tier's limit is compared here, so a tier change
  // applies on the next request and keeps the day's count.
  // Bound (docs/limits.md): an instance admits a request only while the day's total it
  // last saw plus its own unsent count stays within the limit, and never holds more than
  // 2 × flushBatch unsent (a full batch in flight and the next one). So one instance
  // alone never lets a user over the quota; with N instances the user can get at most
  // 2 × flushBatch × N requests more than the quota before every instance refuses.
  // Counts live in the database, so a Redis or process restart resets nothing; a crash
  // loses at most the unsent count (in the user's favour).
  const counts = new Map<string, DayCount>();

  // The current UTC day, worked out again only when the clock leaves it.
  let today = { start: 0, end: 0, name: '', reset: new Date(0) };
  const day = (now: Date) => {
    const ms = now.getTime();
    if (ms < today.start || ms >= today.end) {
      const start = Math.floor(ms / DAY_MS) * DAY_MS;
      today = { start, end: start + DAY_MS, name: new Date(start).toISOString().slice(0, 10), reset: new Date(start + DAY_MS) };
    }
    return { name: today.name, reset: today.reset, resetSeconds: Math.max(1, Math.ceil((today.end - ms) / 1000)) };
  };

  const toCount = (consumed: number, tier: Tier, now: Date): DailyRequestCount => {
    const limit = tiers[tier].requestsPerDay;
    const { reset, resetSeconds } = day(now);
    return {
      allowed: consumed <= limit,
      usage: Math.min(consumed, limit),
      limit,
      remaining: Math.max(0, limit - consumed),
      resetSeconds,
      reset,
    };
  };

  /** Sends the unsent counts of one or more users' days in one store call. */
  const flushMany = (entries: DayCount[]): Promise<void> => {
    const sending = entries.map((entry) => {
      const count = entry.pending;
      entry.pending = 0;
      entry.inflight = count;
      return { userId: entry.userId, day: entry.day, count };
    });
    const flushing = store
      .addMany(sending)
      .then(
        (totals) => {
          for (const entry of entries) entry.base = totals.get(`${entry.userId}:${entry.day}`) ?? entry.base;
        },
        (err: unknown) => {
          // Kept and sent with the next flush; until then they still count here.
          entries.forEach((entry, i) => (entry.pending += sending[i]?.count ?? 0));
          logger.error({ err, event: 'quota_flush_failed' }, 'could not record request counts; retrying with the next flush');
        },
      )
      .finally(() => {
        for (const entry of entries) {
          entry.inflight = 0;
          entry.flushing = undefined;
        }
      });
    for (const entry of entries) entry.flushing = flushing;
    return flushing;
  };

  /** Sends the entry's unsent count, or waits for the flush already under way. */
  const flush = (entry: DayCount): Promise<void> => {
    if (entry.flushing !== undefined || entry.pending === 0) return entry.flushing ?? Promise.resolve();
    return flushMany([entry]);
  };

  const entryFor = async (userId: string, dayName: string): Promise<DayCount> => {
    const key = `${userId}:${dayName}`;
    let entry = counts.get(key);
    if (entry === undefined) {
      const created: DayCount = { userId, day: dayName, base: 0, inflight: 0, pending: 0, flushing: undefined, loading: undefined };
      created.loading = store.get(userId, dayName).then((total) => {
        created.base = Math.max(created.base, total);
        created.loading = undefined;
      });
      counts.set(key, created);
      entry = created;
      // If the read fails, the next request reads again.
      created.loading.catch(() => counts.delete(key));
    }
    if (entry.loading !== undefined) await entry.loading;
    return entry;
  };

  const admit = (entry: DayCount, tier: Tier, now: Date): DailyRequestCount => {
    // Refused requests count too (as they always have): a tier raised later sees them.
    const seen = entry.base + entry.inflight + entry.pending + 1;
    entry.pending++;
    if (entry.pending >= deps.flushBatch) void flush(entry);
    return toCount(seen, tier, now);
  };

  /** Counts one API request of the user; `allowed: false` once over the tier's daily quota. */
  const countRequest = async (userId: string, tier: Tier): Promise<DailyRequestCount> => {
    const now = clock.now();
    const entry = await entryFor(userId, day(now).name);
    // Never more than a batch in flight plus a batch waiting: that is what bounds over-use.
    while (entry.pending >= deps.flushBatch) await flush(entry);
    return admit(entry, tier, now);
  };

  /**
   * The same count without waiting, when nothing needs waiting for: the user's day is
   * loaded and the unsent count is under a batch (almost every request). Undefined
   * otherwise, and nothing is counted then: the caller uses countRequest.
   */
  const countRequestNow = (userId: string, tier: Tier): DailyRequestCount | undefined => {
    const now = clock.now();
    const entry = counts.get(`${userId}:${day(now).name}`);
    if (entry === undefined || entry.loading !== undefined || entry.pending >= deps.flushBatch) return undefined;
    return admit(entry, tier, now);
  };


  /**
   * Sends every unsent count (on a timer, and when the app closes), MAX_USERS_PER_FLUSH
   * users per statement, so the timer costs one statement a second however many users
   * are active; forgets past days.
   */
  const flushAll = async (): Promise<void> => {
    const today = day(clock.now()).name;
    const waiting: Promise<void>[] = [];
    const ready: DayCount[] = [];
    for (const [key, entry] of counts) {
      if (entry.flushing !== undefined) waiting.push(entry.flushing);
      else if (entry.pending > 0) ready.push(entry);
      else if (entry.day !== today && entry.loading === undefined) counts.delete(key);
    }
    for (let i = 0; i < ready.length; i += MAX_USERS_PER_FLUSH) waiting.push(flushMany(ready.slice(i, i + MAX_USERS_PER_FLUSH)));
    await Promise.all(waiting);
  };

  const timer = setInterval(() => void flushAll(), deps.flushIntervalMs);
  timer.unref();

  const quotaOf = async (userId: string, tier: Tier): Promise<Quota> => {
    const now = clock.now();
    const dayName = day(now).name;
    const entry = counts.get(`${userId}:${dayName}`);
    // Send this instance's count first, so the total read includes it exactly once.
    if (entry !== undefined) await flush(entry);
    const requests = toCount((await store.get(userId, dayName)) + (entry?.pending ?? 0), tier, now);
    const limits = tiers[tier];
    const used = await usage.usages(userId);
    const counted = COUNTED_RESOURCES.map((resource): [CountedResource, QuotaEntry] => [resource, { usage: used[resource], limit: limits[RESOURCE_LIMIT[resource]], reset: null }]);
    return {
      tier,
      api_requests_per_day: { usage: requests.usage, limit: requests.limit, reset: requests.reset },
      ...(Object.fromEntries(counted) as Record<CountedResource, QuotaEntry>),
    };
  };

  /**
   * For the module creating a counted resource: 409 `quota_exceeded` when `adding` more
   * would pass the tier's limit. (Check-then-insert; a module needing it exact under
   * concurrency counts inside its own transaction.)
   */
  const ensureCapacity = async (resource: CountedResource, userId: string, tier: Tier, adding = 1): Promise<void> => {
    const limit = tiers[tier][RESOURCE_LIMIT[resource]];
    const current = await usage.usage(resource, userId);
    if (current + adding > limit) {
      throw new AppError(409, 'quota_exceeded', 'Conflict', {
        detail: `Your tier allows ${limit} ${resource.replace(/_/g, ' ')}; you have ${current}.`,
        extra: { resource, limit, usage: current },
      });
    }
  };

  return {
    countRequest,
    countRequestNow,
    quotaOf,
    ensureCapacity,
    flushAll,
    /** Stops the timer and sends what is left. */
    close: async () => {
      clearInterval(timer);
      await flushAll();
    },
  };
}

export type QuotaService = ReturnType<typeof createQuotaService>;
