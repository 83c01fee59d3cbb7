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
}

export interface UserPatch {
  role?: Role;
  tier?: Tier;
  disabled?: boolean;
}

const COLUMNS = 'id, email, password_hash, role, tier, disabled, created_at, updated_at';

export function createUsersRepository(db: Queryable) {
  return {
    /** Inserts unless the email exists; null when it does (unique index decides, no race). */
    insert: async (user: { id: string; email: string; passwordHash: string; role: Role; tier: Tier; now: Date }): Promise<UserRow | null> => {
      const { rows } = await db.query<UserRow>(
        `INSERT INTO users (id, email, password_hash, role, tier, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6)
         ON CONFLICT (email) DO NOTHING
         RETURNING ${COLUMNS}`,
        [user.id, user.email, user.passwordHash, user.role, user.tier, user.now],
      );
      return rows[0] ?? null;
    },

    findByEmail: async (email: string): Promise<UserRow | null> => {
      const { rows } = await db.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE email = $1`, [email]);
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

    updatePasswordHash: async (id: string, passwordHash: string, now: Date): Promise<void> => {
      await db.query('UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1', [id, passwordHash, now]);
    },
  };
}

export type UsersRepository = ReturnType<typeof createUsersRepository>;
