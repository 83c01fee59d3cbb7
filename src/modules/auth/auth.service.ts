// Logins, sessions and token rotation. Knows no HTTP: callers pass who is asking
// (ip, user agent) and get domain results or AppErrors with stable codes.
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../platform/clock.ts';
import { AppError, conflict, tooManyRequests, unauthorized } from '../../platform/errors.ts';
import type { Logger } from '../../platform/logger.ts';
import type { Database } from '../../platform/db/index.ts';
import type { PasswordHasher, UsersService } from '../users/index.ts';
import type { LoginThrottle } from './login-throttle.ts';
import type { RevocationList } from './revocation.ts';
import type { SecurityEvents } from './security-events.ts';
import type { SessionRow, SessionsRepository } from './sessions.repository.ts';
import { hashRefreshToken, newRefreshToken, type AccessTokens } from './tokens.ts';

export interface Caller {
  ip: string;
  userAgent: string | null;
}

export interface TokenPair {
  accessToken: string;
  expiresIn: number;
  refreshToken: string;
  sessionId: string;
  userId: string;
}

export interface SessionView {
  id: string;
  createdAt: Date;
  lastUsedAt: Date;
  userAgent: string | null;
  ip: string | null;
}

export interface AuthServiceDeps {
  db: Database;
  users: UsersService;
  hasher: PasswordHasher;
  sessionsRepo: SessionsRepository;
  accessTokens: AccessTokens;
  throttle: LoginThrottle;
  revocations: RevocationList;
  events: SecurityEvents;
  clock: Clock;
  logger: Logger;
  refreshTokenTtlSeconds: number;
  refreshIdleTimeoutSeconds: number;
  refreshReuseGraceSeconds: number;
  /** Refresh rate limit per session (FAIL-014): throws the 429 once the session is known. */
  checkRefreshSession?: (sessionId: string) => Promise<void>;
}

/** One answer for every login failure (FAIL-010): same status, code, title and detail. */
const authenticationFailed = () => unauthorized('authentication_failed', 'The email or password is incorrect.');
const invalidRefreshToken = () => unauthorized('invalid_refresh_token', 'The refresh token is invalid or expired.');

export function createAuthService(deps: AuthServiceDeps) {
  const { db, users, hasher, sessionsRepo, accessTokens, throttle, revocations, events, clock } = deps;
  const idleCutoff = (now: Date) => new Date(now.getTime() - deps.refreshIdleTimeoutSeconds * 1000);

  const mint = async (userId: string, sessionId: string): Promise<{ accessToken: string; expiresIn: number }> => {
    const issued = await accessTokens.issue({ userId, sessionId });
    return { accessToken: issued.token, expiresIn: issued.expiresIn };
  };

  const revokeSessions = async (sessionIds: string[]) => {
    if (sessionIds.length > 0) await revocations.add(sessionIds);
  };

  /** Revokes every session of a user (logout-all, disabling an account). Returns how many. */
  const revokeAllSessions = async (userId: string, reason: string, caller?: Partial<Caller>): Promise<number> => {
    const ids = await sessionsRepo.revokeAllForUser(userId, reason, clock.now());
    await revokeSessions(ids);
    await events.recordSecurityEvent({
      event: reason === 'logout_all' ? 'logout_all' : 'session_revoked',
      userId,
      ip: caller?.ip ?? null,
      userAgent: caller?.userAgent ?? null,
      details: { reason, sessions: ids.length },
    });
    return ids.length;
  };

  const login = async (input: { email: string; password: string }, caller: Caller): Promise<TokenPair> => {
    const email = users.normaliseEmail(input.email);
    const verdict = await throttle.check(email, caller.ip);
    if (verdict.blocked) {
      await events.recordSecurityEvent({
        event: 'login_blocked',
        ip: caller.ip,
        userAgent: caller.userAgent,
        details: { scope: verdict.scope ?? null, retry_after_seconds: verdict.retryAfterSeconds },
      });
      throw tooManyRequests(verdict.retryAfterSeconds, 'login_throttled');
    }
    const user = await users.findForLogin(email);
    let passwordOk = false;
    if (user === null) await hasher.verifyDummy(input.password);
    else passwordOk = await hasher.verify(user.password_hash, input.password);

    if (user === null || !passwordOk || user.disabled) {
      const block = await throttle.fail(email, caller.ip);
      const reason = user === null ? 'unknown_user' : !passwordOk ? 'wrong_password' : 'disabled';
      await events.recordSecurityEvent({ event: 'login_failed', userId: user?.id ?? null, ip: caller.ip, userAgent: caller.userAgent, details: { reason } });
      if (block !== null) {
        await events.recordSecurityEvent({
          event: 'login_blocked',
          userId: user?.id ?? null,
          ip: caller.ip,
          userAgent: caller.userAgent,
          details: { scope: 'pair', blocked_for_seconds: block.blockedForSeconds },
        });
      }
      throw authenticationFailed();
    }

    await throttle.succeed(email, caller.ip);
    const now = clock.now();
    const sessionId = randomUUID();
    const refreshToken = newRefreshToken();
    await db.transaction(async (tx) => {
      await sessionsRepo.insertSession(tx, {
        id: sessionId,
        userId: user.id,
        now,
        expiresAt: new Date(now.getTime() + deps.refreshTokenTtlSeconds * 1000),
        userAgent: caller.userAgent,
        ip: caller.ip,
      });
      await sessionsRepo.insertToken(tx, { id: randomUUID(), sessionId, hash: hashRefreshToken(refreshToken), parentId: null, now });
    });
    const access = await mint(user.id, sessionId);
    await events.recordSecurityEvent({ event: 'login_succeeded', userId: user.id, ip: caller.ip, userAgent: caller.userAgent, details: { session_id: sessionId } });
    return { ...access, refreshToken, sessionId, userId: user.id };
  };

  /**
   * FAIL-001 / S-010: every refresh rotates. The presented token is consumed by one atomic
   * statement, so of N concurrent refreshes exactly one mints a successor. A loser inside
   * the grace gets 409 `refresh_in_progress` and the session lives; a consumed token
   * presented later is reuse: the whole session is revoked.
   */
  const refresh = async (presented: string, caller: Caller): Promise<TokenPair> => {
    const hash = hashRefreshToken(presented);
    const now = clock.now();
    const successor = newRefreshToken();
    const minted = await db.transaction(async (tx) => {
      const consumed = await sessionsRepo.consume(tx, hash, now, idleCutoff(now));
      if (consumed === null) return null;
      // Over the per-session limit: the throw rolls the consumption back, so the token stays usable.
      if (deps.checkRefreshSession !== undefined) await deps.checkRefreshSession(consumed.session_id);
      const successorId = randomUUID();
      await sessionsRepo.insertToken(tx, { id: successorId, sessionId: consumed.session_id, hash: hashRefreshToken(successor), parentId: consumed.token_id, now });
      await sessionsRepo.linkSuccessor(tx, consumed.token_id, successorId);
      await sessionsRepo.touchSession(tx, consumed.session_id, now, caller.userAgent, caller.ip);
      return consumed;
    });
    if (minted !== null) {
      const access = await mint(minted.user_id, minted.session_id);
      await events.recordSecurityEvent({ event: 'token_refreshed', userId: minted.user_id, ip: caller.ip, userAgent: caller.userAgent, details: { session_id: minted.session_id } });
      return { ...access, refreshToken: successor, sessionId: minted.session_id, userId: minted.user_id };
    }

    // Why did it not match? One read decides; none of these answers mint anything.
    const state = await sessionsRepo.tokenState(hash);
    if (state === null || state.session_revoked_at !== null || state.revoked_at !== null) throw invalidRefreshToken();
    if (state.used_at === null) {
      // Unused token of an expired (absolute or idle) session.
      throw unauthorized('session_expired', 'The session has expired; log in again.');
    }
    const sinceUse = now.getTime() - state.used_at.getTime();
    if (sinceUse <= deps.refreshReuseGraceSeconds * 1000) {
      throw conflict('refresh_in_progress', 'This refresh token was just used by a concurrent request; use the tokens it returned.');
    }
    const revoked = await sessionsRepo.revokeSession(state.session_id, 'refresh_token_reused', now);
    await revokeSessions([state.session_id]);
    await events.recordSecurityEvent({
      event: 'refresh_token_reused',
      userId: state.user_id,
      ip: caller.ip,
      userAgent: caller.userAgent,
      details: { session_id: state.session_id, session_revoked: revoked !== null, seconds_since_use: Math.floor(sinceUse / 1000) },
    });
    throw new AppError(401, 'refresh_token_reused', 'Authentication failed', {
      detail: 'This refresh token was already used; the session has been revoked. Log in again.',
      headers: { 'www-authenticate': 'Bearer' },
    });
  };

  const toView = (row: SessionRow): SessionView => ({
    id: row.id,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    userAgent: row.user_agent,
    ip: row.ip,
  });

  return {
    login,
    refresh,
    revokeAllSessions,

    logout: async (userId: string, sessionId: string, caller: Caller): Promise<void> => {
      const row = await sessionsRepo.revokeSession(sessionId, 'logout', clock.now(), userId);
      await revokeSessions([sessionId]);
      await events.recordSecurityEvent({ event: 'logout', userId, ip: caller.ip, userAgent: caller.userAgent, details: { session_id: sessionId, was_live: row !== null } });
    },

    listSessions: async (userId: string): Promise<SessionView[]> => {
      const now = clock.now();
      return (await sessionsRepo.listLive(userId, now, idleCutoff(now))).map(toView);
    },

    /** Own sessions only: another user's or an unknown id is `false` (→ 404, FAIL-013). */
    revokeOwnSession: async (userId: string, sessionId: string, caller: Caller): Promise<boolean> => {
      const row = await sessionsRepo.revokeSession(sessionId, 'revoked_by_user', clock.now(), userId);
      if (row === null) return false;
      await revokeSessions([sessionId]);
      await events.recordSecurityEvent({ event: 'session_revoked', userId, ip: caller.ip, userAgent: caller.userAgent, details: { session_id: sessionId, reason: 'revoked_by_user' } });
      return true;
    },
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
