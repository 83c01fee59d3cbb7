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
  /**
   * Publishes a JSON-serialisable message on `channel` (e.g. `market.quote`). Resolves to
   * true when every instance will see it (Redis took it, or there is no Redis), false when
   * only this instance's subscribers got it (Redis failed): a caller whose message must
   * reach every instance retries.
   */
  publish: (channel: string, message: unknown) => Promise<boolean>;
  /**
   * True while events published on other instances reach this one: always without Redis;
   * with Redis while both connections are up. When false, state cached on the strength of
   * invalidation events may be stale, and its owner must not trust it.
   */
  connected: () => boolean;
  /**
   * Calls `handler` each time the subscriber connection comes back after a loss: events
   * published meanwhile were missed, so state kept on the strength of them must be
   * re-read from its source of truth.
   */
  onReconnect: (handler: () => void) => void;
  /** Calls `handler` for every message on `channel`; returns the unsubscribe function. */
  subscribe: (channel: string, handler: EventHandler) => Promise<() => Promise<void>>;
  close: () => Promise<void>;
}

export interface PubSubDeps {
  logger: Logger;
  redis?: Redis | undefined;
}

const CHANNEL = /^[a-z][a-z0-9_.-]{0,63}$/;
/** How long subscribe() waits for Redis to confirm a subscription before returning anyway. */
const SUBSCRIBE_WAIT_MS = 2000;

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
        return true;
      },
      connected: () => true,
      onReconnect: () => undefined,
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
  let lost = false;
  const reconnectHandlers: (() => void)[] = [];

  const subscriberConnection = (): Redis => {
    if (subscriber !== undefined) return subscriber;
    // No command timeout: a SUBSCRIBE waits for Redis (offline queue) instead of failing,
    // and ioredis would otherwise time subscriptions out on a busy machine.
    const sub = redis.duplicate({ keyPrefix: '', enableOfflineQueue: true, maxRetriesPerRequest: null, commandTimeout: undefined });
    // Without this listener ioredis would print its errors to stderr; logged once per
    // outage (every reconnect attempt fails with one while Redis is down).
    let erred = false;
    sub.on('error', (err: Error) => {
      if (!erred) logger.warn({ err, event: 'pubsub_redis_error' }, 'pub/sub subscriber connection error');
      erred = true;
    });
    sub.on('close', () => {
      lost = true;
    });
    sub.on('ready', () => {
      erred = false;
      if (!lost) return;
      // ioredis emits 'ready' before it re-sends the SUBSCRIBEs of a lost connection (on the
      // same turn), so an event published now could still be missed. The connection counts
      // as back, and the reconnect handlers run (whose distrust windows start then), only
      // once a PING sent after those SUBSCRIBEs is answered: Redis answers in order.
      setImmediate(() => {
        const back = () => {
          if (sub !== subscriber || !lost || sub.status !== 'ready') return;
          lost = false;
          for (const handler of reconnectHandlers) {
            try {
              handler();
            } catch (err) {
              logger.error({ err, event: 'pubsub_reconnect_handler_failed' }, 'reconnect handler failed');
            }
          }
        };
        sub.ping().then(back, () => undefined);
      });
    });
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
        return true;
      } catch (err) {
        if (!warned) logger.warn({ err, event: 'pubsub_publish_failed', channel }, 'redis publish failed; delivering in process only');
        warned = true;
        const copy: unknown = JSON.parse(payload);
        queueMicrotask(() => deliver(channel, copy));
        return false;
      }
    },
    connected: () => redis.status === 'ready' && subscriber?.status === 'ready' && !lost,
    onReconnect: (handler) => void reconnectHandlers.push(handler),
    async subscribe(channel, handler) {
      checkChannel(channel);
      const first = local.listenerCount(channel) === 0;
      local.on(channel, handler);
      if (first) {
        byWire.set(wire(channel), channel);
        const subscribed = subscriberConnection()
          .subscribe(wire(channel))
          .then(
            () => undefined,
            (err: unknown) => logger.warn({ err, event: 'pubsub_subscribe_failed', channel }, 'pub/sub subscription failed'),
          );
        // The caller waits until the subscription is active (so no event published after it
        // returns is missed) — but only so long: while Redis is down the SUBSCRIBE waits in
        // the offline queue and runs when it comes back, and a module starting up must not
        // wait for that (this instance's events are delivered in process meanwhile).
        await Promise.race([subscribed, new Promise((resolve) => setTimeout(resolve, SUBSCRIBE_WAIT_MS).unref())]);
      }
      return async () => {
        local.off(channel, handler);
        if (local.listenerCount(channel) === 0 && subscriber !== undefined) {
          byWire.delete(wire(channel));
          // Only on a live connection: queued while Redis is down it would wait for ever
          // (and the channel's messages are ignored from now on anyway).
          if (subscriber.status === 'ready') await subscriber.unsubscribe(wire(channel));
        }
      };
    },
    async close() {
      local.removeAllListeners();
      byWire.clear();
      if (subscriber !== undefined) {
        const sub = subscriber;
        subscriber = undefined;
        // QUIT is queued while Redis is down: bounded, then the socket is dropped.
        if (sub.status === 'ready') {
          await Promise.race([sub.quit().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
        }
        sub.disconnect();
      }
    },
  };
}
