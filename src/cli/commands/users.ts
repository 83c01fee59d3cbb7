import { loadConfig } from '../../config.ts';
import { systemClock } from '../../platform/clock.ts';
import { AppError } from '../../platform/errors.ts';
import { createLogger, type Logger } from '../../platform/logger.ts';
import { createMfaRepository } from '../../modules/auth/mfa.repository.ts';
import { AUTH_REVOKED_CHANNEL } from '../../modules/auth/revocation.ts';
import { createPubSub } from '../../platform/pubsub.ts';
import { createSessionsRepository } from '../../modules/auth/sessions.repository.ts';
import { createSecurityEvents, createSecurityEventsRepository } from '../../modules/auth/security-events.ts';
import { accountWords, createPasswordHasher, createPasswordPolicy, createUsersRepository, createUsersService, normaliseEmail, type PasswordPolicy } from '../../modules/users/index.ts';
import type { Command, Io } from '../command.ts';
import { withRuntime } from '../runtime.ts';
import type { Config } from '../../config.ts';
import type { Queryable } from '../../platform/db/index.ts';
import { createMailer } from '../../platform/mail.ts';
import type { Runtime } from '../../runtime.ts';
import { createAccountMailer, type AccountMailJob } from '../../modules/auth/account-mail.ts';

/**
 * With SMTP_URL, how a CLI change notifies the account's owner: a mail job enqueued in the
 * change's transaction (the queue is started as a producer only); a running worker sends it.
 * Without SMTP_URL, nothing.
 */
async function noticeSender(config: Config, runtime: Runtime): Promise<(tx: Queryable, job: AccountMailJob) => Promise<void>> {
  if (config.smtp === undefined) return async () => {};
  const users = createUsersRepository(runtime.db);
  const mail = createAccountMailer({
    db: runtime.db,
    jobs: runtime.jobs,
    // Never used here: only a worker's handler sends.
    mailer: createMailer(config.smtp),
    users: { findForLogin: (email) => users.findByEmail(normaliseEmail(email)), findForReauth: (id) => users.findById(id) },
    clock: systemClock,
    config: config.smtp,
  });
  await runtime.jobs.start('producer');
  return (tx, job) => mail.enqueue(tx, job);
}

/**
 * The first line of stdin (or all of it, without the final newline). Passwords never
 * come from arguments: those show up in `ps` and shell history.
 */
export async function readSecretFromStdin(stream: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    if (chunks.some((c) => c.includes(10))) break;
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const newline = text.indexOf('\n');
  return (newline === -1 ? text : text.slice(0, newline)).replace(/\r$/, '');
}

/**
 * Runs `use` with a new password for the account of `email`, read from standard input and
 * checked against the registration policy (the account's own words must not make it up),
 * and with the configuration, a logger and that policy, which is closed afterwards. Checked
 * before any database is opened: a refused password touches nothing. The exit code: `use`'s,
 * or 2 for no password given, 1 for one the policy refuses (the reason written first).
 */
async function withNewPassword(
  command: string,
  io: Io,
  email: string,
  use: (context: { config: Config; logger: Logger; policy: PasswordPolicy; password: string }) => Promise<number>,
): Promise<number> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const policy = createPasswordPolicy({ logger });
  try {
    const password = await readSecretFromStdin();
    if (password === '') {
      io.err(`financehub ${command}: no password on standard input`);
      return 2;
    }
    try {
      await policy.assertAcceptable(password, accountWords(email));
    } catch (err) {
      if (err instanceof AppError) {
        io.err(`financehub ${command}: ${err.detail ?? err.title}`);
        return 1;
      }
      throw err;
    }
    return await use({ config, logger, policy, password });
  } finally {
    await policy.close();
  }
}

export const usersCreateCommand: Command = {
  words: ['users', 'create'],
  summary: 'create an account (use --admin for an administrator); password from stdin',
  usage: `financehub users create --email EMAIL [--admin] [--tier free|pro]

Creates an account in the database of DATABASE_URL (or the PGlite database in DATA_DIR),
migrating it first. The password is read from the first line of standard input, never
from an argument, and must pass the same policy as registration (10-1024 characters,
hard to guess):

  printf '%s\\n' "$ADMIN_PASSWORD" | financehub users create --admin --email ops@example.com

Fails (exit 1) when the email already has an account.`,
  options: {
    email: { type: 'string' },
    admin: { type: 'boolean', default: false },
    tier: { type: 'string' },
  },
  async run({ values, io }) {
    const email = values.email;
    if (typeof email !== 'string' || email.trim() === '') {
      io.err('financehub users create: --email is required');
      return 2;
    }
    const tier = values.tier ?? 'free';
    if (tier !== 'free' && tier !== 'pro') {
      io.err('financehub users create: --tier must be free or pro');
      return 2;
    }
    return withNewPassword('users create', io, normaliseEmail(email), ({ config, logger, policy, password }) =>
      withRuntime(config, logger, io, async (runtime) => {
        const hasher = createPasswordHasher(
          { memoryKib: config.argon2MemoryKib, timeCost: config.argon2TimeCost, parallelism: config.argon2Parallelism },
          { maxConcurrent: config.argon2MaxConcurrent, maxQueue: config.argon2MaxQueue },
        );
        const users = createUsersService({ repo: createUsersRepository(runtime.db), hasher, policy, clock: systemClock, logger });
        const role = values.admin === true ? 'admin' : 'user';
        let user;
        try {
          user = await users.create({ email, password, role, tier });
        } catch (err) {
          if (err instanceof AppError) {
            io.err(`financehub users create: ${err.detail ?? err.title}`);
            return 1;
          }
          throw err;
        }
        const events = createSecurityEvents({ repo: createSecurityEventsRepository(runtime.db), clock: systemClock, logger });
        await events.recordSecurityEvent({ event: 'user_created', userId: user.id, details: { role, tier, source: 'cli' } });
        io.out(`created ${role} ${user.email} (${user.id})`);
        return 0;
      }),
    );
  },
};

export const usersResetMfaCommand: Command = {
  words: ['users', 'reset-mfa'],
  summary: "turn off a user's two-factor sign-in (lost device and recovery codes)",
  usage: `financehub users reset-mfa EMAIL

Removes the TOTP enrolment, the recovery codes and open sign-in challenges of the
account with EMAIL in the database of DATABASE_URL (or the PGlite database in DATA_DIR).
The user then signs in with the password alone and can enrol again. Check who is asking
before you run it: it removes the second factor. Recorded as security event mfa_reset.
Fails (exit 1) when no account has that email.`,
  allowPositionals: true,
  async run({ positionals, io }) {
    const [email, ...rest] = positionals;
    if (email === undefined || email.trim() === '' || rest.length > 0) {
      io.err('financehub users reset-mfa: give exactly one EMAIL');
      return 2;
    }
    const config = loadConfig();
    const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
    return await withRuntime(config, logger, io, async (runtime) => {
      const user = await createUsersRepository(runtime.db).findByEmail(normaliseEmail(email));
      if (user === null) {
        io.err(`financehub users reset-mfa: no account with email ${normaliseEmail(email)}`);
        return 1;
      }
      const repo = createMfaRepository(runtime.db);
      const notify = await noticeSender(config, runtime);
      const removed = await runtime.db.transaction(async (tx) => {
        const done = await repo.remove(tx, user.id);
        if (done) await notify(tx, { kind: 'mfa_changed', user_id: user.id, change: 'reset' });
        return done;
      });
      const events = createSecurityEvents({ repo: createSecurityEventsRepository(runtime.db), clock: systemClock, logger });
      await events.recordSecurityEvent({ event: 'mfa_reset', userId: user.id, details: { source: 'cli', was_enrolled: removed } });
      io.out(removed ? `two-factor sign-in of ${user.email} reset` : `${user.email} had no two-factor sign-in; nothing to reset`);
      return 0;
    });
  },
};

export const usersResetPasswordCommand: Command = {
  words: ['users', 'reset-password'],
  summary: "set a user's password (read from stdin) and sign them out everywhere",
  usage: `financehub users reset-password EMAIL

Sets the password of the account with EMAIL in the database of DATABASE_URL (or the
PGlite database in DATA_DIR) and revokes every session of the account: its refresh
tokens stop at once, and its access tokens on every instance that shares REDIS_URL
(without Redis, at their expiry on running instances). The password is read from the
first line of standard input, never from an argument, and must pass the registration
policy:

  printf '%s\\n' "$NEW_PASSWORD" | financehub users reset-password user@example.com

For users who forgot their password while no email is configured. Recorded as security
event password_changed (source cli). Fails (exit 1) when no account has that email.`,
  allowPositionals: true,
  async run({ positionals, io }) {
    const [email, ...rest] = positionals;
    if (email === undefined || email.trim() === '' || rest.length > 0) {
      io.err('financehub users reset-password: give exactly one EMAIL');
      return 2;
    }
    return withNewPassword('users reset-password', io, normaliseEmail(email), ({ config, logger, policy, password }) =>
      withRuntime(config, logger, io, async (runtime) => {
        const hasher = createPasswordHasher(
          { memoryKib: config.argon2MemoryKib, timeCost: config.argon2TimeCost, parallelism: config.argon2Parallelism },
          { maxConcurrent: 1, maxQueue: 1 },
        );
        const users = createUsersService({ repo: createUsersRepository(runtime.db), hasher, policy, clock: systemClock, logger });
        const user = await users.findForLogin(email);
        if (user === null) {
          io.err(`financehub users reset-password: no account with email ${normaliseEmail(email)}`);
          return 1;
        }
        const passwordHash = await hasher.hash(password);
        const notify = await noticeSender(config, runtime);
        await runtime.db.transaction(async (tx) => {
          await users.setPasswordHash(tx, user.id, passwordHash);
          await notify(tx, { kind: 'password_changed', user_id: user.id, how: 'operator' });
        });
        const sessionsRepo = createSessionsRepository(runtime.db);
        const revoked = await sessionsRepo.revokeAllForUser(user.id, 'password_reset', systemClock.now());
        // The database is the record; running instances (sharing Redis) drop what they
        // cached about this user's sessions when they hear it on the event bus.
        const bus = createPubSub({ logger, redis: runtime.redis });
        try {
          await bus.publish(AUTH_REVOKED_CHANNEL, { user_id: user.id, session_id: null });
        } finally {
          await bus.close();
        }
        const events = createSecurityEvents({ repo: createSecurityEventsRepository(runtime.db), clock: systemClock, logger });
        await events.recordSecurityEvent({ event: 'password_changed', userId: user.id, details: { source: 'cli', sessions_revoked: revoked.length } });
        io.out(`password of ${user.email} reset; ${revoked.length} session(s) revoked`);
        return 0;
      }),
    );
  },
};
