// The auth module: accounts (with the users module), sessions, tokens, guards, security
// events. registerAuth wires it and hands other modules what they need: `guards`, and
// for the admin module `users`, `revokeAllSessions` and `recordSecurityEvent`.
import type { Config } from '../../config.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Database } from '../../platform/db/index.ts';
import type { App } from '../../platform/http/types.ts';
import { createLimiterFactory, type LimiterFactory } from '../../platform/limits/index.ts';
import type { Logger } from '../../platform/logger.ts';
import type { PubSub } from '../../platform/pubsub.ts';
import type { Redis } from '../../platform/redis.ts';
import { createPasswordHasher, createPasswordPolicy, createUsersRepository, createUsersService, type UsersService } from '../users/index.ts';
import { authRoutes } from './auth.routes.ts';
import { createAuthService, type AuthService } from './auth.service.ts';
import { createBrowserSessions } from './browser-session.ts';
import { createAuthGuards, declareGuardFields, type AuthGuards } from './guards.ts';
import { createKeyStore, type KeyStore } from './keys.ts';
import { createLoginThrottle } from './login-throttle.ts';
import { createRevocationList, type RevocationList } from './revocation.ts';
import { createSecurityEvents, createSecurityEventsRepository, type SecurityEvents } from './security-events.ts';
import { createSessionsRepository } from './sessions.repository.ts';
import { createAccessTokens } from './tokens.ts';
import { createAccountService, type AccountService } from './account.service.ts';
import { mfaSecretBox } from './mfa-key.ts';
import { createMfaRepository } from './mfa.repository.ts';
import { createMfaService } from './mfa.service.ts';
import type { JobQueue } from '../../platform/jobs/index.ts';
import { createMailer } from '../../platform/mail.ts';
import { createAccountMailer, createEmailAccountService, type AccountMailer } from './account-mail.ts';
import { emailRoutes } from './email.routes.ts';

export { createAuthGuards, bearerToken, type AuthGuards } from './guards.ts';
export type { SecurityEventInput, SecurityEventName, SecurityEventRow, SecurityEvents } from './security-events.ts';
export type { AuthService } from './auth.service.ts';
export type { AccountService } from './account.service.ts';
export { createMfaRepository } from './mfa.repository.ts';
export { createKeyStore, createKeysRepository, generateKeyRecord, parseKeySet, KeyConfigError, type KeyStore } from './keys.ts';
export { hashRefreshToken } from './tokens.ts';
export { AUTH_REVOKED_CHANNEL, AUTH_USER_CHANGED_CHANNEL, type AuthRevokedMessage } from './revocation.ts';

export interface AuthDeps {
  config: Config;
  logger: Logger;
  db: Database;
  redis?: Redis | undefined;
  clock: Clock;
  /** The event bus: revocations and user changes reach every instance through it. */
  pubsub: PubSub;
  /** The shared limiter factory, when the app has one; otherwise the module makes its own. */
  limiters?: LimiterFactory;
  /** Refresh rate limit per session (FAIL-014), from the quotas module's registerLimits. */
  checkRefreshSession?: (sessionId: string) => Promise<void>;
  /** The job queue: account email (with SMTP_URL) is sent by its jobs. */
  jobs?: JobQueue;
}

/** Event-bus channel of session revocations: `{ user_id, session_id }` (null: every session of the user). */
export { AUTH_REVOKED_CHANNEL as AUTH_REVOKED_EVENT } from './revocation.ts';

export interface AuthModule {
  guards: AuthGuards;
  isAdmin: AuthGuards['isAdmin'];
  users: UsersService;
  auth: AuthService;
  keys: KeyStore;
  account: AccountService;
  /** Revokes every session of a user (e.g. when an admin disables the account). */
  revokeAllSessions: (userId: string, reason: string) => Promise<number>;
  /** Deletes a user and all they own (sessions revoked first); false for an unknown id. */
  deleteUser: AccountService['deleteUser'];
  recordSecurityEvent: SecurityEvents['recordSecurityEvent'];
  listSecurityEvents: SecurityEvents['list'];
  /**
   * Every session revocation, and every revocation of all of a user's sessions (also on
   * disabling or deleting the user), on this instance or another: the same messages as
   * the bus channel `auth.revoked`.
   */
  onRevoked: RevocationList['onRevoked'];
}


export async function registerAuth(app: App, deps: AuthDeps): Promise<AuthModule> {
  const { config, logger, db, redis, clock } = deps;
  const hasher = createPasswordHasher(
      { memoryKib: config.argon2MemoryKib, timeCost: config.argon2TimeCost, parallelism: config.argon2Parallelism },
      { maxConcurrent: config.argon2MaxConcurrent, maxQueue: config.argon2MaxQueue },
    );
  await hasher.prepare();
  const policy = createPasswordPolicy({ logger });
  app.addHook('onClose', async () => policy.close());
  const users = createUsersService({ repo: createUsersRepository(db), db, hasher, policy, clock, logger });
  const events = createSecurityEvents({ repo: createSecurityEventsRepository(db), clock, logger });
  const keys = await createKeyStore({
    db,
    clock,
    logger,
    accessTokenTtlSeconds: config.accessTokenTtl,
    jwtKeys: config.jwtKeys,
    jwtKeysFile: config.jwtKeysFile,
    jwtKeysEncryptionKey: config.jwtKeysEncryptionKey,
  });
  const accessTokens = createAccessTokens({ keys, clock, issuer: config.jwtIssuer, audience: config.jwtAudience, ttlSeconds: config.accessTokenTtl });
  const sessionsRepo = createSessionsRepository(db);
  const mfaKey = await mfaSecretBox(config, db);
  const mfa = createMfaService({ db, repo: createMfaRepository(db), box: mfaKey.box, clock, logger, issuer: 'FinanceHub' });
  logger.info({ event: 'mfa_key_source', source: mfaKey.source }, `TOTP secrets are sealed with a key from ${mfaKey.source}`);
  // REQUIRE_ADMIN_MFA: an admin without two-factor sign-in on has a user's rights (admin
  // routes answer 403) until they enrol; the role is read with the user (cached, and
  // invalidated on every instance when MFA changes), so it applies within moments.
  const loadUser = config.requireAdminMfa
    ? async (id: string) => {
        const user = await users.getById(id);
        if (user?.role === 'admin' && !(await mfa.isEnabled(user.id))) return { ...user, role: 'user' as const };
        return user;
      }
    : users.getById;
  const revocations = createRevocationList({ pubsub: deps.pubsub, clock, logger, loadSession: sessionsRepo.state, loadUser });
  await revocations.start();
  app.addHook('onClose', async () => revocations.stop());
  const limiters = deps.limiters ?? createLimiterFactory({ redis, logger });
  const throttle = createLoginThrottle(limiters, {
    maxConsecutiveFailures: config.loginMaxConsecutiveFailures,
    failureWindowSeconds: config.loginFailureWindowSeconds,
    blockSeconds: config.loginBlockSeconds,
    blockMaxSeconds: config.loginBlockMaxSeconds,
    failuresPerEmailPerHour: config.loginFailuresPerEmailPerHour,
    failuresPerIpPerDay: config.loginFailuresPerIpPerDay,
  });
  // Account email only with SMTP_URL (and a job queue to send through); without it nothing
  // is sent, the email routes do not exist and the operator resets passwords from the CLI.
  let mail: AccountMailer | undefined;
  if (config.smtp !== undefined && deps.jobs !== undefined) {
    const mailer = createMailer(config.smtp);
    app.addHook('onClose', (_instance, done) => {
      mailer.close();
      done();
    });
    mail = createAccountMailer({ db, jobs: deps.jobs, mailer, users, clock, config: config.smtp });
  }
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
    mfa,
    mail,
  });
  const guards = createAuthGuards({ accessTokens, revocations, clock });
  const account = createAccountService({ db, users, hasher, auth, mfa, events, forgetUser: guards.forgetUser, mail });

  declareGuardFields(app);
  const browser = createBrowserSessions({ allowedOrigins: config.allowedOrigins, refreshTokenTtl: config.refreshTokenTtl });
  authRoutes(app, { auth, account, users, guards, keys, events, browser, mail });
  if (mail !== undefined && config.smtp !== undefined) {
    const email = createEmailAccountService({
      db,
      mail,
      users,
      hasher,
      events,
      limiters,
      clock,
      revokeAllSessions: async (userId, reason, caller) => {
        const count = await auth.revokeAllSessions(userId, reason, caller);
        guards.forgetUser(userId);
        return count;
      },
      forgetUser: guards.forgetUser,
      config: config.smtp,
    });
    emailRoutes(app, { email, guards });
  }

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
    account,
    keys,
    deleteUser: account.deleteUser,
    revokeAllSessions: async (userId, reason) => {
      const count = await auth.revokeAllSessions(userId, reason);
      guards.forgetUser(userId);
      return count;
    },
    recordSecurityEvent: events.recordSecurityEvent,
    listSecurityEvents: events.list,
    onRevoked: revocations.onRevoked,
  };
}
