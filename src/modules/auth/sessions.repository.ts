// SQL for sessions (one per login: a refresh-token family) and their refresh tokens.
import type { Database, Queryable } from '../../platform/db/index.ts';

export interface SessionRow {
  id: string;
  user_id: string;
  created_at: Date;
  last_used_at: Date;
  expires_at: Date;
  user_agent: string | null;
  ip: string | null;
  revoked_at: Date | null;
  revoke_reason: string | null;
}

/** A refresh token looked up by hash, with the state of its session. */
export interface TokenStateRow {
  token_id: string;
  used_at: Date | null;
  revoked_at: Date | null;
  session_id: string;
  user_id: string;
  session_revoked_at: Date | null;
  expires_at: Date;
  last_used_at: Date;
}

const SESSION_COLUMNS = 'id, user_id, created_at, last_used_at, expires_at, user_agent, ip, revoked_at, revoke_reason';

export function createSessionsRepository(db: Database) {
  return {
    insertSession: async (q: Queryable, s: { id: string; userId: string; now: Date; expiresAt: Date; userAgent: string | null; ip: string | null }) => {
      await q.query(
        `INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, user_agent, ip)
         VALUES ($1, $2, $3, $3, $4, $5, $6)`,
        [s.id, s.userId, s.now, s.expiresAt, s.userAgent, s.ip],
      );
    },

    insertToken: async (q: Queryable, t: { id: string; sessionId: string; hash: string; parentId: string | null; now: Date }) => {
      await q.query(
        `INSERT INTO refresh_tokens (id, session_id, token_hash, parent_id, issued_at) VALUES ($1, $2, $3, $4, $5)`,
        [t.id, t.sessionId, t.hash, t.parentId, t.now],
      );
    },

    /**
     * FAIL-001: consumes a refresh token in ONE statement. Only an unused, unrevoked token
     * of a live session matches; concurrent callers serialise on the row lock and every
     * one but the first re-evaluates `used_at IS NULL` as false and gets no row.
     */
    consume: async (q: Queryable, hash: string, now: Date, idleCutoff: Date): Promise<{ token_id: string; session_id: string; user_id: string } | null> => {
      const { rows } = await q.query<{ token_id: string; session_id: string; user_id: string }>(
        `UPDATE refresh_tokens AS rt
            SET used_at = $2
           FROM sessions AS s
          WHERE rt.token_hash = $1
            AND rt.used_at IS NULL
            AND rt.revoked_at IS NULL
            AND s.id = rt.session_id
            AND s.revoked_at IS NULL
            AND s.expires_at > $2
            AND s.last_used_at > $3
        RETURNING rt.id AS token_id, rt.session_id, s.user_id`,
        [hash, now, idleCutoff],
      );
      return rows[0] ?? null;
    },

    linkSuccessor: async (q: Queryable, tokenId: string, successorId: string) => {
      await q.query('UPDATE refresh_tokens SET successor_id = $2 WHERE id = $1', [tokenId, successorId]);
    },

    touchSession: async (q: Queryable, sessionId: string, now: Date, userAgent: string | null, ip: string | null) => {
      await q.query(
        'UPDATE sessions SET last_used_at = $2, user_agent = COALESCE($3, user_agent), ip = COALESCE($4, ip) WHERE id = $1',
        [sessionId, now, userAgent, ip],
      );
    },

    tokenState: async (hash: string): Promise<TokenStateRow | null> => {
      const { rows } = await db.query<TokenStateRow>(
        `SELECT rt.id AS token_id, rt.used_at, rt.revoked_at, rt.session_id, s.user_id,
                s.revoked_at AS session_revoked_at, s.expires_at, s.last_used_at
           FROM refresh_tokens AS rt JOIN sessions AS s ON s.id = rt.session_id
          WHERE rt.token_hash = $1`,
        [hash],
      );
      return rows[0] ?? null;
    },

    /**
     * The user whose live session this refresh token currently belongs to (an unused,
     * unrevoked token of an unexpired session), without consuming it: a known device.
     */
    liveTokenOwner: async (hash: string, now: Date, idleCutoff: Date): Promise<string | null> => {
      const { rows } = await db.query<{ user_id: string }>(
        `SELECT s.user_id FROM refresh_tokens AS rt JOIN sessions AS s ON s.id = rt.session_id
          WHERE rt.token_hash = $1 AND rt.used_at IS NULL AND rt.revoked_at IS NULL
            AND s.revoked_at IS NULL AND s.expires_at > $2 AND s.last_used_at > $3`,
        [hash, now, idleCutoff],
      );
      return rows[0]?.user_id ?? null;
    },

    /** True when the user logged in or refreshed from this address since `since`: a known address. */
    usedAddressSince: async (userId: string, ip: string, since: Date): Promise<boolean> => {
      const { rows } = await db.query<{ known: boolean }>(
        'SELECT EXISTS (SELECT 1 FROM sessions WHERE user_id = $1 AND ip = $2 AND last_used_at > $3) AS known',
        [userId, ip, since],
      );
      return rows[0]?.known === true;
    },

    /** Revokes one live session (of this user, when given) and its unused tokens. */
    revokeSession: (sessionId: string, reason: string, now: Date, userId?: string): Promise<SessionRow | null> =>
      db.transaction(async (q) => {
        const { rows } = await q.query<SessionRow>(
          `UPDATE sessions SET revoked_at = $2, revoke_reason = $3
            WHERE id = $1 AND revoked_at IS NULL AND ($4::uuid IS NULL OR user_id = $4::uuid)
           RETURNING ${SESSION_COLUMNS}`,
          [sessionId, now, reason, userId ?? null],
        );
        const row = rows[0] ?? null;
        if (row !== null) {
          await q.query('UPDATE refresh_tokens SET revoked_at = $2 WHERE session_id = $1 AND revoked_at IS NULL', [sessionId, now]);
        }
        return row;
      }),

    /** Revokes every live session of the user (but `exceptSessionId`, when given) and their tokens. */
    revokeAllForUser: (userId: string, reason: string, now: Date, exceptSessionId?: string): Promise<string[]> =>
      db.transaction(async (q) => {
        const { rows } = await q.query<{ id: string }>(
          `UPDATE sessions SET revoked_at = $2, revoke_reason = $3
            WHERE user_id = $1 AND revoked_at IS NULL AND ($4::uuid IS NULL OR id <> $4::uuid) RETURNING id`,
          [userId, now, reason, exceptSessionId ?? null],
        );
        await q.query(
          `UPDATE refresh_tokens SET revoked_at = $2
            WHERE revoked_at IS NULL AND session_id IN (SELECT id FROM sessions WHERE user_id = $1 AND ($3::uuid IS NULL OR id <> $3::uuid))`,
          [userId, now, exceptSessionId ?? null],
        );
        return rows.map((r) => r.id);
      }),

    listLive: async (userId: string, now: Date, idleCutoff: Date): Promise<SessionRow[]> => {
      const { rows } = await db.query<SessionRow>(
        `SELECT ${SESSION_COLUMNS} FROM sessions
          WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 AND last_used_at > $3
          ORDER BY created_at DESC, id DESC
          LIMIT 500`,
        [userId, now, idleCutoff],
      );
      return rows;
    },

    /** The session's owner and whether it is revoked; null when no such session exists (the guard refuses both). */
    state: async (sessionId: string): Promise<{ userId: string; revoked: boolean } | null> => {
      const { rows } = await db.query<{ user_id: string; revoked: boolean }>('SELECT user_id, revoked_at IS NOT NULL AS revoked FROM sessions WHERE id = $1', [sessionId]);
      const row = rows[0];
      return row === undefined ? null : { userId: row.user_id, revoked: row.revoked };
    },
  };
}

export type SessionsRepository = ReturnType<typeof createSessionsRepository>;
