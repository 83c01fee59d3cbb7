// Account email (only with SMTP_URL): address verification, password reset by email, and
// notices of sign-ins from new addresses, MFA changes and registrations of a taken address.
//
// Nothing is sent on a request's path. A request (or the change it makes, in the same
// transaction) enqueues an `auth.email` job; the job looks the account up, makes the
// token when one is needed and sends. So a slow or failing mail server never blocks or
// fails a request, a rolled-back change sends nothing, failed sends are retried with
// backoff and end in the dead-letter queue. Tokens are 256-bit random values that exist
// only in the email; the database keeps their SHA-256, single use, with an expiry.
import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../../platform/clock.ts';
import type { Database, Queryable } from '../../platform/db/index.ts';
import { badRequest, tooManyRequests } from '../../platform/errors.ts';
import type { JobContext, JobQueue } from '../../platform/jobs/index.ts';
import type { LimiterFactory } from '../../platform/limits/index.ts';
import type { Mailer } from '../../platform/mail.ts';
import type { PasswordHasher, UsersService } from '../users/index.ts';
import type { Caller } from './auth.service.ts';
import { createEmailTokensRepository, type EmailTokenPurpose } from './email-tokens.repository.ts';
import type { SecurityEvents } from './security-events.ts';
import { hashRefreshToken } from './tokens.ts';

export const ACCOUNT_MAIL_QUEUE = 'auth.email';

/** What a mail job is asked to send. No token ever travels in a job: the job makes it. */
export type AccountMailJob =
  | { kind: 'verify_email'; user_id: string }
  | { kind: 'password_reset'; email: string }
  | { kind: 'registration_email_taken'; user_id: string }
  | { kind: 'sign_in'; user_id: string; ip: string; user_agent: string | null; at: string }
  | { kind: 'mfa_changed'; user_id: string; change: 'enabled' | 'disabled' | 'reset' }
  | { kind: 'password_changed'; user_id: string; how: 'reset' | 'operator' };

/** What other services use: enqueue a mail job, in their transaction when they pass one. */
export interface AccountMailer {
  enqueue: (tx: Queryable | undefined, job: AccountMailJob, options?: { singletonKey?: string }) => Promise<void>;
}

export interface AccountMailerDeps {
  db: Database;
  jobs: JobQueue;
  mailer: Mailer;
  users: Pick<UsersService, 'findForLogin' | 'findForReauth'>;
  clock: Clock;
  config: { verifyTokenTtlSeconds: number; resetTokenTtlSeconds: number };
}

export interface EmailAccountDeps {
  db: Database;
  mail: AccountMailer;
  users: Pick<UsersService, 'setPasswordHash' | 'markEmailVerified' | 'normaliseEmail' | 'assertAcceptablePassword'>;
  hasher: PasswordHasher;
  events: SecurityEvents;
  limiters: LimiterFactory;
  clock: Clock;
  /** Revokes every session (database and revocation list) and drops the cached user. */
  revokeAllSessions: (userId: string, reason: string, caller: Caller) => Promise<number>;
  forgetUser: (userId: string) => void;
  config: { verifyTokenTtlSeconds: number; resetTokenTtlSeconds: number; resetPerEmailPerHour: number; resetPerIpPerHour: number };
}

const invalidToken = () => badRequest('invalid_email_token', 'The link is invalid, expired or was already used; ask for a new one.', [{ field: 'body.token', message: 'is invalid, expired or used' }]);
const sha256 = (value: string) => createHash('sha256').update(value).digest('base64url');
const minutes = (seconds: number) => `${Math.round(seconds / 60)} minutes`;

/** Defines the `auth.email` job (make the token when needed, send) and returns how to enqueue it. */
export function createAccountMailer(deps: AccountMailerDeps): AccountMailer {
  const { db, jobs, mailer, users, clock, config } = deps;
  const tokens = createEmailTokensRepository(db);

  /** A fresh token for this job, stored hashed; null when the job's token was already used. */
  const issueToken = async (context: JobContext, user: { id: string; email: string }, purpose: EmailTokenPurpose, ttlSeconds: number): Promise<string | null> => {
    const token = randomBytes(32).toString('base64url');
    const now = clock.now();
    const stored = await db.transaction((tx) =>
      tokens.put(tx, { tokenHash: hashRefreshToken(token), jobId: context.id, userId: user.id, purpose, email: user.email, now, expiresAt: new Date(now.getTime() + ttlSeconds * 1000) }),
    );
    return stored ? token : null;
  };

  /** The job: find the account, make a token when needed, send. Throws to retry. */
  const deliver = async (job: AccountMailJob, context: JobContext): Promise<void> => {
    const log = context.logger;
    if (job.kind === 'password_reset') {
      const user = await users.findForLogin(job.email);
      // Unknown or disabled: nothing is sent, and the requester was told the same as for an account.
      if (user === null || user.disabled) {
        log.info({ event: 'password_reset_no_account' }, 'password reset asked for an address without a usable account; nothing sent');
        return;
      }
      const token = await issueToken(context, user, 'password_reset', config.resetTokenTtlSeconds);
      if (token === null) return;
      await mailer.send({
        to: user.email,
        subject: 'Reset your FinanceHub password',
        text: [
          'Someone (hopefully you) asked to reset the password of your FinanceHub account.',
          '',
          `Your reset code, valid for ${minutes(config.resetTokenTtlSeconds)} and usable once:`,
          '',
          token,
          '',
          'Enter it in FinanceHub with your new password (POST /v1/auth/password-reset/confirm).',
          'Resetting signs out every device. If you did not ask for this, ignore this email: your password stays as it is.',
        ].join('\n'),
      });
      return;
    }
    const user = await users.findForReauth(job.user_id);
    if (user === null) return; // deleted meanwhile
    switch (job.kind) {
      case 'verify_email': {
        if (user.email_verified_at !== null) return;
        const token = await issueToken(context, user, 'verify_email', config.verifyTokenTtlSeconds);
        if (token === null) return;
        await mailer.send({
          to: user.email,
          subject: 'Confirm your email address for FinanceHub',
          text: [
            'Confirm that this address belongs to your FinanceHub account with this code',
            `(valid for ${minutes(config.verifyTokenTtlSeconds)}, usable once):`,
            '',
            token,
            '',
            'Enter it in FinanceHub (POST /v1/auth/verify-email). If you did not create an account, ignore this email.',
          ].join('\n'),
        });
        return;
      }
      case 'registration_email_taken':
        await mailer.send({
          to: user.email,
          subject: 'Someone tried to register with your email address',
          text: [
            'Someone tried to create a FinanceHub account with this address, which already has one.',
            'Nothing was changed. If it was you, sign in instead, or reset your password if you forgot it.',
          ].join('\n'),
        });
        return;
      case 'sign_in':
        await mailer.send({
          to: user.email,
          subject: 'New sign-in to your FinanceHub account',
          text: [
            'Your FinanceHub account was signed in to from an address it had not used recently:',
            '',
            `Time (UTC): ${job.at}`,
            `IP address: ${job.ip}`,
            `Browser or app: ${(job.user_agent ?? 'unknown').slice(0, 200)}`,
            '',
            'If this was not you, change your password and sign out all other sessions.',
          ].join('\n'),
        });
        return;
      case 'mfa_changed':
        await mailer.send({
          to: user.email,
          subject: `Two-factor sign-in was turned ${job.change === 'enabled' ? 'on' : 'off'} for your FinanceHub account`,
          text: [
            job.change === 'enabled'
              ? 'Two-factor sign-in (authenticator app codes) is now on for your FinanceHub account.'
              : job.change === 'reset'
                ? 'An administrator turned off two-factor sign-in for your FinanceHub account.'
                : 'Two-factor sign-in was turned off for your FinanceHub account.',
            '',
            'If this was not you, change your password at once and contact your administrator.',
          ].join('\n'),
        });
        return;
      case 'password_changed':
        await mailer.send({
          to: user.email,
          subject: 'Your FinanceHub password was reset',
          text: [
            job.how === 'operator'
              ? 'An administrator set a new password for your FinanceHub account, and every device was signed out.'
              : 'The password of your FinanceHub account was reset with an emailed code, and every device was signed out.',
            '',
            'If you did not ask for this, contact your administrator at once.',
          ].join('\n'),
        });
        return;
    }
  };

  jobs.define<AccountMailJob>({ name: ACCOUNT_MAIL_QUEUE, handler: deliver });

  return {
    enqueue: async (tx, job, options = {}) => {
      await jobs.enqueue(tx, ACCOUNT_MAIL_QUEUE, job, options);
    },
  };
}

/** The email flows of the auth routes: password reset, address verification. Knows no HTTP. */
export function createEmailAccountService(deps: EmailAccountDeps) {
  const { db, mail, users, clock, events, config } = deps;
  const tokens = createEmailTokensRepository(db);
  const resetPerEmail = deps.limiters.createLimiter({ name: 'password-reset-email', points: config.resetPerEmailPerHour, durationSeconds: 3600 });
  const resetPerIp = deps.limiters.createLimiter({ name: 'password-reset-ip', points: config.resetPerIpPerHour, durationSeconds: 3600 });
  const enqueue = mail.enqueue;

  return {

    /**
     * POST /v1/auth/password-reset. The same answer, and the same work, whether or not the
     * address has an account (FAIL-010): both are throttled alike and both enqueue one job;
     * only the job looks the account up. Throttled per address and per IP (429).
     */
    requestPasswordReset: async (rawEmail: string, caller: Caller): Promise<void> => {
      const email = users.normaliseEmail(rawEmail);
      const byIp = await resetPerIp.consume(caller.ip);
      if (!byIp.allowed) throw tooManyRequests(byIp.resetSeconds, 'password_reset_throttled');
      const byEmail = await resetPerEmail.consume(sha256(email));
      if (!byEmail.allowed) throw tooManyRequests(byEmail.resetSeconds, 'password_reset_throttled');
      await enqueue(undefined, { kind: 'password_reset', email });
    },

    /**
     * POST /v1/auth/password-reset/confirm: the emailed token and a new password (the
     * registration policy). In one transaction the token is spent (exactly one of
     * concurrent uses wins), the hash replaced, the other reset links dropped, the address
     * marked verified (the mailbox was proven) and a notice enqueued; then every session
     * is revoked. Each attempt counts toward the per-IP reset limit.
     */
    confirmPasswordReset: async (token: string, newPassword: string, caller: Caller): Promise<void> => {
      const byIp = await resetPerIp.consume(caller.ip);
      if (!byIp.allowed) throw tooManyRequests(byIp.resetSeconds, 'password_reset_throttled');
      const hash = hashRefreshToken(token);
      const owner = await tokens.peek(hash, 'password_reset', clock.now());
      if (owner === null) throw invalidToken();
      await users.assertAcceptablePassword(newPassword, owner.email);
      const passwordHash = await deps.hasher.hash(newPassword);
      const spent = await db.transaction(async (tx) => {
        const row = await tokens.consume(tx, hash, 'password_reset', clock.now());
        if (row === null) return null;
        await users.setPasswordHash(tx, row.user_id, passwordHash);
        await tokens.dropUnused(tx, row.user_id, 'password_reset');
        await users.markEmailVerified(tx, row.user_id, row.email);
        await enqueue(tx, { kind: 'password_changed', user_id: row.user_id, how: 'reset' });
        return row;
      });
      if (spent === null) throw invalidToken();
      const revoked = await deps.revokeAllSessions(spent.user_id, 'password_reset', caller);
      deps.forgetUser(spent.user_id);
      await events.recordSecurityEvent({
        event: 'password_changed',
        userId: spent.user_id,
        ip: caller.ip,
        userAgent: caller.userAgent,
        details: { source: 'email_reset', sessions_revoked: revoked },
      });
    },

    /** POST /v1/auth/verify-email: spends the token; the address it was sent to is verified if it is still the account's. */
    verifyEmail: async (token: string, caller: Caller): Promise<void> => {
      const verified = await db.transaction(async (tx) => {
        const row = await tokens.consume(tx, hashRefreshToken(token), 'verify_email', clock.now());
        if (row === null) return null;
        return (await users.markEmailVerified(tx, row.user_id, row.email)) ? row : null;
      });
      if (verified === null) throw invalidToken();
      deps.forgetUser(verified.user_id);
      await events.recordSecurityEvent({ event: 'email_verified', userId: verified.user_id, ip: caller.ip, userAgent: caller.userAgent });
    },

    /** POST /v1/me/verify-email: another verification email (at most one waiting per account). */
    resendVerification: async (userId: string): Promise<void> => {
      await enqueue(undefined, { kind: 'verify_email', user_id: userId }, { singletonKey: `verify:${userId}` });
    },
  };
}

export type EmailAccountService = ReturnType<typeof createEmailAccountService>;
