// Two-factor sign-in with TOTP (RFC 6238: SHA-1, 6 digits, 30 s, ±1 step of clock drift)
// through `otpauth`. Enrolment returns the secret and an otpauth:// URI; the first valid
// code turns it on and yields ten single-use recovery codes, shown once and stored as
// hashes. A code is accepted once: its time-step must be newer than the last accepted one.
// Secrets are stored sealed (AES-256-GCM, bound to the user id). Login challenges are
// opaque 256-bit tokens stored as hashes, short-lived, single-use, bound to the login's
// IP and user agent, with a bounded number of attempts. Knows no HTTP.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import type { Clock } from '../../platform/clock.ts';
import type { Database, Queryable } from '../../platform/db/index.ts';
import { badRequest, conflict } from '../../platform/errors.ts';
import type { Logger } from '../../platform/logger.ts';
import { SecretBoxError, type SecretBox } from '../../platform/secret-box.ts';
import type { MfaRepository } from './mfa.repository.ts';

export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
/** Steps of drift either side accepted (RFC 6238 §5.2 recommends at most one). */
export const TOTP_WINDOW = 1;
export const RECOVERY_CODE_COUNT = 10;
export const MFA_CHALLENGE_TTL_SECONDS = 300;
export const MFA_CHALLENGE_MAX_ATTEMPTS = 5;

const RECOVERY_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
const TOTP_CODE = /^\d{6}$/;

export type FactorMethod = 'totp' | 'recovery_code';

export interface MfaServiceDeps {
  db: Database;
  repo: MfaRepository;
  box: SecretBox;
  clock: Clock;
  logger: Logger;
  /** Shown by authenticator apps next to the account name. */
  issuer: string;
}

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');

/** Recovery codes: 12 characters (about 59 bits) from an unambiguous alphabet, as xxxx-xxxx-xxxx. */
function newRecoveryCode(): string {
  const bytes = randomBytes(12);
  let code = '';
  for (const byte of bytes) code += RECOVERY_ALPHABET[byte % RECOVERY_ALPHABET.length];
  return `${code.slice(0, 4)}-${code.slice(4, 8)}-${code.slice(8)}`;
}

/** Case, spaces and dashes do not matter when a recovery code is typed back. */
const normaliseRecoveryCode = (code: string) => code.toLowerCase().replace(/[\s-]/g, '');

export function createMfaService(deps: MfaServiceDeps) {
  const { db, repo, box, clock } = deps;
  const aad = (userId: string) => `mfa_totp:${userId}`;
  const totpFor = (secretBase32: string, label: string) =>
    new TOTP({ issuer: deps.issuer, label, algorithm: 'SHA1', digits: TOTP_DIGITS, period: TOTP_PERIOD_SECONDS, secret: Secret.fromBase32(secretBase32) });

  /** The time-step a code matches (within the window), or null. */
  const matchStep = (secretSealed: string, userId: string, code: string): number | null => {
    if (!TOTP_CODE.test(code)) return null;
    let secret: string;
    try {
      secret = box.open(secretSealed, aad(userId));
    } catch (err) {
      if (!(err instanceof SecretBoxError)) throw err;
      // Another key (MFA_ENCRYPTION_KEY changed) or another row's value: no code can match.
      deps.logger.error({ event: 'mfa_secret_undecryptable', userId }, 'a TOTP secret cannot be decrypted with the configured key; reset that user\'s MFA');
      return null;
    }
    const totp = totpFor(secret, userId);
    const timestamp = clock.now().getTime();
    const delta = totp.validate({ token: code, timestamp, window: TOTP_WINDOW });
    return delta === null ? null : totp.counter({ timestamp }) + delta;
  };

  /**
   * Checks a second factor inside the caller's transaction: a TOTP code newer than the last
   * accepted step, or an unused recovery code (spent by this call). Null when neither.
   */
  const verifyFactor = async (q: Queryable, userId: string, code: string): Promise<FactorMethod | null> => {
    const row = await repo.find(userId, q);
    if (row === null || row.enabled_at === null) return null;
    const step = matchStep(row.secret_sealed, userId, code.trim());
    if (step !== null) return (await repo.advanceStep(q, userId, step)) ? 'totp' : null;
    const recovery = normaliseRecoveryCode(code);
    if (recovery.length !== 12) return null;
    return (await repo.useRecoveryCode(q, userId, sha256(recovery), clock.now())) ? 'recovery_code' : null;
  };

  return {
    verifyFactor,

    isEnabled: async (userId: string): Promise<boolean> => (await repo.find(userId))?.enabled_at != null,

    status: async (userId: string): Promise<{ enabled: boolean; pending: boolean; recoveryCodesLeft: number }> => {
      const row = await repo.find(userId);
      const enabled = row?.enabled_at != null;
      return { enabled, pending: row !== null && !enabled, recoveryCodesLeft: enabled ? await repo.remainingRecoveryCodes(userId) : 0 };
    },

    /** Starts (or restarts) enrolment: 409 `mfa_already_enabled` when it is on. */
    startEnrolment: async (userId: string, accountName: string): Promise<{ secret: string; uri: string }> => {
      const secret = new Secret({ size: 20 }).base32;
      if (!(await repo.putPending(userId, box.seal(secret, aad(userId)), clock.now()))) {
        throw conflict('mfa_already_enabled', 'Two-factor sign-in is already on; disable it first to enrol again.');
      }
      return { secret, uri: totpFor(secret, accountName).toString() };
    },

    /** The first valid code turns MFA on; returns the recovery codes (shown this once). */
    confirmEnrolment: async (userId: string, code: string, within?: (tx: Queryable) => Promise<void>): Promise<string[]> => {
      const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
      const outcome = await db.transaction(async (tx) => {
        const row = await repo.find(userId, tx);
        if (row === null) return 'none' as const;
        if (row.enabled_at !== null) return 'enabled' as const;
        const step = matchStep(row.secret_sealed, userId, code.trim());
        if (step === null) return 'invalid' as const;
        await repo.enable(tx, userId, step, clock.now());
        await repo.replaceRecoveryCodes(tx, userId, codes.map((c) => sha256(normaliseRecoveryCode(c))));
        await within?.(tx);
        return 'ok' as const;
      });
      if (outcome === 'none') throw conflict('mfa_not_enrolled', 'Start enrolment first (POST /v1/me/mfa/totp).');
      if (outcome === 'enabled') throw conflict('mfa_already_enabled', 'Two-factor sign-in is already on.');
      if (outcome === 'invalid') throw badRequest('invalid_mfa_code', 'The code is not valid; check the authenticator app\'s clock and try the current code.', [{ field: 'body.code', message: 'is not a valid code' }]);
      return codes;
    },

    /** Removes the enrolment and its recovery codes; false when MFA was not set up. */
    /** `within` runs in the same transaction when something was removed (the notice is enqueued there). */
    remove: (userId: string, within?: (tx: Queryable) => Promise<void>): Promise<boolean> =>
      db.transaction(async (tx) => {
        const removed = await repo.remove(tx, userId);
        if (removed) await within?.(tx);
        return removed;
      }),

    createChallenge: async (userId: string, caller: { ip: string; userAgent: string | null }): Promise<{ token: string; expiresIn: number }> => {
      const token = randomBytes(32).toString('base64url');
      const now = clock.now();
      await repo.insertChallenge({
        id: randomUUID(),
        tokenHash: sha256(token),
        userId,
        ip: caller.ip,
        userAgent: caller.userAgent,
        expiresAt: new Date(now.getTime() + MFA_CHALLENGE_TTL_SECONDS * 1000),
        now,
      });
      return { token, expiresIn: MFA_CHALLENGE_TTL_SECONDS };
    },

    /** The user a live challenge belongs to (for the throttle check), without spending it. */
    peekChallenge: async (token: string): Promise<string | null> => {
      const { rows } = await db.query<{ user_id: string }>(
        'SELECT user_id FROM mfa_challenges WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 AND attempts < $3',
        [sha256(token), clock.now(), MFA_CHALLENGE_MAX_ATTEMPTS],
      );
      return rows[0]?.user_id ?? null;
    },

    /**
     * Completes a challenge with a code, in one transaction: the challenge is locked, must
     * be live and presented from the login's IP and user agent; a valid factor spends it,
     * anything else counts an attempt (the last one ends it).
     */
    completeChallenge: async (
      token: string,
      code: string,
      caller: { ip: string; userAgent: string | null },
    ): Promise<{ outcome: 'ok'; userId: string; method: FactorMethod } | { outcome: 'invalid_challenge' } | { outcome: 'wrong_code'; userId: string }> =>
      db.transaction(async (tx) => {
        const now = clock.now();
        const challenge = await repo.lockLiveChallenge(tx, sha256(token), now, MFA_CHALLENGE_MAX_ATTEMPTS);
        if (challenge === null) return { outcome: 'invalid_challenge' as const };
        if (challenge.ip !== caller.ip || challenge.user_agent !== caller.userAgent) {
          await repo.countAttempt(tx, challenge.id);
          return { outcome: 'invalid_challenge' as const };
        }
        const method = await verifyFactor(tx, challenge.user_id, code);
        if (method === null) {
          await repo.countAttempt(tx, challenge.id);
          return { outcome: 'wrong_code' as const, userId: challenge.user_id };
        }
        await repo.spendChallenge(tx, challenge.id, now);
        return { outcome: 'ok' as const, userId: challenge.user_id, method };
      }),
  };
}

export type MfaService = ReturnType<typeof createMfaService>;
