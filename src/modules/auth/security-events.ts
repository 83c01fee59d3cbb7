// Security events (issue 3 §9): one row in security_events and one log line with an
// `event` field for each login success/failure/block, refresh, reuse, logout, session
// revocation and role/tier change. Details carry ids, reasons and counts — never a
// password or a token (callers pass no such thing, and the keys below are dropped).
import type { Clock } from '../../platform/clock.ts';
import { currentRequestId } from '../../platform/context.ts';
import type { Queryable } from '../../platform/db/index.ts';
import type { Logger } from '../../platform/logger.ts';

export type SecurityEventName =
  | 'user_registered'
  | 'user_created'
  | 'login_succeeded'
  | 'login_failed'
  | 'login_blocked'
  | 'token_refreshed'
  | 'refresh_token_reused'
  | 'logout'
  | 'logout_all'
  | 'session_revoked'
  | 'role_changed'
  | 'tier_changed'
  | 'user_disabled'
  | 'user_enabled'
  | 'signing_key_rotated'
  | 'registration_email_taken'
  | 'password_changed'
  | 'reauthentication_failed'
  | 'user_deleted'
  | 'mfa_enabled'
  | 'mfa_disabled'
  | 'mfa_reset'
  | 'mfa_challenge_issued'
  | 'mfa_failed'
  | 'email_verified';

export interface SecurityEventInput {
  event: SecurityEventName;
  userId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  /** Defaults to the current request's id from the async context. */
  requestId?: string | null;
  details?: Record<string, string | number | boolean | null>;
}

export interface SecurityEventRow {
  id: number;
  occurred_at: Date;
  user_id: string | null;
  ip: string | null;
  user_agent: string | null;
  event: string;
  request_id: string | null;
  details: Record<string, unknown>;
}

const FORBIDDEN_DETAIL_KEYS = /password|token|secret|authorization|cookie/i;
const MAX_USER_AGENT = 512;

export function createSecurityEventsRepository(db: Queryable) {
  return {
    insert: async (row: Omit<SecurityEventRow, 'id'>): Promise<void> => {
      await db.query(
        `INSERT INTO security_events (occurred_at, user_id, ip, user_agent, event, request_id, details)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [row.occurred_at, row.user_id, row.ip, row.user_agent, row.event, row.request_id, JSON.stringify(row.details)],
      );
    },
    /** Newest first, keyset by (occurred_at, id); optional filters are bound values. */
    list: async (options: { limit: number; userId?: string; event?: string; before?: { occurredAt: Date; id: number } }): Promise<SecurityEventRow[]> => {
      const { rows } = await db.query<SecurityEventRow>(
        `SELECT id, occurred_at, user_id, ip, user_agent, event, request_id, details
           FROM security_events
          WHERE ($2::uuid IS NULL OR user_id = $2::uuid)
            AND ($3::text IS NULL OR event = $3::text)
            AND ($4::timestamptz IS NULL OR (occurred_at, id) < ($4::timestamptz, $5::bigint))
          ORDER BY occurred_at DESC, id DESC
          LIMIT $1`,
        [options.limit, options.userId ?? null, options.event ?? null, options.before?.occurredAt ?? null, options.before?.id ?? null],
      );
      return rows;
    },
  };
}

export type SecurityEventsRepository = ReturnType<typeof createSecurityEventsRepository>;

export function createSecurityEvents(deps: { repo: SecurityEventsRepository; clock: Clock; logger: Logger }) {
  const { repo, clock, logger } = deps;
  /** Records the event in the table and the log. Failing to store it is logged, not thrown. */
  const recordSecurityEvent = async (input: SecurityEventInput): Promise<void> => {
    const details: Record<string, string | number | boolean | null> = {};
    for (const [key, value] of Object.entries(input.details ?? {})) {
      if (!FORBIDDEN_DETAIL_KEYS.test(key)) details[key] = value;
    }
    const row = {
      occurred_at: clock.now(),
      user_id: input.userId ?? null,
      ip: input.ip ?? null,
      user_agent: input.userAgent?.slice(0, MAX_USER_AGENT) ?? null,
      event: input.event,
      request_id: input.requestId ?? currentRequestId() ?? null,
      details,
    };
    logger.info(
      { event: input.event, security: true, userId: row.user_id ?? undefined, ip: row.ip, requestId: row.request_id ?? undefined, details },
      `security event: ${input.event}`,
    );
    try {
      await repo.insert(row);
    } catch (err) {
      logger.error({ err, event: 'security_event_store_failed', securityEvent: input.event }, 'could not store security event');
    }
  };
  return { recordSecurityEvent, list: repo.list };
}

export type SecurityEvents = ReturnType<typeof createSecurityEvents>;
