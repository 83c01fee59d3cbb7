// What an admin may do (FAIL-007): list accounts, read a user's quota, change a user's
// tier, role or disabled flag, and read security events. Role/tier changes and
// (dis)abling are recorded as security events; disabling revokes every session of the
// user at once; deleting removes the account and everything it owns. Knows no HTTP: the caller passes who acts and from where.
import { notFound, unprocessable } from '../../platform/errors.ts';
import type { Role, Tier } from '../../platform/http/principal.ts';
import type { SecurityEventInput, SecurityEventName, SecurityEventRow } from '../auth/index.ts';
import type { Quota, QuotaService } from '../quotas/index.ts';
import type { User, UsersService } from '../users/index.ts';
import { decodeCursor, encodeCursor, invalidCursor, isSerialId, isTimestampKey, UUID_RE, type CursorRules } from '../../platform/http/cursor.ts';

export interface Actor {
  userId: string;
  ip: string;
  userAgent: string | null;
}

export interface UserChange {
  tier?: Tier;
  role?: Role;
  disabled?: boolean;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface AdminServiceDeps {
  users: Pick<UsersService, 'getById' | 'list' | 'update'>;
  quotas: Pick<QuotaService, 'quotaOf'>;
  revokeAllSessions: (userId: string, reason: string) => Promise<number>;
  recordSecurityEvent: (input: SecurityEventInput) => Promise<void>;
  listSecurityEvents: (options: {
    limit: number;
    userId?: string;
    event?: string;
    before?: { occurredAt: Date; id: number };
  }) => Promise<SecurityEventRow[]>;
  /** Drops this instance's cached copy of the user, so the change applies at once. */
  forgetUser: (userId: string) => void;
  /** Deletes the user and all they own, sessions revoked first (auth module); false when unknown. */
  deleteUser: (userId: string, details: Record<string, string | number | boolean | null>, caller: { ip: string; userAgent: string | null }) => Promise<boolean>;
}

/** Users oldest first by (created_at, id); security events newest first by (occurred_at, id). Neither key is ever null. */
const USERS_CURSOR = { sort: 'created_at', order: 'asc', key: isTimestampKey, id: (id: string) => UUID_RE.test(id) };
const EVENTS_CURSOR = { sort: 'occurred_at', order: 'desc', key: isTimestampKey, id: isSerialId };

function decodeTimeCursor(cursor: string, rules: CursorRules): { at: Date; id: string } {
  const c = decodeCursor(cursor, rules);
  if (c.k === null) throw invalidCursor();
  return { at: new Date(c.k), id: c.id };
}

export function createAdminService(deps: AdminServiceDeps) {
  const { users, quotas } = deps;

  const listUsers = async (limit: number, cursor?: string): Promise<Page<User>> => {
    const after = cursor === undefined ? undefined : decodeTimeCursor(cursor, USERS_CURSOR);
    // One extra row tells whether another page exists.
    const rows = await users.list(limit + 1, after === undefined ? undefined : { createdAt: after.at, id: after.id });
    const items = rows.slice(0, limit);
    const last = items.at(-1);
    return {
      items,
      nextCursor: rows.length > limit && last !== undefined ? encodeCursor({ s: USERS_CURSOR.sort, o: USERS_CURSOR.order, k: last.createdAt.toISOString(), id: last.id }) : null,
    };
  };

  const userQuota = async (userId: string): Promise<Quota> => {
    const user = await users.getById(userId);
    if (user === null) throw notFound('User');
    return quotas.quotaOf(user.id, user.tier);
  };

  const updateUser = async (actor: Actor, userId: string, change: UserChange): Promise<User> => {
    const before = await users.getById(userId);
    if (before === null) throw notFound('User');
    // An admin cannot lock themselves out; another admin has to do it.
    if (userId === actor.userId && (change.disabled === true || change.role === 'user')) {
      throw unprocessable('self_lockout', 'You cannot disable your own account or remove your own admin role.');
    }
    const after = await users.update(userId, change);
    if (after === null) throw notFound('User');
    deps.forgetUser(userId);

    const record = (event: SecurityEventName, details: Record<string, string | number | boolean | null>) =>
      deps.recordSecurityEvent({ event, userId, ip: actor.ip, userAgent: actor.userAgent, details: { ...details, by: actor.userId } });
    if (before.role !== after.role) await record('role_changed', { from: before.role, to: after.role });
    if (before.tier !== after.tier) await record('tier_changed', { from: before.tier, to: after.tier });
    if (!before.disabled && after.disabled) {
      // Every refresh token and access token of the user stops working now.
      const revoked = await deps.revokeAllSessions(userId, 'user_disabled');
      await record('user_disabled', { sessions_revoked: revoked });
    } else if (before.disabled && !after.disabled) {
      await record('user_enabled', {});
    }
    return after;
  };

  const securityEvents = async (options: { limit: number; cursor?: string; userId?: string; event?: SecurityEventName }): Promise<Page<SecurityEventRow>> => {
    const before = options.cursor === undefined ? undefined : decodeTimeCursor(options.cursor, EVENTS_CURSOR);
    const rows = await deps.listSecurityEvents({
      limit: options.limit + 1,
      ...(options.userId === undefined ? {} : { userId: options.userId }),
      ...(options.event === undefined ? {} : { event: options.event }),
      ...(before === undefined ? {} : { before: { occurredAt: before.at, id: Number(before.id) } }),
    });
    const items = rows.slice(0, options.limit);
    const last = items.at(-1);
    return {
      items,
      nextCursor: rows.length > options.limit && last !== undefined ? encodeCursor({ s: EVENTS_CURSOR.sort, o: EVENTS_CURSOR.order, k: last.occurred_at.toISOString(), id: String(last.id) }) : null,
    };
  };

  /** Deletes an account with everything it owns; an admin cannot delete their own this way. */
  const deleteUser = async (actor: Actor, userId: string): Promise<void> => {
    if (userId === actor.userId) {
      throw unprocessable('self_lockout', 'You cannot delete your own account here; use DELETE /v1/me.');
    }
    if (!(await deps.deleteUser(userId, { by: actor.userId }, { ip: actor.ip, userAgent: actor.userAgent }))) throw notFound('User');
  };

  return { listUsers, userQuota, updateUser, deleteUser, securityEvents };
}

export type AdminService = ReturnType<typeof createAdminService>;
