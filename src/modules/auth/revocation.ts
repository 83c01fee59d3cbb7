// Revoked sessions, so their access tokens are refused before they expire (issue 3 §5).
// In process always; with Redis also one key per revoked session id whose TTL is the
// access-token lifetime (after that every token of the session has expired anyway), so
// every instance refuses it on the next request. If Redis cannot answer, the guard asks
// the database instead: a revoked session must never pass because Redis is down.
import { cacheKey } from '../../platform/cache-keys.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Logger } from '../../platform/logger.ts';
import type { Redis } from '../../platform/redis.ts';

export interface RevocationList {
  add: (sessionIds: string[]) => Promise<void>;
  isRevoked: (sessionId: string) => Promise<boolean>;
}

export interface RevocationDeps {
  redis?: Redis | undefined;
  clock: Clock;
  logger: Logger;
  accessTokenTtlSeconds: number;
  /** The source of truth, asked only when Redis fails. */
  isRevokedInDatabase: (sessionId: string) => Promise<boolean>;
}

const MAX_LOCAL = 100_000;

export function createRevocationList(deps: RevocationDeps): RevocationList {
  const { redis, clock, logger } = deps;
  // A little longer than a token's life, so clock skew between instances cannot reopen it.
  const ttlSeconds = deps.accessTokenTtlSeconds + 5;
  const local = new Map<string, number>();
  const key = (sessionId: string) => cacheKey('revoked-session', sessionId);
  let lastFallbackLog = Number.NEGATIVE_INFINITY;

  const prune = (now: number) => {
    if (local.size < MAX_LOCAL) return;
    for (const [id, until] of local) if (until <= now) local.delete(id);
  };

  return {
    add: async (sessionIds) => {
      const now = clock.now().getTime();
      prune(now);
      for (const id of sessionIds) local.set(id, now + ttlSeconds * 1000);
      if (redis === undefined || sessionIds.length === 0) return;
      try {
        const pipeline = redis.pipeline();
        for (const id of sessionIds) pipeline.set(key(id), '1', 'EX', ttlSeconds);
        const results = await pipeline.exec();
        const failed = results?.find(([err]) => err !== null);
        if (failed !== undefined) throw failed[0] ?? new Error('redis pipeline failed');
      } catch (err) {
        // The sessions are revoked in the database; instances that cannot reach Redis check it there.
        logger.error({ err, event: 'revocation_publish_failed', sessions: sessionIds.length }, 'could not share session revocation through redis');
      }
    },
    isRevoked: async (sessionId) => {
      const until = local.get(sessionId);
      if (until !== undefined) {
        if (until > clock.now().getTime()) return true;
        local.delete(sessionId);
      }
      if (redis === undefined) return false;
      try {
        return (await redis.exists(key(sessionId))) === 1;
      } catch (err) {
        // Once per 10 s at most: while Redis is down every authenticated request lands here.
        const now = clock.now().getTime();
        if (now - lastFallbackLog >= 10_000) {
          lastFallbackLog = now;
          logger.warn({ err, event: 'revocation_check_fallback' }, 'redis unavailable; checking sessions in the database');
        }
        return deps.isRevokedInDatabase(sessionId);
      }
    },
  };
}
