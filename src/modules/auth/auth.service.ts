// Logins, sessions and token rotation. Knows no HTTP: callers pass who is asking
// (ip, user agent) and get domain results or AppErrors with stable codes.
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../platform/clock.ts';
import { AppError, conflict, tooManyRequests, unauthorized } from '../../platform/errors.ts';
import type { Logger } from '../../platform/logger.ts';
import type { Database } from '../../platform/db/index.ts';
import type { PasswordHasher, UsersService } from '../users/index.ts';
import type { LoginReservation, LoginThrottle, OwnerWayIn, ReserveResult } from './login-throttle.ts';
import type { RevocationList } from './revocation.ts';
import type { SecurityEvents } from './security-events.ts';
import type { SessionRow, SessionsRepository } from './sessions.repository.ts';
import { hashRefreshToken, newRefreshToken, type AccessTokens } from './tokens.ts';
import type { MfaService } from './mfa.service.ts';
import type { AccountMailer } from './account-mail.ts';

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
  /** Two-factor sign-in: with MFA on, a correct password yields a challenge, not tokens. */
  mfa: Pick<MfaService, 'isEnabled' | 'createChallenge' | 'peekChallenge' | 'completeChallenge'>;
  /** Account email (SMTP_URL): a sign-in from an address new to the account enqueues a notice. */
  mail?: AccountMailer | undefined;
}

/** A correct password of an account with MFA on: complete it at POST /v1/auth/mfa. */
export interface MfaChallenge {
  mfaToken: string;
  expiresIn: number;
}

export type LoginResult = ({ kind: 'tokens' } & TokenPair) | ({ kind: 'mfa_required' } & MfaChallenge);

/** One answer for every login failure (FAIL-010): same status, code, title and detail. */
const authenticationFailed = () => unauthorized('authentication_failed', 'The email or password is incorrect.');
/** Stands in for an unknown account in the owner lookups: matches no session. */
const NO_USER = '00000000-0000-0000-0000-000000000000';
const invalidRefreshToken = () => unauthorized('invalid_refresh_token', 'The refresh token is invalid or expired.');
const invalidMfaChallenge = () => unauthorized('invalid_mfa_challenge', 'The sign-in step has expired or was already used; log in again.');
const mfaFailed = () => unauthorized('mfa_failed', 'The code is incorrect.');

export function createAuthService(deps: AuthServiceDeps) {
  const { db, users, hasher, sessionsRepo, accessTokens, throttle, revocations, events, clock } = deps;
  const idleCutoff = (now: Date) => new Date(now.getTime() - deps.refreshIdleTimeoutSeconds * 1000);

  const mint = async (userId: string, sessionId: string): Promise<{ accessToken: string; expiresIn: number }> => {
    const issued = await accessTokens.issue({ userId, sessionId });
    return { accessToken: issued.token, expiresIn: issued.expiresIn };
  };

  const revokeSessions = async (userId: string, sessionIds: string[]) => {
    if (sessionIds.length > 0) await revocations.revokeSessions(userId, sessionIds);
  };

  /** Revokes every session of a user (logout-all, disabling an account). Returns how many. */
  const revokeAllSessions = async (userId: string, reason: string, caller?: Partial<Caller>): Promise<number> => {
    const ids = await sessionsRepo.revokeAllForUser(userId, reason, clock.now());
    // Announced even when no session was live: callers use it for disabled or deleted users too.
    await revocations.revokeUser(userId);
    await events.recordSecurityEvent({
      event: reason === 'logout_all' ? 'logout_all' : 'session_revoked',
      userId,
      ip: caller?.ip ?? null,
      userAgent: caller?.userAgent ?? null,
      details: { reason, sessions: ids.length },
    });
    return ids.length;
  };

  const blockedLogin = async (verdict: { retryAfterSeconds: number; scope?: string }, caller: Caller, userId: string | null = null): Promise<never> => {
    await events.recordSecurityEvent({
      event: 'login_blocked',
      userId,
      ip: caller.ip,
      userAgent: caller.userAgent,
      details: { scope: verdict.scope ?? null, retry_after_seconds: verdict.retryAfterSeconds },
    });
    throw tooManyRequests(verdict.retryAfterSeconds, 'login_throttled');
  };

  /** Keeps a reserved attempt's points as a failure (a password or a second factor) toward the lockout. */
  const countFailure = async (reservation: LoginReservation, caller: Caller, userId: string | null) => {
    const block = await throttle.fail(reservation);
    if (block !== null) {
      await events.recordSecurityEvent({
        event: 'login_blocked',
        userId,
        ip: caller.ip,
        userAgent: caller.userAgent,
        details: { scope: 'pair', blocked_for_seconds: block.blockedForSeconds },
      });
    }
  };

  /**
   * The owner's way in past the exhausted per-email cap (FAIL-015): a known device (this
   * account's current refresh token of a live session) or a known address (one this
   * account logged in or refreshed from within REFRESH_TOKEN_TTL) with no failures for this
   * email now. Both lookups run for unknown emails too, so the answer's timing does not
   * tell whether the account exists.
   */
  const ownerWayIn = (email: string, presentedToken: string | undefined, caller: Caller, found: { way: 'known_device' | 'known_address' | null }): OwnerWayIn =>
    async ({ failuresBefore }) => {
      const now = clock.now();
      const owner = await users.findForLogin(email);
      const userId = owner?.id ?? NO_USER;
      if (presentedToken !== undefined && (await sessionsRepo.liveTokenOwner(hashRefreshToken(presentedToken), now, idleCutoff(now))) === userId) {
        found.way = 'known_device';
      } else if (failuresBefore === 0 && (await knownAddress(userId, caller))) {
        found.way = 'known_address';
      }
      return owner !== null && found.way !== null;
    };

  const knownAddress = (userId: string, caller: Caller) =>
    sessionsRepo.usedAddressSince(userId, caller.ip, new Date(clock.now().getTime() - deps.refreshTokenTtlSeconds * 1000));

  /**
   * Reserves an attempt of a known account's second factor or re-authentication on the
   * login's counters (same atomicity: N parallel guesses take N distinct counts, only those
   * within the limits are verified). Past the exhausted per-email cap only from a known
   * address without failures. Blocked callers get the 429 with nothing checked.
   */
  const reserveFor = async (user: { id: string; email: string }, caller: Caller): Promise<ReserveResult> =>
    throttle.reserve(user.email, caller.ip, async ({ failuresBefore }) => failuresBefore === 0 && (await knownAddress(user.id, caller)));

  /** A new session (token family) with its first refresh token and an access token. */
  const startSession = async (userId: string, caller: Caller, details: Record<string, string> = {}): Promise<TokenPair> => {
    const now = clock.now();
    const sessionId = randomUUID();
    const refreshToken = newRefreshToken();
    // Asked before the new session makes the address known.
    const notify = deps.mail !== undefined && !(await knownAddress(userId, caller));
    await db.transaction(async (tx) => {
      await sessionsRepo.insertSession(tx, {
        id: sessionId,
        userId,
        now,
        expiresAt: new Date(now.getTime() + deps.refreshTokenTtlSeconds * 1000),
        userAgent: caller.userAgent,
        ip: caller.ip,
      });
      await sessionsRepo.insertToken(tx, { id: randomUUID(), sessionId, hash: hashRefreshToken(refreshToken), parentId: null, now });
      if (notify) await deps.mail?.enqueue(tx, { kind: 'sign_in', user_id: userId, ip: caller.ip, user_agent: caller.userAgent, at: now.toISOString() });
    });
    const access = await mint(userId, sessionId);
    await events.recordSecurityEvent({ event: 'login_succeeded', userId, ip: caller.ip, userAgent: caller.userAgent, details: { session_id: sessionId, ...details } });
    return { ...access, refreshToken, sessionId, userId };
  };

  const login = async (input: { email: string; password: string; refresh_token?: string | undefined }, caller: Caller): Promise<LoginResult> => {
    const email = users.normaliseEmail(input.email);
    const found: { way: 'known_device' | 'known_address' | null } = { way: null };
    const reserved = await throttle.reserve(email, caller.ip, ownerWayIn(email, input.refresh_token, caller, found));
    if (reserved.blocked) return blockedLogin(reserved, caller);
    const { reservation } = reserved;
    let user: Awaited<ReturnType<typeof users.findForLogin>>;
    let passwordOk = false;
    let mfaOn = false;
    try {
      user = await users.findForLogin(email);
      if (user === null) await hasher.verifyDummy(input.password);
      else passwordOk = await hasher.verify(user.password_hash, input.password);
      if (user !== null && passwordOk && !user.disabled) mfaOn = await deps.mfa.isEnabled(user.id);
    } catch (err) {
      // Not verified (argon2 over its bounds: 503, or the database failed): no failure counted.
      await throttle.release(reservation);
      throw err;
    }

    if (user === null || !passwordOk || user.disabled) {
      const reason = user === null ? 'unknown_user' : !passwordOk ? 'wrong_password' : 'disabled';
      await events.recordSecurityEvent({ event: 'login_failed', userId: user?.id ?? null, ip: caller.ip, userAgent: caller.userAgent, details: { reason } });
      await countFailure(reservation, caller, user?.id ?? null);
      throw authenticationFailed();
    }

    const details: Record<string, string> = found.way === null ? {} : { past_email_cap: found.way };
    if (mfaOn) {
      // The password alone resets nothing: its points go back, but the pair's failure count
      // is cleared only once the second factor passes, so guessing codes through fresh
      // logins still locks out.
      await throttle.release(reservation);
      const challenge = await deps.mfa.createChallenge(user.id, caller);
      await events.recordSecurityEvent({ event: 'mfa_challenge_issued', userId: user.id, ip: caller.ip, userAgent: caller.userAgent, details });
      return { kind: 'mfa_required', mfaToken: challenge.token, expiresIn: challenge.expiresIn };
    }
    await throttle.succeed(reservation);
    return { kind: 'tokens', ...(await startSession(user.id, caller, details)) };
  };

  /**
   * Second step of a login with MFA: the challenge from the login and a TOTP code or a
   * recovery code. Reserved and counted like password attempts (same counters, keyed by
   * the account's email), so the lockout covers guessing codes too and parallel guesses
   * cannot overshoot it; a code that could not be checked gives its points back.
   */
  const completeMfa = async (input: { mfaToken: string; code: string }, caller: Caller): Promise<TokenPair> => {
    const userId = await deps.mfa.peekChallenge(input.mfaToken);
    if (userId === null) throw invalidMfaChallenge();
    const user = await users.getById(userId);
    if (user === null || user.disabled) throw invalidMfaChallenge();
    const reserved = await reserveFor(user, caller);
    if (reserved.blocked) return blockedLogin(reserved, caller, user.id);
    const { reservation } = reserved;
    let result: Awaited<ReturnType<typeof deps.mfa.completeChallenge>>;
    try {
      result = await deps.mfa.completeChallenge(input.mfaToken, input.code, caller);
    } catch (err) {
      await throttle.release(reservation);
      throw err;
    }
    if (result.outcome === 'invalid_challenge') {
      // The challenge expired or was used meanwhile: no code was checked.
      await throttle.release(reservation);
      throw invalidMfaChallenge();
    }
    if (result.outcome === 'wrong_code') {
      await events.recordSecurityEvent({ event: 'mfa_failed', userId: user.id, ip: caller.ip, userAgent: caller.userAgent });
      await countFailure(reservation, caller, user.id);
      throw mfaFailed();
    }
    await throttle.succeed(reservation);
    return startSession(user.id, caller, { mfa: result.method });
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
    await revokeSessions(state.user_id, [state.session_id]);
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

  /**
   * Revokes every session of the user but `keepSessionId` (a password change keeps the
   * session that made it). Through the revocation list, like every revocation, so other
   * instances and anything listening to it (the realtime gateway) drop them too.
   */
  const revokeOtherSessions = async (userId: string, keepSessionId: string, reason: string): Promise<number> => {
    const ids = await sessionsRepo.revokeAllForUser(userId, reason, clock.now(), keepSessionId);
    await revokeSessions(userId, ids);
    return ids.length;
  };

  return {
    login,
    completeMfa,
    refresh,
    revokeAllSessions,
    revokeOtherSessions,
    /** Adds sessions to the revocation list (their access tokens stop on every instance). */
    revokeSessionIds: revokeSessions,
    /**
     * Re-authentication (password change, deletion, MFA off) on the login's counters:
     * `reserve` before anything is verified, then exactly one of `fail` (wrong password or
     * code), `succeed`, or `release` (the check could not be made).
     */
    throttle: {
      reserve: reserveFor,
      fail: (reservation: LoginReservation, caller: Caller, userId: string) => countFailure(reservation, caller, userId),
      succeed: throttle.succeed,
      release: throttle.release,
    },

    logout: async (userId: string, sessionId: string, caller: Caller): Promise<void> => {
      const row = await sessionsRepo.revokeSession(sessionId, 'logout', clock.now(), userId);
      await revokeSessions(userId, [sessionId]);
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
      await revokeSessions(userId, [sessionId]);
      await events.recordSecurityEvent({ event: 'session_revoked', userId, ip: caller.ip, userAgent: caller.userAgent, details: { session_id: sessionId, reason: 'revoked_by_user' } });
      return true;
    },
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
