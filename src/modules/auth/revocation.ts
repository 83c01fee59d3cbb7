// What the guard needs to know about a token's session and user, read from memory with a
// bounded staleness (FAIL-001, FAIL-006). The database is the source of truth; every
// instance keeps the states it has read, and forgets them when told, over the event bus
// (src/platform/pubsub.ts: Redis pub/sub when configured), that they changed:
//   * `auth.revoked` `{ user_id, session_id }` (`session_id: null` = every session of the
//     user, or the user disabled or deleted), published after the database commit of a
//     revocation; also what the realtime gateway listens to, to close sockets;
//   * `auth.user-changed` `{ user_id }`: role, tier or status changed.
// The publishing instance applies the change to its own memory first, so a revoked token
// is refused there at once, and on every other instance as soon as the event arrives.
// Guarantees, whatever fails:
//   * a revoked session is refused on every instance within 1 s while the bus works, and
//     a live state is never trusted for longer than STATE_MAX_AGE_MS (5 s with Redis,
//     1 s without: then other instances sharing a PostgreSQL hear nothing from this one);
//   * until subscribed, while the bus is down (Redis unreachable) and for
//     RECONNECT_DISTRUST_MS after it comes back (src/platform/bus-trust.ts), nothing cached
//     as live is trusted: every request reads the database, so revocations made during the
//     outage, or lost with an emptied Redis, still bite; on reconnect the cached states are
//     dropped, since events may have been missed;
//   * a revocation event that could not be published is retried every RETRY_INTERVAL_MS
//     until Redis takes it;
//   * a state read before a revocation is never stored after it (the generation check),
//     and a revoked session stays revoked in memory: sessions are never un-revoked.
import { createBusTrust } from '../../platform/bus-trust.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Logger } from '../../platform/logger.ts';
import type { PubSub } from '../../platform/pubsub.ts';
import type { User } from '../users/index.ts';

export const AUTH_REVOKED_CHANNEL = 'auth.revoked';
export const AUTH_USER_CHANGED_CHANNEL = 'auth.user-changed';

/** On `auth.revoked`: `session_id` null means every session of the user (or the user is gone or disabled). */
export interface AuthRevokedMessage {
  user_id: string;
  session_id: string | null;
}

export interface SessionState {
  userId: string;
  revoked: boolean;
}

export const STATE_MAX_AGE_MS = { bus: 5_000, noBus: 1_000 } as const;
export const RETRY_INTERVAL_MS = 500;
const MAX_ENTRIES = 100_000;
const MAX_PENDING = 10_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface RevocationDeps {
  pubsub: PubSub;
  clock: Clock;
  logger: Logger;
  /** The session row's owner and whether it is revoked; null when no such row exists. */
  loadSession: (sessionId: string) => Promise<SessionState | null>;
  loadUser: (userId: string) => Promise<User | null>;
}

export interface RevocationList {
  /** After the database committed the revocation of these sessions of `userId`. */
  revokeSessions: (userId: string, sessionIds: string[]) => Promise<void>;
  /** After every session of the user was revoked, or the user was disabled or deleted. */
  revokeUser: (userId: string) => Promise<void>;
  /** After the user's role, tier or status changed: every instance re-reads it. */
  userChanged: (userId: string) => void;
  /** The session's state (null: no such session), from memory when fresh enough. */
  session: (sessionId: string) => Promise<SessionState | null>;
  user: (userId: string) => Promise<User | null>;
  /** What `session` answers from memory, without I/O; undefined when it would read the database. */
  sessionNow: (sessionId: string) => SessionState | null | undefined;
  /** What `user` answers from memory, without I/O; undefined when it would read the database. */
  userNow: (userId: string) => User | null | undefined;
  /** Calls `listener` for every session or user revocation (this instance's and others'). */
  onRevoked: (listener: (message: AuthRevokedMessage) => void) => void;
  /** Subscribes to the bus; until it has, nothing cached as live is trusted. */
  start: () => Promise<void>;
  stop: () => Promise<void>;
}

interface Entry<T> {
  value: T;
  at: number;
}

function isRevokedMessage(value: unknown): value is AuthRevokedMessage {
  const m = value as Partial<AuthRevokedMessage> | null;
  return typeof m?.user_id === 'string' && UUID.test(m.user_id) && (m.session_id === null || (typeof m.session_id === 'string' && UUID.test(m.session_id)));
}

function userIdOf(value: unknown): string | undefined {
  const m = value as { user_id?: unknown } | null;
  return typeof m?.user_id === 'string' && UUID.test(m.user_id) ? m.user_id : undefined;
}

/** Bounded, least-recently-stored first out (a Map iterates in insertion order). */
function put<T>(map: Map<string, T>, key: string, value: T): void {
  map.delete(key);
  if (map.size >= MAX_ENTRIES) {
    const oldest = map.keys().next();
    if (oldest.done !== true) map.delete(oldest.value);
  }
  map.set(key, value);
}

export function createRevocationList(deps: RevocationDeps): RevocationList {
  const { pubsub, clock, logger } = deps;
  const maxAge = pubsub.backend === 'memory' ? STATE_MAX_AGE_MS.noBus : STATE_MAX_AGE_MS.bus;
  const sessions = new Map<string, Entry<SessionState | null>>();
  const users = new Map<string, Entry<User | null>>();
  const listeners: ((message: AuthRevokedMessage) => void)[] = [];
  const pending: { channel: string; message: unknown }[] = [];
  // Bumped by every invalidation: a read that started before one is not stored.
  let generation = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  let lastFallbackLog = Number.NEGATIVE_INFINITY;

  const now = () => clock.now().getTime();

  const notify = (message: AuthRevokedMessage) => {
    for (const listener of listeners) {
      try {
        listener(message);
      } catch (err) {
        logger.error({ err, event: 'revocation_listener_failed' }, 'revocation listener failed');
      }
    }
  };

  /** Applies a revocation to this instance's memory. */
  const applyRevoked = (message: AuthRevokedMessage) => {
    generation++;
    users.delete(message.user_id);
    if (message.session_id !== null) {
      put(sessions, message.session_id, { value: { userId: message.user_id, revoked: true }, at: now() });
    } else {
      for (const [id, entry] of sessions) if (entry.value?.userId === message.user_id && !entry.value.revoked) sessions.delete(id);
    }
  };

  const applyUserChanged = (userId: string) => {
    generation++;
    users.delete(userId);
  };

  const trust = createBusTrust({
    pubsub,
    clock,
    logger,
    subscribe: async () => [
      await pubsub.subscribe(AUTH_REVOKED_CHANNEL, (message) => {
        if (!isRevokedMessage(message)) return;
        applyRevoked(message);
        notify(message);
      }),
      await pubsub.subscribe(AUTH_USER_CHANGED_CHANNEL, (message) => {
        const userId = userIdOf(message);
        if (userId !== undefined) applyUserChanged(userId);
      }),
    ],
    onReconnect: () => {
      generation++;
      for (const [id, entry] of sessions) if (entry.value?.revoked !== true) sessions.delete(id);
      users.clear();
      logger.info({ event: 'revocation_resync' }, 'event bus reconnected; re-reading sessions and users from the database');
      void retryPending();
    },
    subscribeFailed: { fields: { event: 'revocation_subscribe_failed' }, message: 'could not subscribe to revocations; retrying in 1 s' },
  });
  const fresh = (entry: Entry<unknown> | undefined): boolean => entry !== undefined && trust.trusted() && now() - entry.at < maxAge;

  const retryPending = async () => {
    while (pending.length > 0) {
      const next = pending[0];
      if (next === undefined || !(await pubsub.publish(next.channel, next.message))) return;
      pending.shift();
    }
    if (retryTimer !== undefined) {
      clearInterval(retryTimer);
      retryTimer = undefined;
    }
  };

  const publish = async (channel: string, message: unknown) => {
    if (await pubsub.publish(channel, message)) return;
    // Local subscribers already have it; the other instances must get it too.
    if (pending.length >= MAX_PENDING) {
      pending.shift();
      logger.error({ event: 'revocation_retry_overflow' }, 'too many unpublished revocations; the oldest is left to the state max age');
    }
    pending.push({ channel, message });
    logger.error({ event: 'revocation_publish_failed', channel }, 'could not share a revocation through redis; retrying');
    retryTimer ??= setInterval(() => void retryPending(), RETRY_INTERVAL_MS);
    retryTimer.unref();
  };

  const sessionNow = (sessionId: string): SessionState | null | undefined => {
    const hit = sessions.get(sessionId);
    // Revoked is final: trusted even while the bus is down.
    return hit !== undefined && (hit.value?.revoked === true || fresh(hit)) ? hit.value : undefined;
  };
  const userNow = (userId: string): User | null | undefined => {
    const hit = users.get(userId);
    return hit !== undefined && fresh(hit) ? hit.value : undefined;
  };

  const load = async <T>(map: Map<string, Entry<T>>, key: string, read: (key: string) => Promise<T>): Promise<T> => {
    const started = generation;
    const at = now();
    const value = await read(key);
    if (generation === started) put(map, key, { value, at });
    return value;
  };

  return {
    revokeSessions: async (userId, sessionIds) => {
      for (const sessionId of sessionIds) {
        const message: AuthRevokedMessage = { user_id: userId, session_id: sessionId };
        applyRevoked(message);
        await publish(AUTH_REVOKED_CHANNEL, message);
      }
    },
    revokeUser: async (userId) => {
      const message: AuthRevokedMessage = { user_id: userId, session_id: null };
      applyRevoked(message);
      await publish(AUTH_REVOKED_CHANNEL, message);
    },
    userChanged: (userId) => {
      applyUserChanged(userId);
      void publish(AUTH_USER_CHANGED_CHANNEL, { user_id: userId });
    },
    sessionNow,
    userNow,
    session: async (sessionId) => {
      const known = sessionNow(sessionId);
      if (known !== undefined) return known;
      if (!pubsub.connected() && now() - lastFallbackLog >= 10_000) {
        // Once per 10 s at most: while Redis is down every authenticated request lands here.
        lastFallbackLog = now();
        logger.warn({ event: 'revocation_check_fallback' }, 'event bus unavailable; checking sessions in the database on every request');
      }
      return load(sessions, sessionId, deps.loadSession);
    },
    user: async (userId) => {
      const known = userNow(userId);
      return known !== undefined ? known : load(users, userId, deps.loadUser);
    },
    onRevoked: (listener) => void listeners.push(listener),
    start: async () => {
      trust.start();
      await Promise.resolve();
    },
    stop: async () => {
      if (retryTimer !== undefined) clearInterval(retryTimer);
      retryTimer = undefined;
      await trust.stop();
    },
  };
}
