// SQL for email_tokens: single-use, expiring tokens for address verification and password
// reset, stored as SHA-256 hex. Every value is a bound parameter.
import type { Queryable } from '../../platform/db/index.ts';

export type EmailTokenPurpose = 'verify_email' | 'password_reset';

export interface EmailTokenRow {
  user_id: string;
  email: string;
}

export function createEmailTokensRepository(db: Queryable) {
  return {
    /**
     * Stores the token a mail job sends. A retried job replaces its own token (so the
     * earlier email's token stops working) unless that token was already used; the other
     * unused tokens of the user for the purpose are dropped, so only the newest email works.
     * False when the job's token was already used (nothing to send).
     */
    put: async (
      q: Queryable,
      row: { tokenHash: string; jobId: string; userId: string; purpose: EmailTokenPurpose; email: string; now: Date; expiresAt: Date },
    ): Promise<boolean> => {
      const { rows } = await q.query<{ job_id: string }>(
        `INSERT INTO email_tokens (token_hash, job_id, user_id, purpose, email, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (job_id) DO UPDATE
           SET token_hash = EXCLUDED.token_hash, email = EXCLUDED.email, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
           WHERE email_tokens.used_at IS NULL
         RETURNING job_id`,
        [row.tokenHash, row.jobId, row.userId, row.purpose, row.email, row.now, row.expiresAt],
      );
      if (rows.length === 0) return false;
      await q.query('DELETE FROM email_tokens WHERE user_id = $1 AND purpose = $2 AND job_id <> $3 AND used_at IS NULL', [row.userId, row.purpose, row.jobId]);
      return true;
    },

    /** A live token's owner, without spending it (to check the new password's policy first). */
    peek: async (tokenHash: string, purpose: EmailTokenPurpose, now: Date): Promise<EmailTokenRow | null> => {
      const { rows } = await db.query<EmailTokenRow>(
        'SELECT user_id, email FROM email_tokens WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3',
        [tokenHash, purpose, now],
      );
      return rows[0] ?? null;
    },

    /**
     * Spends a live token in one statement: of concurrent callers exactly one gets the row
     * (the others find used_at set once the row lock is released). Null for an unknown,
     * used or expired token.
     */
    consume: async (q: Queryable, tokenHash: string, purpose: EmailTokenPurpose, now: Date): Promise<EmailTokenRow | null> => {
      const { rows } = await q.query<EmailTokenRow>(
        `UPDATE email_tokens SET used_at = $3
          WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3
          RETURNING user_id, email`,
        [tokenHash, purpose, now],
      );
      return rows[0] ?? null;
    },

    /** Drops the user's unused tokens of a purpose (a reset spends every other reset link). */
    dropUnused: async (q: Queryable, userId: string, purpose: EmailTokenPurpose): Promise<void> => {
      await q.query('DELETE FROM email_tokens WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL', [userId, purpose]);
    },
  };
}

export type EmailTokensRepository = ReturnType<typeof createEmailTokensRepository>;
