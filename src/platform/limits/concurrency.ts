// Concurrency caps ("at most N at once per key"), e.g. heavy requests per user (FAIL-023).
// A slot is taken atomically and given back when the work ends. Without Redis the count
// lives in process; with Redis every instance shares it: a sorted set per key holds one
// member per slot, scored by the time its lease ends, and one Lua script drops expired
// leases, compares and adds, so parallel acquires on any number of instances never
// overshoot. A lease bounds how long a slot outlives a crashed holder. While Redis fails,
// an in-memory cap of the same size takes over (per instance) and the service keeps serving.
import { randomUUID } from 'node:crypto';
import { cacheKey } from '../cache-keys.ts';
import type { Logger } from '../logger.ts';
import type { Redis } from '../redis.ts';

export interface ConcurrencySpec {
  /** Stable lower-case name; part of every key (`financehub:v1:concurrency:<name>:<key>`). */
  name: string;
  /** Slots per key. */
  max: number;
  /** The longest one slot is held before it is freed anyway (a holder that crashed), seconds. */
  leaseSeconds: number;
}

export type Acquired = { ok: true; release: () => Promise<void> } | { ok: false; active: number };

export interface ConcurrencyLimiter {
  readonly name: string;
  readonly max: number;
  /** Takes a slot for `key`, or reports that all `max` are taken. */
  acquire: (key: string) => Promise<Acquired>;
}

// KEYS[1] the set; ARGV: now ms, lease ms, max, member. Returns 1 (taken) or -count.
const ACQUIRE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local n = redis.call('ZCARD', KEYS[1])
if n >= tonumber(ARGV[3]) then return -n end
redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

const NAME = /^[a-z][a-z0-9_-]{0,63}$/;

function memoryCap(max: number) {
  const active = new Map<string, number>();
  return {
    acquire(key: string): Acquired {
      const n = active.get(key) ?? 0;
      if (n >= max) return { ok: false, active: n };
      active.set(key, n + 1);
      let released = false;
      return {
        ok: true,
        release: () => {
          if (released) return Promise.resolve();
          released = true;
          const left = (active.get(key) ?? 1) - 1;
          if (left <= 0) active.delete(key);
          else active.set(key, left);
          return Promise.resolve();
        },
      };
    },
  };
}

export function createConcurrencyLimiter(spec: ConcurrencySpec, deps: { redis?: Redis | undefined; logger: Logger; now?: () => number }): ConcurrencyLimiter {
  if (!NAME.test(spec.name)) throw new TypeError(`concurrency limiter name must match ${String(NAME)}, got "${spec.name}"`);
  if (!Number.isSafeInteger(spec.max) || spec.max < 1) throw new TypeError(`concurrency limiter ${spec.name}: max must be a positive integer`);
  if (!Number.isSafeInteger(spec.leaseSeconds) || spec.leaseSeconds < 1) throw new TypeError(`concurrency limiter ${spec.name}: leaseSeconds must be a positive integer`);
  const { redis, logger } = deps;
  const now = deps.now ?? Date.now;
  const memory = memoryCap(spec.max);
  if (redis === undefined) return { name: spec.name, max: spec.max, acquire: (key) => Promise.resolve(memory.acquire(key)) };

  let warned = false;
  const fallback = (err: unknown, key: string): Acquired => {
    if (!warned) logger.warn({ err, event: 'concurrency_redis_failed', limiter: spec.name }, 'redis unavailable; concurrency cap counted in process');
    warned = true;
    return memory.acquire(key);
  };
  return {
    name: spec.name,
    max: spec.max,
    async acquire(key) {
      const setKey = cacheKey('concurrency', spec.name, key);
      const member = randomUUID();
      let answer: unknown;
      try {
        answer = await redis.eval(ACQUIRE, 1, setKey, String(now()), String(spec.leaseSeconds * 1000), String(spec.max), member);
        warned = false;
      } catch (err) {
        return fallback(err, key);
      }
      const n = Number(answer);
      if (n !== 1) return { ok: false, active: -n };
      let released = false;
      return {
        ok: true,
        release: async () => {
          if (released) return;
          released = true;
          // A release that fails leaves the slot to its lease.
          await redis.zrem(setKey, member).catch((err: unknown) => logger.warn({ err, event: 'concurrency_release_failed', limiter: spec.name }, 'could not free a slot; it expires with its lease'));
        },
      };
    },
  };
}
