// The auth module: accounts (with the users module), sessions, tokens, guards, security
// events. registerAuth wires it and hands other modules what they need: `guards`, and
// for the admin module `users`, `revokeAllSessions` and `recordSecurityEvent`.
import type { Config } from '../../config.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Database } from '../../platform/db/index.ts';
import type { App } from '../../platform/http/types.ts';
import { createLimiterFactory, type LimiterFactory } from '../../platform/limits/index.ts';
import type { Logger } from '../../platform/logger.ts';
import type { Redis } from '../../platform/redis.ts';
import { createPasswordHasher, createUsersRepository, createUsersService, type UsersService } from '../users/index.ts';
import { authRoutes } from './auth.routes.ts';
import { createAuthService, type AuthService } from './auth.service.ts';
import { createAuthGuards, type AuthGuards } from './guards.ts';
import { createKeyStore, type KeyStore } from './keys.ts';
import { createLoginThrottle } from './login-throttle.ts';
import { createRevocationList } from './revocation.ts';
import { createSecurityEvents, createSecurityEventsRepository, type SecurityEvents } from './security-events.ts';
import { createSessionsRepository } from './sessions.repository.ts';
import { createAccessTokens } from './tokens.ts';

export { createAuthGuards, bearerToken, type AuthGuards } from './guards.ts';
export type { SecurityEventInput, SecurityEventName, SecurityEventRow, SecurityEvents } from './security-events.ts';
export type { AuthService } from './auth.service.ts';
export { createKeyStore, createKeysRepository, generateKeyRecord, parseKeySet, KeyConfigError, type KeyStore } from './keys.ts';
export { hashRefreshToken } from './tokens.ts';

export interface AuthDeps {
  config: Config;
  logger: Logger;
  db: Database;
  redis?: Redis | undefined;
  clock: Clock;
  /** The shared limiter factory, when the app has one; otherwise the module makes its own. */
  limiters?: LimiterFactory;
  /** Refresh rate limit per session (FAIL-014), from the quotas module's registerLimits. */
  checkRefreshSession?: (sessionId: string) => Promise<void>;
}

export interface AuthModule {
  guards: AuthGuards;
  isAdmin: AuthGuards['isAdmin'];
  users: UsersService;
  auth: AuthService;
  keys: KeyStore;
  /** Revokes every session of a user (e.g. when an admin disables the account). */
  revokeAllSessions: (userId: string, reason: string) => Promise<number>;
  recordSecurityEvent: SecurityEvents['recordSecurityEvent'];
  listSecurityEvents: SecurityEvents['list'];
}

export async function registerAuth(app: App, deps: AuthDeps): Promise<AuthModule> {
  const { config, logger, db, redis, clock } = deps;
  const hasher = createPasswordHasher(
      { memoryKib: config.argon2MemoryKib, timeCost: config.argon2TimeCost, parallelism: config.argon2Parallelism },
      { maxConcurrent: config.argon2MaxConcurrent, maxQueue: config.argon2MaxQueue },
    );
  await hasher.prepare();
  const users = createUsersService({ repo: createUsersRepository(db), hasher, clock, logger });
  const events = createSecurityEvents({ repo: createSecurityEventsRepository(db), clock, logger });
  const keys = await createKeyStore({
    db,
    clock,
    logger,
    accessTokenTtlSeconds: config.accessTokenTtl,
    jwtKeys: config.jwtKeys,
    jwtKeysFile: config.jwtKeysFile,
  });
  const accessTokens = createAccessTokens({ keys, clock, issuer: config.jwtIssuer, audience: config.jwtAudience, ttlSeconds: config.accessTokenTtl });
  const sessionsRepo = createSessionsRepository(db);
  const revocations = createRevocationList({
    redis,
    clock,
    logger,
    accessTokenTtlSeconds: config.accessTokenTtl,
    isRevokedInDatabase: sessionsRepo.isRevoked,
  });
  const throttle = createLoginThrottle(deps.limiters ?? createLimiterFactory({ redis, logger }), {
    maxConsecutiveFailures: config.loginMaxConsecutiveFailures,
    failureWindowSeconds: config.loginFailureWindowSeconds,
    blockSeconds: config.loginBlockSeconds,
    blockMaxSeconds: config.loginBlockMaxSeconds,
    failuresPerEmailPerHour: config.loginFailuresPerEmailPerHour,
    failuresPerIpPerDay: config.loginFailuresPerIpPerDay,
  });
  const auth = createAuthService({
    db,
    users,
    hasher,
    sessionsRepo,
    accessTokens,
    throttle,
    revocations,
    events,
    clock,
    logger,
    refreshTokenTtlSeconds: config.refreshTokenTtl,
    refreshIdleTimeoutSeconds: config.refreshIdleTimeout,
    refreshReuseGraceSeconds: config.refreshReuseGrace,
    ...(deps.checkRefreshSession === undefined ? {} : { checkRefreshSession: deps.checkRefreshSession }),
  });
  const guards = createAuthGuards({ accessTokens, revocations, getUser: users.getById, clock });

  app.decorateRequest('principal', null);
  authRoutes(app, { auth, users, guards, keys, events });

  if (config.adminEmail !== undefined && config.adminPassword !== undefined) {
    const { created, user } = await users.ensureAdmin(config.adminEmail, config.adminPassword);
    if (created) {
      await events.recordSecurityEvent({ event: 'user_created', userId: user.id, details: { role: 'admin', source: 'ADMIN_EMAIL' } });
      logger.info({ event: 'admin_created', userId: user.id }, 'created the admin account from ADMIN_EMAIL');
    }
  }

  return {
    guards,
    isAdmin: guards.isAdmin,
    users,
    auth,
    keys,
    revokeAllSessions: async (userId, reason) => {
      const count = await auth.revokeAllSessions(userId, reason);
      guards.forgetUser(userId);
      return count;
    },
    recordSecurityEvent: events.recordSecurityEvent,
    listSecurityEvents: events.list,
  };
}
