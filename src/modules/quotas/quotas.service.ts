// Tiers and quotas (FAIL-007): the daily API request quota, counted per user and UTC day
// through the shared limiter store (so all instances agree), and the per-tier limits of
// resources other modules own (alerts, watchlist symbols, WebSocket connections,
// templates), whose current usage those modules report through the usage registry.
import type { TierLimits } from '../../config.ts';
import type { Clock } from '../../platform/clock.ts';
import { AppError } from '../../platform/errors.ts';
import type { Tier } from '../../platform/http/principal.ts';
import type { LimiterFactory } from '../../platform/limits/index.ts';

export const COUNTED_RESOURCES = ['alerts', 'watchlist_symbols', 'ws_connections', 'templates'] as const;
export type CountedResource = (typeof COUNTED_RESOURCES)[number];
export type QuotaResource = 'api_requests_per_day' | CountedResource;

/** How many of a resource a user has now (e.g. `SELECT count(*) … WHERE user_id = $1`). */
export type UsageCounter = (userId: string) => Promise<number>;

export interface UsageRegistry {
  /** Called once by the module owning the resource, at wiring time. */
  register: (resource: CountedResource, counter: UsageCounter) => void;
  /** The usage, or 0 while no module owns the resource yet (then none can exist). */
  usage: (resource: CountedResource, userId: string) => Promise<number>;
}

export function createUsageRegistry(): UsageRegistry {
  const counters = new Map<CountedResource, UsageCounter>();
  return {
    register: (resource, counter) => {
      if (counters.has(resource)) throw new TypeError(`a usage counter for ${resource} is already registered`);
      counters.set(resource, counter);
    },
    usage: async (resource, userId) => {
      const counter = counters.get(resource);
      return counter === undefined ? 0 : counter(userId);
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
};

const DAY_MS = 86_400_000;

export interface QuotaServiceDeps {
  tiers: Readonly<Record<Tier, Readonly<TierLimits>>>;
  limiters: LimiterFactory;
  usage: UsageRegistry;
  clock: Clock;
}

export function createQuotaService(deps: QuotaServiceDeps) {
  const { tiers, usage, clock } = deps;
  // A pure counter: the tier's limit is compared here, not in the limiter, so a tier
  // change takes effect on the next request and keeps the day's count. The key names
  // the UTC day and lives two days, so it outlasts the day it counts.
  const daily = deps.limiters.createLimiter({ name: 'api-requests-day', points: Number.MAX_SAFE_INTEGER, durationSeconds: 2 * 86_400 });

  const day = (now: Date) => {
    const start = Math.floor(now.getTime() / DAY_MS) * DAY_MS;
    const reset = new Date(start + DAY_MS);
    return {
      key: (userId: string) => `${userId}:${now.toISOString().slice(0, 10)}`,
      reset,
      resetSeconds: Math.max(1, Math.ceil((reset.getTime() - now.getTime()) / 1000)),
    };
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

  /** Counts one API request of the user; `allowed: false` once over the tier's daily quota. */
  const countRequest = async (userId: string, tier: Tier): Promise<DailyRequestCount> => {
    const now = clock.now();
    const result = await daily.consume(day(now).key(userId));
    return toCount(result.consumed, tier, now);
  };

  const quotaOf = async (userId: string, tier: Tier): Promise<Quota> => {
    const now = clock.now();
    const requests = toCount((await daily.peek(day(now).key(userId))).consumed, tier, now);
    const limits = tiers[tier];
    const counted = await Promise.all(
      COUNTED_RESOURCES.map(async (resource): Promise<[CountedResource, QuotaEntry]> => [
        resource,
        { usage: await usage.usage(resource, userId), limit: limits[RESOURCE_LIMIT[resource]], reset: null },
      ]),
    );
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

  return { countRequest, quotaOf, ensureCapacity };
}

export type QuotaService = ReturnType<typeof createQuotaService>;
