// What a signed-in user does to their own account — change the password, turn two-factor
// sign-in on and off, delete the account — and the deletion the admin module calls.
// Each sensitive change re-authenticates (password, and the second factor where it
// matters) through the login's throttle, so a stolen access token cannot be used to
// guess the password. Knows no HTTP.
import type { Database } from '../../platform/db/index.ts';
import { AppError, forbidden, tooManyRequests, unauthorized } from '../../platform/errors.ts';
import type { PasswordHasher, UserRow, UsersService } from '../users/index.ts';
import type { AuthService, Caller } from './auth.service.ts';
import type { MfaService } from './mfa.service.ts';
import type { AccountMailer } from './account-mail.ts';
import type { SecurityEvents } from './security-events.ts';

export interface AccountServiceDeps {
  db: Database;
  users: Pick<UsersService, 'findForReauth' | 'setPassword' | 'deleteById' | 'getById' | 'assertAcceptablePassword'>;
  hasher: PasswordHasher;
  auth: Pick<AuthService, 'throttle' | 'revokeAllSessions' | 'revokeOtherSessions' | 'revokeSessionIds'>;
  mfa: Pick<MfaService, 'isEnabled' | 'verifyFactor' | 'startEnrolment' | 'confirmEnrolment' | 'remove' | 'status'>;
  events: SecurityEvents;
  /** Drops this instance's cached copy of a user (guards). */
  forgetUser: (userId: string) => void;
  /** Account email (SMTP_URL): MFA changes enqueue a notice in their own transaction. */
  mail?: AccountMailer | undefined;
}

/** One answer for a wrong password or code on re-authentication. */
const reauthenticationFailed = () =>
  new AppError(403, 'reauthentication_failed', 'Forbidden', { detail: 'The password or code is incorrect.' });

export function createAccountService(deps: AccountServiceDeps) {
  const { db, users, hasher, auth, mfa, events } = deps;

  /**
   * Confirms the caller is the account's owner: the password, and with MFA on and
   * `withFactor`, a TOTP or recovery code. The attempt reserves its point on the login's
   * counters first, so blocked callers get 429 before anything is checked and parallel
   * guesses cannot overshoot the lockout of (email, IP); a check that could not be made
   * gives its points back.
   */
  const reauthenticate = async (userId: string, input: { password: string; code?: string | undefined }, caller: Caller, withFactor: boolean): Promise<UserRow> => {
    const row = await users.findForReauth(userId);
    if (row === null || row.disabled) throw unauthorized();
    const reserved = await auth.throttle.reserve(row, caller);
    if (reserved.blocked) throw tooManyRequests(reserved.retryAfterSeconds, 'login_throttled');
    const { reservation } = reserved;
    let passwordOk: boolean;
    let factorOk = true;
    try {
      passwordOk = await hasher.verify(row.password_hash, input.password);
      if (passwordOk && withFactor && (await mfa.isEnabled(userId))) {
        if (input.code === undefined) throw forbidden('Two-factor sign-in is on: send `code` (a current code or a recovery code) too.');
        const code = input.code;
        factorOk = (await db.transaction((tx) => mfa.verifyFactor(tx, userId, code))) !== null;
      }
    } catch (err) {
      // Not verified (argon2 over its bounds, the database failed, no code sent): no failure counted.
      await auth.throttle.release(reservation);
      throw err;
    }
    if (!passwordOk || !factorOk) {
      await events.recordSecurityEvent({
        event: 'reauthentication_failed',
        userId,
        ip: caller.ip,
        userAgent: caller.userAgent,
        details: { reason: passwordOk ? 'wrong_code' : 'wrong_password' },
      });
      await auth.throttle.fail(reservation, caller, userId);
      throw reauthenticationFailed();
    }
    await auth.throttle.succeed(reservation);
    return row;
  };

  /**
   * Deletes a user and everything they own. Sessions are revoked first, through the shared
   * revocation list, so their access tokens stop on every instance before the rows go;
   * then one transaction deletes the user (foreign keys cascade). Sessions created in
   * between (a login racing the deletion) are revoked after the commit too.
   */
  const deleteUser = async (userId: string, details: Record<string, string | number | boolean | null>, caller: Partial<Caller> = {}): Promise<boolean> => {
    const revoked = await auth.revokeAllSessions(userId, 'user_deleted', caller);
    const result = await db.transaction(async (tx) => {
      const { rows } = await tx.query<{ id: string }>('SELECT id FROM sessions WHERE user_id = $1', [userId]);
      const deleted = await users.deleteById(tx, userId);
      return { deleted, sessionIds: rows.map((r) => r.id) };
    });
    await auth.revokeSessionIds(userId, result.sessionIds);
    deps.forgetUser(userId);
    if (!result.deleted) return false;
    // The user row is gone, so the event names the user in its details, not its user_id.
    await events.recordSecurityEvent({
      event: 'user_deleted',
      ip: caller.ip ?? null,
      userAgent: caller.userAgent ?? null,
      details: { ...details, deleted_user_id: userId, sessions_revoked: revoked },
    });
    return true;
  };

  return {
    deleteUser,

    /** Keeps the current session; revokes every other one (their sockets close with them). */
    changePassword: async (
      principal: { userId: string; sessionId: string },
      input: { currentPassword: string; newPassword: string },
      caller: Caller,
    ): Promise<void> => {
      const row = await users.findForReauth(principal.userId);
      if (row === null) throw unauthorized();
      await users.assertAcceptablePassword(input.newPassword, row.email);
      await reauthenticate(principal.userId, { password: input.currentPassword }, caller, false);
      await users.setPassword(principal.userId, input.newPassword);
      const revoked = await auth.revokeOtherSessions(principal.userId, principal.sessionId, 'password_changed');
      await events.recordSecurityEvent({
        event: 'password_changed',
        userId: principal.userId,
        ip: caller.ip,
        userAgent: caller.userAgent,
        details: { session_id: principal.sessionId, sessions_revoked: revoked },
      });
    },

    /** DELETE /v1/me: the password, and the second factor when MFA is on. */
    deleteOwnAccount: async (userId: string, input: { password: string; code?: string | undefined }, caller: Caller): Promise<void> => {
      await reauthenticate(userId, input, caller, true);
      await deleteUser(userId, { by: userId }, caller);
    },

    mfaStatus: (userId: string) => mfa.status(userId),

    startMfaEnrolment: async (userId: string): Promise<{ secret: string; uri: string }> => {
      const user = await users.getById(userId);
      if (user === null) throw unauthorized();
      return mfa.startEnrolment(userId, user.email);
    },

    confirmMfaEnrolment: async (userId: string, code: string, caller: Caller): Promise<string[]> => {
      const codes = await mfa.confirmEnrolment(userId, code, async (tx) => deps.mail?.enqueue(tx, { kind: 'mfa_changed', user_id: userId, change: 'enabled' }));
      await events.recordSecurityEvent({ event: 'mfa_enabled', userId, ip: caller.ip, userAgent: caller.userAgent });
      return codes;
    },

    /** Turning MFA off takes the password and a current code (or a recovery code). */
    disableMfa: async (userId: string, input: { password: string; code: string }, caller: Caller): Promise<void> => {
      if (!(await mfa.isEnabled(userId))) {
        // A pending (unconfirmed) enrolment is simply dropped.
        await mfa.remove(userId);
        return;
      }
      await reauthenticate(userId, input, caller, true);
      await mfa.remove(userId, async (tx) => deps.mail?.enqueue(tx, { kind: 'mfa_changed', user_id: userId, change: 'disabled' }));
      await events.recordSecurityEvent({ event: 'mfa_disabled', userId, ip: caller.ip, userAgent: caller.userAgent });
    },
  };
}

export type AccountService = ReturnType<typeof createAccountService>;
