import { loadConfig } from '../../config.ts';
import { systemClock } from '../../platform/clock.ts';
import { AppError } from '../../platform/errors.ts';
import { createLogger } from '../../platform/logger.ts';
import { createSecurityEvents, createSecurityEventsRepository } from '../../modules/auth/security-events.ts';
import { assertAcceptablePassword, createPasswordHasher, createUsersRepository, createUsersService, normaliseEmail } from '../../modules/users/index.ts';
import type { Command } from '../command.ts';
import { withRuntime } from '../runtime.ts';

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
    const password = await readSecretFromStdin();
    if (password === '') {
      io.err('financehub users create: no password on standard input');
      return 2;
    }
    // Checked before the database is opened: a weak password fails fast and touches nothing.
    try {
      await assertAcceptablePassword(password, [normaliseEmail(email)]);
    } catch (err) {
      if (err instanceof AppError) {
        io.err(`financehub users create: ${err.detail ?? err.title}`);
        return 1;
      }
      throw err;
    }
    const config = loadConfig();
    const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
    return await withRuntime(config, logger, async (runtime) => {
      const hasher = createPasswordHasher(
      { memoryKib: config.argon2MemoryKib, timeCost: config.argon2TimeCost, parallelism: config.argon2Parallelism },
      { maxConcurrent: config.argon2MaxConcurrent, maxQueue: config.argon2MaxQueue },
    );
      const users = createUsersService({ repo: createUsersRepository(runtime.db), hasher, clock: systemClock, logger });
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
    });
  },
};
