// A small JSON cache with TTLs: in process by default, Redis when configured (shared by
// every instance). Keys come only from cacheKey() (FAIL-008). A Redis failure is a
// cache miss plus a warning, never an error for the caller (FAIL-023): the service
// keeps serving from the source of truth.
import type { Logger } from './logger.ts';
import type { Redis } from './redis.ts';

export interface Cache {
  readonly backend: 'memory' | 'redis';
  get: <T>(key: string) => Promise<T | undefined>;
  /** Several keys in one round trip (MGET on Redis); the values in the keys' order. */
  getMany: <T>(keys: readonly string[]) => Promise<Array<T | undefined>>;
  set: (key: string, value: unknown, ttlSeconds: number) => Promise<void>;
  delete: (key: string) => Promise<void>;
}

export interface CacheDeps {
  logger: Logger;
  redis?: Redis | undefined;
  /** In-process entries kept at most (oldest evicted first). */
  maxEntries?: number;
  /**
   * In-process size kept at most, counted as the characters of each key and its JSON value
   * (about bytes: the JSON here is ASCII, which V8 stores one byte a character). Oldest
   * evicted first; a single value over it is not kept at all. A count alone did not bound
   * memory: one candle series or indicator column can be megabytes.
   */
  maxBytes?: number;
  now?: () => number;
}

/** CACHE_MAX_BYTES' default: 64 MiB of cached JSON in process. */
export const CACHE_MAX_BYTES = 64 * 1024 * 1024;

function memoryCache(limits: { maxEntries: number; maxBytes: number }, now: () => number): Cache {
  const entries = new Map<string, { value: string; expires: number; size: number }>();
  let bytes = 0;
  const remove = (key: string) => {
    const entry = entries.get(key);
    if (entry === undefined) return;
    entries.delete(key);
    bytes -= entry.size;
  };
  const read = <T>(key: string): T | undefined => {
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expires <= now()) {
      remove(key);
      return undefined;
    }
    return JSON.parse(entry.value) as T;
  };
  return {
    backend: 'memory',
    get: <T>(key: string) => Promise.resolve(read<T>(key)),
    getMany: <T>(keys: readonly string[]) => Promise.resolve(keys.map((key) => read<T>(key))),
    set(key, value, ttlSeconds) {
      remove(key);
      const text = JSON.stringify(value);
      const size = key.length + text.length;
      if (size > limits.maxBytes) return Promise.resolve();
      entries.set(key, { value: text, expires: now() + ttlSeconds * 1000, size });
      bytes += size;
      while (entries.size > limits.maxEntries || bytes > limits.maxBytes) {
        const oldest = entries.keys().next();
        if (oldest.done === true) break;
        remove(oldest.value);
      }
      return Promise.resolve();
    },
    delete(key) {
      remove(key);
      return Promise.resolve();
    },
  };
}

export function createCache(deps: CacheDeps): Cache {
  const now = deps.now ?? Date.now;
  const memory = memoryCache({ maxEntries: deps.maxEntries ?? 10_000, maxBytes: deps.maxBytes ?? CACHE_MAX_BYTES }, now);
  const { redis, logger } = deps;
  if (redis === undefined) return memory;
  let warned = false;
  const failed = (err: unknown, op: string) => {
    if (!warned) logger.warn({ err, event: 'cache_redis_failed', op }, 'redis cache unavailable; treating as a miss');
    warned = true;
  };
  return {
    backend: 'redis',
    async get<T>(key: string) {
      try {
        const text = await redis.get(key);
        warned = false;
        return text === null ? undefined : (JSON.parse(text) as T);
      } catch (err) {
        failed(err, 'get');
        return undefined;
      }
    },
    async getMany<T>(keys: readonly string[]) {
      if (keys.length === 0) return [];
      try {
        const texts = await redis.mget(...keys);
        warned = false;
        return texts.map((text) => (text === null ? undefined : (JSON.parse(text) as T)));
      } catch (err) {
        failed(err, 'getMany');
        return keys.map(() => undefined);
      }
    },
    async set(key, value, ttlSeconds) {
      try {
        await redis.set(key, JSON.stringify(value), 'EX', Math.max(1, Math.ceil(ttlSeconds)));
      } catch (err) {
        failed(err, 'set');
      }
    },
    async delete(key) {
      try {
        await redis.del(key);
      } catch (err) {
        failed(err, 'delete');
      }
    },
  };
}
