// When an instance may trust its memory copy of database state that other instances
// invalidate over the event bus (pubsub.ts): only while it is subscribed to the
// invalidations, the bus is connected, and not within RECONNECT_DISTRUST_MS of the bus
// coming back (events sent meanwhile were missed). Until the subscription succeeds it is
// retried every second, and nothing is trusted; on every reconnect the owner drops what it
// holds (`onReconnect`). The guard's session and user states (modules/auth/revocation.ts)
// and the shared caches (shared-cache.ts) keep their copies by these rules.
import type { Clock } from './clock.ts';
import type { Logger } from './logger.ts';
import type { PubSub } from './pubsub.ts';

export const RECONNECT_DISTRUST_MS = 1_000;
/** How long a failed subscription waits before it is tried again. */
const SUBSCRIBE_RETRY_MS = 1_000;

export interface BusTrustOptions {
  pubsub: PubSub;
  clock: Clock;
  logger: Logger;
  /** Subscribes to the invalidations; resolves to what unsubscribes them. */
  subscribe: () => Promise<Array<() => Promise<void>>>;
  /** After the bus came back: drop every copy that may have missed an invalidation. */
  onReconnect: () => void;
  /** Logged at error when a subscription attempt fails: the line's fields (an `event` among them) and message. */
  subscribeFailed: { fields: { event: string } & Record<string, unknown>; message: string };
}

export interface BusTrust {
  /** Whether a memory copy may be used now (its own age bound aside). */
  trusted: () => boolean;
  /** Starts subscribing (retried until it succeeds) and watching for reconnects. */
  start: () => void;
  stop: () => Promise<void>;
}

export function createBusTrust(options: BusTrustOptions): BusTrust {
  const { pubsub, clock, logger } = options;
  const now = () => clock.now().getTime();
  const unsubscribers: Array<() => Promise<void>> = [];
  let subscribed = false;
  let distrustUntil = 0;
  let stopped = false;

  return {
    trusted: () => subscribed && pubsub.connected() && now() >= distrustUntil,
    start: () => {
      pubsub.onReconnect(() => {
        distrustUntil = now() + RECONNECT_DISTRUST_MS;
        options.onReconnect();
      });
      // With Redis down at start the subscription completes when it comes back.
      const attempt = () => {
        if (stopped) return;
        options.subscribe().then(
          (offs) => {
            unsubscribers.push(...offs);
            subscribed = true;
          },
          (err: unknown) => {
            logger.error({ err, ...options.subscribeFailed.fields }, options.subscribeFailed.message);
            setTimeout(attempt, SUBSCRIBE_RETRY_MS).unref();
          },
        );
      };
      attempt();
    },
    stop: async () => {
      stopped = true;
      subscribed = false;
      await Promise.all(unsubscribers.splice(0).map((unsubscribe) => unsubscribe().catch(() => undefined)));
    },
  };
}
