// SQL for two-factor sign-in: TOTP enrolments, recovery codes and login challenges.
// Every value is a bound parameter.
import type { Queryable } from '../../platform/db/index.ts';

export interface TotpRow {
  user_id: string;
  secret_sealed: string;
  enabled_at: Date | null;
  last_step: string | null;
}

export interface ChallengeRow {
  id: string;
  user_id: string;
  ip: string;
  user_agent: string | null;
  expires_at: Date;
  attempts: number;
  used_at: Date | null;
}

export function createMfaRepository(db: Queryable) {
  return {
    find: async (userId: string, q: Queryable = db): Promise<TotpRow | null> => {
      const { rows } = await q.query<TotpRow>('SELECT user_id, secret_sealed, enabled_at, last_step::text AS last_step FROM mfa_totp WHERE user_id = $1', [userId]);
      return rows[0] ?? null;
    },

    /** A new pending enrolment replaces a pending one; an enabled one is left alone (false). */
    putPending: async (userId: string, secretSealed: string, now: Date): Promise<boolean> => {
      const { rows } = await db.query<{ user_id: string }>(
        `INSERT INTO mfa_totp (user_id, secret_sealed, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (user_id) DO UPDATE SET secret_sealed = EXCLUDED.secret_sealed, created_at = EXCLUDED.created_at, last_step = NULL
           WHERE mfa_totp.enabled_at IS NULL
         RETURNING user_id`,
        [userId, secretSealed, now],
      );
      return rows.length > 0;
    },

    enable: async (q: Queryable, userId: string, step: number, now: Date): Promise<boolean> => {
      const { rows } = await q.query<{ user_id: string }>(
        'UPDATE mfa_totp SET enabled_at = $3, last_step = $2 WHERE user_id = $1 AND enabled_at IS NULL RETURNING user_id',
        [userId, step, now],
      );
      return rows.length > 0;
    },

    /**
     * Accepts a code's time-step only if it is newer than the last accepted one: one
     * statement, so two requests with the same code cannot both pass (replay refused).
     */
    advanceStep: async (q: Queryable, userId: string, step: number): Promise<boolean> => {
      const { rows } = await q.query<{ user_id: string }>(
        `UPDATE mfa_totp SET last_step = $2
          WHERE user_id = $1 AND enabled_at IS NOT NULL AND (last_step IS NULL OR last_step < $2)
          RETURNING user_id`,
        [userId, step],
      );
      return rows.length > 0;
    },

    replaceRecoveryCodes: async (q: Queryable, userId: string, hashes: string[]): Promise<void> => {
      await q.query('DELETE FROM mfa_recovery_codes WHERE user_id = $1', [userId]);
      await q.query('INSERT INTO mfa_recovery_codes (user_id, code_hash) SELECT $1, unnest($2::text[])', [userId, hashes]);
    },

    /** Spends an unused recovery code; false when it is unknown or already used. */
    useRecoveryCode: async (q: Queryable, userId: string, hash: string, now: Date): Promise<boolean> => {
      const { rows } = await q.query<{ user_id: string }>(
        'UPDATE mfa_recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL RETURNING user_id',
        [userId, hash, now],
      );
      return rows.length > 0;
    },

    remainingRecoveryCodes: async (userId: string): Promise<number> => {
      const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL', [userId]);
      return rows[0]?.n ?? 0;
    },

    /** Turns MFA off: the enrolment, its recovery codes and open challenges go. */
    remove: async (q: Queryable, userId: string): Promise<boolean> => {
      const { rows } = await q.query<{ user_id: string }>('DELETE FROM mfa_totp WHERE user_id = $1 RETURNING user_id', [userId]);
      await q.query('DELETE FROM mfa_recovery_codes WHERE user_id = $1', [userId]);
      await q.query('DELETE FROM mfa_challenges WHERE user_id = $1', [userId]);
      return rows.length > 0;
    },

    insertChallenge: async (c: { id: string; tokenHash: string; userId: string; ip: string; userAgent: string | null; expiresAt: Date; now: Date }): Promise<void> => {
      // Spent and expired challenges are of no use to anyone: dropped as new ones are made.
      await db.query('DELETE FROM mfa_challenges WHERE user_id = $1 AND (used_at IS NOT NULL OR expires_at <= $2)', [c.userId, c.now]);
      await db.query(
        `INSERT INTO mfa_challenges (id, token_hash, user_id, ip, user_agent, expires_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [c.id, c.tokenHash, c.userId, c.ip, c.userAgent, c.expiresAt, c.now],
      );
    },

    /** A live challenge by its token hash, locked for the rest of the transaction. */
    lockLiveChallenge: async (q: Queryable, tokenHash: string, now: Date, maxAttempts: number): Promise<ChallengeRow | null> => {
      const { rows } = await q.query<ChallengeRow>(
        `SELECT id, user_id, ip, user_agent, expires_at, attempts, used_at FROM mfa_challenges
          WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 AND attempts < $3
          FOR UPDATE`,
        [tokenHash, now, maxAttempts],
      );
      return rows[0] ?? null;
    },

    countAttempt: async (q: Queryable, id: string): Promise<void> => {
      await q.query('UPDATE mfa_challenges SET attempts = attempts + 1 WHERE id = $1', [id]);
    },

    spendChallenge: async (q: Queryable, id: string, now: Date): Promise<boolean> => {
      const { rows } = await q.query<{ id: string }>('UPDATE mfa_challenges SET used_at = $2 WHERE id = $1 AND used_at IS NULL RETURNING id', [id, now]);
      return rows.length > 0;
    },
  };
}

export type MfaRepository = ReturnType<typeof createMfaRepository>;
