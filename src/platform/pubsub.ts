// The event bus for market data and, later, alerts and realtime push. In process it is
// a plain emitter; with Redis every instance sees every event through Redis pub/sub, on
// a subscriber connection of its own (a subscribed ioredis client cannot run other
// commands). Channel names are built by cacheKey (FAIL-008). If Redis is down, events
// are still delivered to this instance's subscribers and the failure is logged once.
import { EventEmitter } from 'node:events';
import { cacheKey } from './cache-keys.ts';
import type { Logger } from './logger.ts';
import type { Redis } from './redis.ts';

export type EventHandler = (message: unknown) => void;

export interface PubSub {
  readonly backend: 'memory' | 'redis';
  /** Publishes a JSON-serialisable message on `channel` (e.g. `market.quote`). */
  publish: (channel: string, message: unknown) => Promise<void>;
  /** Calls `handler` for every message on `channel`; returns the unsubscribe function. */
  subscribe: (channel: string, handler: EventHandler) => Promise<() => Promise<void>>;
  close: () => Promise<void>;
}

export interface PubSubDeps {
  logger: Logger;
  redis?: Redis | undefined;
}

const CHANNEL = /^[a-z][a-z0-9_.-]{0,63}$/;

function checkChannel(channel: string): void {
  if (!CHANNEL.test(channel)) throw new TypeError(`pub/sub channel must match ${String(CHANNEL)}, got "${channel}"`);
}

export function createPubSub(deps: PubSubDeps): PubSub {
  const { logger, redis } = deps;
  const local = new EventEmitter();
  local.setMaxListeners(0);

  const deliver = (channel: string, message: unknown) => {
    for (const handler of local.listeners(channel) as EventHandler[]) {
      try {
        handler(message);
      } catch (err) {
        // One failing subscriber must not stop the others or the publisher.
        logger.error({ err, event: 'pubsub_handler_failed', channel }, 'event handler failed');
      }
    }
  };

  if (redis === undefined) {
    return {
      backend: 'memory',
      publish: async (channel, message) => {
        checkChannel(channel);
        // Asynchronous like Redis delivery, so publishers never run subscriber code inline.
        const copy: unknown = JSON.parse(JSON.stringify(message));
        await Promise.resolve();
        queueMicrotask(() => deliver(channel, copy));
      },
      subscribe: async (channel, handler) => {
        checkChannel(channel);
        local.on(channel, handler);
        await Promise.resolve();
        return () => {
          local.off(channel, handler);
          return Promise.resolve();
        };
      },
      close: () => {
        local.removeAllListeners();
        return Promise.resolve();
      },
    };
  }

  // The client's key prefix isolates tenants (and test files) for keys; channels are not
  // prefixed by ioredis, so the prefix is added here.
  const prefix = typeof redis.options.keyPrefix === 'string' ? redis.options.keyPrefix : '';
  const wire = (channel: string) => `${prefix}${cacheKey('event', channel)}`;
  const byWire = new Map<string, string>();
  let subscriber: Redis | undefined;
  let warned = false;

  const subscriberConnection = (): Redis => {
    if (subscriber !== undefined) return subscriber;
    const sub = redis.duplicate({ keyPrefix: '', enableOfflineQueue: true, maxRetriesPerRequest: null });
    sub.on('error', (err: Error) => logger.warn({ err, event: 'pubsub_redis_error' }, 'pub/sub subscriber connection error'));
    sub.on('message', (wireChannel: string, payload: string) => {
      const channel = byWire.get(wireChannel);
      if (channel === undefined) return;
      let message: unknown;
      try {
        message = JSON.parse(payload);
      } catch (err) {
        logger.warn({ err, event: 'pubsub_bad_message', channel }, 'ignored a malformed event');
        return;
      }
      deliver(channel, message);
    });
    subscriber = sub;
    return sub;
  };

  return {
    backend: 'redis',
    async publish(channel, message) {
      checkChannel(channel);
      const payload = JSON.stringify(message);
      try {
        await redis.publish(wire(channel), payload);
        warned = false;
      } catch (err) {
        if (!warned) logger.warn({ err, event: 'pubsub_publish_failed', channel }, 'redis publish failed; delivering in process only');
        warned = true;
        const copy: unknown = JSON.parse(payload);
        queueMicrotask(() => deliver(channel, copy));
      }
    },
    async subscribe(channel, handler) {
      checkChannel(channel);
      const first = local.listenerCount(channel) === 0;
      local.on(channel, handler);
      if (first) {
        byWire.set(wire(channel), channel);
        await subscriberConnection().subscribe(wire(channel));
      }
      return async () => {
        local.off(channel, handler);
        if (local.listenerCount(channel) === 0 && subscriber !== undefined) {
          byWire.delete(wire(channel));
          await subscriber.unsubscribe(wire(channel));
        }
      };
    },
    async close() {
      local.removeAllListeners();
      byWire.clear();
      if (subscriber !== undefined) {
        const sub = subscriber;
        subscriber = undefined;
        await sub.quit().catch(() => sub.disconnect());
      }
    },
  };
}
