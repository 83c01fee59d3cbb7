// The one rate-limiting mechanism (FAIL-014, FAIL-023), on rate-limiter-flexible.
// Without Redis, counters live in process. With Redis, every instance shares them, and
// an in-memory insurance limiter of the same shape takes over for as long as Redis
// fails, so limits stay enforced (per instance) and the service keeps serving.
//
// Callers get a plain result instead of rate-limiter-flexible's "reject with a
// RateLimiterRes" convention, so a refusal is never confused with a store error.
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { cacheKey, escapeKeyPart } from '../cache-keys.ts';
import type { Logger } from '../logger.ts';
import type { Redis } from '../redis.ts';

export interface LimiterSpec {
  /** Stable lower-case name; part of every key (`financehub:v1:ratelimit:<name>:<key>`). */
  name: string;
  /** Points allowed per window. */
  points: number;
  durationSeconds: number;
  /** Once over the limit, refuse the key for this long (default: until the window ends). */
  blockSeconds?: number;
}

export interface LimitResult {
  allowed: boolean;
  /** The limit of the window (the limiter's points). */
  limit: number;
  /** Points consumed in the current window (may exceed `limit` while refused). */
  consumed: number;
  remaining: number;
  /** Whole seconds until the window (or block) ends; at least 1. */
  resetSeconds: number;
}

export interface Limiter {
  readonly name: string;
  readonly points: number;
  readonly durationSeconds: number;
  /** Consumes `points` (default 1) for `key`; `allowed: false` once over the limit. */
  consume: (key: string, points?: number) => Promise<LimitResult>;
  /** The key's state without consuming (a key never seen reports nothing consumed). */
  peek: (key: string) => Promise<LimitResult>;
  /** Gives points back (e.g. after a success that should not count). */
  reward: (key: string, points?: number) => Promise<void>;
  /** Refuses the key for `seconds`, whatever it had consumed; refunds meanwhile do not lift it. */
  block: (key: string, seconds: number) => Promise<void>;
  /** Forgets the key (e.g. a success resets a failure counter). */
  delete: (key: string) => Promise<void>;
}

export interface LimiterFactory {
  /** `redis` when counts are shared through Redis (with in-memory insurance), else `memory`. */
  readonly backend: 'redis' | 'memory';
  createLimiter: (spec: LimiterSpec) => Limiter;
}

export interface LimiterFactoryDeps {
  redis?: Redis | undefined;
  logger: Logger;
}

const NAME = /^[a-z][a-z0-9_-]{0,63}$/;

/** How far past its limit a blocked key's count is set: more refunds than any burst could bring. */
const BLOCKED_COUNT_MARGIN = 1_000_000_000;

function toResult(res: RateLimiterRes | null, points: number, durationSeconds: number, allowed: boolean): LimitResult {
  if (res === null) return { allowed: true, limit: points, consumed: 0, remaining: points, resetSeconds: durationSeconds };
  const consumed = res.consumedPoints;
  return {
    allowed,
    limit: points,
    consumed,
    remaining: Math.max(0, Math.min(points, points - consumed)),
    // msBeforeNext is -1 for a key without expiry; a limiter window always has one.
    resetSeconds: Math.max(1, Math.ceil((res.msBeforeNext > 0 ? res.msBeforeNext : durationSeconds * 1000) / 1000)),
  };
}

function validate(spec: LimiterSpec): void {
  if (!NAME.test(spec.name)) throw new TypeError(`limiter name must match ${String(NAME)}, got "${spec.name}"`);
  if (!Number.isSafeInteger(spec.points) || spec.points < 1) throw new TypeError(`limiter ${spec.name}: points must be a positive integer`);
  if (!Number.isSafeInteger(spec.durationSeconds) || spec.durationSeconds < 1) {
    throw new TypeError(`limiter ${spec.name}: durationSeconds must be a positive integer`);
  }
  if (spec.blockSeconds !== undefined && (!Number.isSafeInteger(spec.blockSeconds) || spec.blockSeconds < 0)) {
    throw new TypeError(`limiter ${spec.name}: blockSeconds must be a non-negative integer`);
  }
}

export function createLimiterFactory(deps: LimiterFactoryDeps): LimiterFactory {
  const { redis, logger } = deps;
  const names = new Set<string>();

  const createLimiter = (spec: LimiterSpec): Limiter => {
    validate(spec);
    // Two limiters with one name would silently share (and double-count) keys.
    if (names.has(spec.name)) throw new TypeError(`limiter "${spec.name}" already exists`);
    names.add(spec.name);
    const options = {
      // rate-limiter-flexible joins prefix and key with ':'; the key part is escaped
      // below, so the stored key equals cacheKey('ratelimit', name, key) (FAIL-008).
      keyPrefix: cacheKey('ratelimit', spec.name),
      points: spec.points,
      duration: spec.durationSeconds,
      blockDuration: spec.blockSeconds ?? 0,
    };
    const store: RateLimiterAbstract =
      redis === undefined
        ? new RateLimiterMemory(options)
        : new RateLimiterRedis({ ...options, storeClient: redis, insuranceLimiter: new RateLimiterMemory(options) });
    const { points, durationSeconds } = spec;

    const consume = async (key: string, amount = 1): Promise<LimitResult> => {
      try {
        return toResult(await store.consume(escapeKeyPart(key), amount), points, durationSeconds, true);
      } catch (err) {
        if (err instanceof RateLimiterRes) return toResult(err, points, durationSeconds, false);
        throw err;
      }
    };
    const peek = async (key: string): Promise<LimitResult> => {
      const res = await store.get(escapeKeyPart(key));
      return toResult(res, points, durationSeconds, res === null || res.consumedPoints <= points);
    };
    return {
      name: spec.name,
      points,
      durationSeconds,
      consume,
      peek,
      reward: async (key, amount = 1) => void (await store.reward(escapeKeyPart(key), amount)),
      // A block stores a count far past the limit, not just one past it: every attempt
      // refused while it lasts may give its point back (a refused attempt is not a
      // failure), and refunds that land after the block started must not count it back
      // under the limit. It ends when it expires.
      block: async (key, seconds) => void (await store.set(escapeKeyPart(key), points + BLOCKED_COUNT_MARGIN, seconds)),
      delete: async (key) => void (await store.delete(escapeKeyPart(key))),
    };
  };

  logger.debug({ event: 'rate_limits_backend', backend: redis === undefined ? 'memory' : 'redis' }, 'rate limiter backend');
  return { backend: redis === undefined ? 'memory' : 'redis', createLimiter };
}
