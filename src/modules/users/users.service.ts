// Accounts: registration with a normalised, validated email and a strong password,
// the admin bootstrap, and the reads/updates the admin module builds on. Knows no HTTP.
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../platform/clock.ts';
import type { Database, Queryable } from '../../platform/db/index.ts';
import { badRequest, conflict } from '../../platform/errors.ts';
import type { Role, Tier } from '../../platform/http/principal.ts';
import type { Logger } from '../../platform/logger.ts';
import { accountWords, type PasswordHasher, type PasswordPolicy } from './password.ts';
import type { UserPatch, UserRow, UsersRepository } from './users.repository.ts';

export interface User {
  id: string;
  email: string;
  role: Role;
  tier: Tier;
  disabled: boolean;
  createdAt: Date;
  updatedAt: Date;
  /** The current address was verified by an emailed token (always false without SMTP_URL). */
  emailVerified: boolean;
}

export const EMAIL_MAX_LENGTH = 254;
// Deliberately plain: one @, a dot in the domain, no spaces or control characters.
const EMAIL_PATTERN = /^[^\s@\p{Cc}]+@[^\s@\p{Cc}]+\.[^\s@\p{Cc}]+$/u;

/** Trim and lower-case: the one spelling stored, looked up and throttled by. */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function isValidEmail(normalised: string): boolean {
  return normalised.length <= EMAIL_MAX_LENGTH && EMAIL_PATTERN.test(normalised);
}

export function toUser(row: UserRow): User {
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    tier: row.tier,
    disabled: row.disabled,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    emailVerified: row.email_verified_at !== null,
  };
}

/** What registration did, for work done in the same transaction (the account emails). */
export type RegistrationOutcome = { kind: 'created'; userId: string } | { kind: 'email_taken'; existingUserId: string | null };

export interface UsersServiceDeps {
  repo: UsersRepository;
  /** For registration's transaction (its insert and the caller's `within` commit together). */
  db?: Pick<Database, 'transaction'>;
  hasher: PasswordHasher;
  policy: PasswordPolicy;
  clock: Clock;
  logger: Logger;
}

export function createUsersService(deps: UsersServiceDeps) {
  const { repo, hasher, policy, clock } = deps;

  /** The password policy for the account of `email`, whose own words the password must not be built from. */
  const assertAcceptablePassword = (password: string, email: string): Promise<void> =>
    policy.assertAcceptable(password, accountWords(email));

  const validEmail = (raw: string): string => {
    const email = normaliseEmail(raw);
    if (!isValidEmail(email)) {
      throw badRequest('invalid_email', 'The email address is not valid.', [{ field: 'body.email', message: 'is not a valid email address' }]);
    }
    return email;
  };

  const create = async (input: { email: string; password: string; role?: Role; tier?: Tier }): Promise<User> => {
    const email = validEmail(input.email);
    await assertAcceptablePassword(input.password, email);
    const passwordHash = await hasher.hash(input.password);
    const row = await repo.insert({
      id: randomUUID(),
      email,
      passwordHash,
      role: input.role ?? 'user',
      tier: input.tier ?? 'free',
      now: clock.now(),
    });
    if (row === null) throw conflict('email_taken', 'An account with this email already exists.');
    return toUser(row);
  };

  /**
   * Registration without enumeration (FAIL-010): a new and a taken email take the same
   * path — policy check, one argon2 hash, one insert that the unique index may refuse —
   * so status, body and timing do not tell them apart. For a taken email the caller gets
   * an account-shaped answer that belongs to no one (a fresh random id) and `existingUserId`
   * names the real owner, for the security event.
   */
  const register = async (
    input: { email: string; password: string },
    /** Runs in the insert's transaction with what happened (both outcomes do the same work there). */
    within?: (q: Queryable, outcome: RegistrationOutcome) => Promise<void>,
  ): Promise<{ user: User; existingUserId: string | null }> => {
    const email = validEmail(input.email);
    await assertAcceptablePassword(input.password, email);
    const passwordHash = await hasher.hash(input.password);
    const now = clock.now();
    const attempt = async (q: Queryable) => {
      const row = await repo.insert({ id: randomUUID(), email, passwordHash, role: 'user', tier: 'free', now }, q);
      if (row !== null) {
        await within?.(q, { kind: 'created', userId: row.id });
        return { user: toUser(row), existingUserId: null };
      }
      const owner = await repo.findByEmail(email, q);
      await within?.(q, { kind: 'email_taken', existingUserId: owner?.id ?? null });
      return {
        user: { id: randomUUID(), email, role: 'user' as const, tier: 'free' as const, disabled: false, createdAt: now, updatedAt: now, emailVerified: false },
        existingUserId: owner?.id ?? null,
      };
    };
    if (within === undefined || deps.db === undefined) return attempt(repo.queryable);
    return deps.db.transaction(attempt);
  };

  return {
    normaliseEmail,
    assertAcceptablePassword,
    /** Registration: 400 for a bad email or weak password; a taken email answers like a new one. */
    register,
    /** Accounts made by operators (CLI, ADMIN_EMAIL): 409 `email_taken` when the email exists. */
    create,
    /** Creates the admin from ADMIN_EMAIL/ADMIN_PASSWORD unless that email already exists. */
    ensureAdmin: async (email: string, password: string): Promise<{ created: boolean; user: User }> => {
      const existing = await repo.findByEmail(validEmail(email));
      if (existing !== null) return { created: false, user: toUser(existing) };
      try {
        return { created: true, user: await create({ email, password, role: 'admin' }) };
      } catch (err) {
        // Another instance starting at the same moment created it first.
        const again = await repo.findByEmail(normaliseEmail(email));
        if (again !== null) return { created: false, user: toUser(again) };
        throw err;
      }
    },
    /** The row with its hash, for the login path only. */
    findForLogin: (email: string): Promise<UserRow | null> => repo.findByEmail(normaliseEmail(email)),
    /** The row with its hash, for re-authentication (password change, deletion, MFA changes). */
    findForReauth: (id: string): Promise<UserRow | null> => repo.findById(id),
    setPassword: async (id: string, password: string): Promise<void> => {
      await repo.updatePasswordHash(id, await hasher.hash(password), clock.now());
    },
    /** Stores an already computed hash (argon2 runs before the caller's transaction). */
    setPasswordHash: (q: Queryable, id: string, passwordHash: string): Promise<void> => repo.updatePasswordHash(id, passwordHash, clock.now(), q),
    markEmailVerified: (q: Queryable, id: string, email: string): Promise<boolean> => repo.markEmailVerified(q, id, email, clock.now()),
    deleteById: (q: Queryable, id: string): Promise<boolean> => repo.deleteById(q, id),
    getById: async (id: string): Promise<User | null> => {
      const row = await repo.findById(id);
      return row === null ? null : toUser(row);
    },
    list: async (limit: number, after?: { createdAt: Date; id: string }): Promise<User[]> => (await repo.list(limit, after)).map(toUser),
    /** Role/tier/disabled change; the caller revokes sessions and records the security event. */
    update: async (id: string, patch: UserPatch): Promise<User | null> => {
      const row = await repo.update(id, patch, clock.now());
      return row === null ? null : toUser(row);
    },
  };
}

export type UsersService = ReturnType<typeof createUsersService>;
