// A per-instance memory cache of values whose source of truth is the database, kept
// consistent across instances by invalidation events on the event bus (pubsub.ts). The
// same rules as the guard's session and user states (src/modules/auth/revocation.ts):
//   * the instance that changes a value drops it at once (after the change committed) and
//     publishes `{ key, origin }` on the cache's channel; every other instance drops it when
//     the event arrives (the publisher ignores its own echo: it dropped the key already, and
//     dropping it again would only cost one more database read);
//   * an entry is never trusted for longer than `maxAgeMs` (with Redis), or
//     `maxAgeNoBusMs` without Redis (then other instances sharing a PostgreSQL hear nothing
//     from this one);
//   * until subscribed, while the bus is down, and for RECONNECT_DISTRUST_MS after it comes
//     back, nothing is trusted (bus-trust.ts): every read goes to the database; on
//     reconnect everything is dropped, since events may have been missed;
//   * a value read before an invalidation of its key is never stored after it (a
//     generation per cache, bumped by every invalidation).
// Bounded: at most `maxEntries`, least recently stored dropped first.
import { randomUUID } from 'node:crypto';
import { createBusTrust } from './bus-trust.ts';
import type { Clock } from './clock.ts';
import type { Logger } from './logger.ts';
import type { PubSub } from './pubsub.ts';

export interface SharedCacheOptions {
  /** Event-bus channel of the invalidations, e.g. `portfolios.changed`. */
  channel: string;
  pubsub: PubSub;
  clock: Clock;
  logger: Logger;
  maxAgeMs: number;
  maxAgeNoBusMs: number;
  maxEntries: number;
}

export interface SharedCache<T> {
  /** The cached value of `key` while it can be trusted, else `load()`'s, stored for next time. */
  get: (key: string, load: () => Promise<T>) => Promise<T>;
  /** After a committed change of `key`: dropped here at once, on other instances when they hear of it. */
  invalidate: (key: string) => void;
  start: () => Promise<void>;
  stop: () => Promise<void>;
}

interface Entry<T> {
  value: T;
  at: number;
}

/**
 * Tells every instance listening on `channel` that `key` changed in the database. For a
 * process without a cache of its own (an operator's command), `origin` is anything no
 * cache uses; a cache passes its own, so it ignores its echo. Resolves to whether the
 * event left this process (false without Redis).
 */
export function publishInvalidation(pubsub: PubSub, channel: string, key: string, origin: string = `external-${randomUUID()}`): Promise<boolean> {
  return pubsub.publish(channel, { key, origin });
}

export function createSharedCache<T>(options: SharedCacheOptions): SharedCache<T> {
  const { channel, pubsub, clock, logger, maxEntries } = options;
  const maxAge = pubsub.backend === 'memory' ? options.maxAgeNoBusMs : options.maxAgeMs;
  const entries = new Map<string, Entry<T>>();
  let generation = 0;
  const origin = randomUUID();

  const now = () => clock.now().getTime();
  const drop = (key: string) => {
    generation++;
    entries.delete(key);
  };
  const trust = createBusTrust({
    pubsub,
    clock,
    logger,
    subscribe: async () => [
      await pubsub.subscribe(channel, (message) => {
        const event = message as { key?: unknown; origin?: unknown } | null;
        if (typeof event?.key === 'string' && event.origin !== origin) drop(event.key);
      }),
    ],
    onReconnect: () => {
      generation++;
      entries.clear();
    },
    subscribeFailed: { fields: { event: 'cache_subscribe_failed', channel }, message: 'could not subscribe to cache invalidations; retrying in 1 s' },
  });

  return {
    get: async (key, load) => {
      const hit = entries.get(key);
      if (hit !== undefined && trust.trusted() && now() - hit.at < maxAge) return hit.value;
      const started = generation;
      const at = now();
      const value = await load();
      if (generation === started) {
        entries.delete(key);
        entries.set(key, { value, at });
        if (entries.size > maxEntries) {
          const oldest = entries.keys().next();
          if (oldest.done !== true) entries.delete(oldest.value);
        }
      }
      return value;
    },
    invalidate: (key) => {
      drop(key);
      // A lost event is bounded by maxAge on the other instances.
      publishInvalidation(pubsub, channel, key, origin).then(
        (shared) => {
          if (!shared) logger.warn({ event: 'cache_invalidation_not_shared', channel }, 'invalidation reached this instance only; others trust their copy for at most the max age');
        },
        (err: unknown) => logger.warn({ err, event: 'cache_invalidation_not_shared', channel }, 'could not publish a cache invalidation'),
      );
    },
    start: async () => {
      trust.start();
      await Promise.resolve();
    },
    stop: async () => {
      entries.clear();
      await trust.stop();
    },
  };
}
