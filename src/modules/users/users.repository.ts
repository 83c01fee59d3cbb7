// SQL for the users table. Every value is a bound parameter.
import type { Queryable } from '../../platform/db/index.ts';
import type { Role, Tier } from '../../platform/http/principal.ts';

export interface UserRow {
  id: string;
  email: string;
  password_hash: string;
  role: Role;
  tier: Tier;
  disabled: boolean;
  created_at: Date;
  updated_at: Date;
  /** When the current address was verified through an emailed token; null when not (or no SMTP). */
  email_verified_at: Date | null;
}

export interface UserPatch {
  role?: Role;
  tier?: Tier;
  disabled?: boolean;
}

const COLUMNS = 'id, email, password_hash, role, tier, disabled, created_at, updated_at, email_verified_at';

export function createUsersRepository(db: Queryable) {
  return {
    /** The connection the repository was made with (work outside a transaction). */
    queryable: db,
    /** Inserts unless the email exists; null when it does (unique index decides, no race). */
    insert: async (user: { id: string; email: string; passwordHash: string; role: Role; tier: Tier; now: Date }, q: Queryable = db): Promise<UserRow | null> => {
      const { rows } = await q.query<UserRow>(
        `INSERT INTO users (id, email, password_hash, role, tier, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6)
         ON CONFLICT (email) DO NOTHING
         RETURNING ${COLUMNS}`,
        [user.id, user.email, user.passwordHash, user.role, user.tier, user.now],
      );
      return rows[0] ?? null;
    },

    findByEmail: async (email: string, q: Queryable = db): Promise<UserRow | null> => {
      const { rows } = await q.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE email = $1`, [email]);
      return rows[0] ?? null;
    },

    findById: async (id: string): Promise<UserRow | null> => {
      const { rows } = await db.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [id]);
      return rows[0] ?? null;
    },

    /** Keyset page ordered by (created_at, id). */
    list: async (limit: number, after?: { createdAt: Date; id: string }): Promise<UserRow[]> => {
      const { rows } =
        after === undefined
          ? await db.query<UserRow>(`SELECT ${COLUMNS} FROM users ORDER BY created_at, id LIMIT $1`, [limit])
          : await db.query<UserRow>(
              `SELECT ${COLUMNS} FROM users WHERE (created_at, id) > ($2, $3) ORDER BY created_at, id LIMIT $1`,
              [limit, after.createdAt, after.id],
            );
      return rows;
    },

    update: async (id: string, patch: UserPatch, now: Date): Promise<UserRow | null> => {
      const { rows } = await db.query<UserRow>(
        `UPDATE users SET
           role = COALESCE($2, role),
           tier = COALESCE($3, tier),
           disabled = COALESCE($4, disabled),
           updated_at = $5
         WHERE id = $1
         RETURNING ${COLUMNS}`,
        [id, patch.role ?? null, patch.tier ?? null, patch.disabled ?? null, now],
      );
      return rows[0] ?? null;
    },

    updatePasswordHash: async (id: string, passwordHash: string, now: Date, q: Queryable = db): Promise<void> => {
      await q.query('UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1', [id, passwordHash, now]);
    },

    /** Marks `email` verified, only while it is still the account's address. True when it now is. */
    markEmailVerified: async (q: Queryable, id: string, email: string, now: Date): Promise<boolean> => {
      const { rows } = await q.query<{ id: string }>(
        'UPDATE users SET email_verified_at = COALESCE(email_verified_at, $3), updated_at = $3 WHERE id = $1 AND email = $2 RETURNING id',
        [id, email, now],
      );
      return rows.length > 0;
    },

    /**
     * Deletes the account; the foreign keys (ON DELETE CASCADE) delete what it owns in the
     * same statement: sessions and refresh tokens, portfolios, transactions, idempotency
     * keys, watchlist, MFA rows. False when there was no such user.
     */
    deleteById: async (q: Queryable, id: string): Promise<boolean> => {
      const { rows } = await q.query<{ id: string }>('DELETE FROM users WHERE id = $1 RETURNING id', [id]);
      return rows.length > 0;
    },
  };
}

export type UsersRepository = ReturnType<typeof createUsersRepository>;
