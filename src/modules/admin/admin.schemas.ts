import { Type } from 'typebox';
import { CursorParam } from '../../platform/http/cursor.ts';
import type { SecurityEventName } from '../auth/index.ts';

/** Every security event name, for the filter enum; the check below keeps it complete. */
export const SECURITY_EVENT_NAMES = [
  'user_registered',
  'user_created',
  'login_succeeded',
  'login_failed',
  'login_blocked',
  'token_refreshed',
  'refresh_token_reused',
  'logout',
  'logout_all',
  'session_revoked',
  'role_changed',
  'tier_changed',
  'user_disabled',
  'user_enabled',
  'signing_key_rotated',
  'registration_email_taken',
  'password_changed',
  'reauthentication_failed',
  'user_deleted',
  'mfa_enabled',
  'mfa_disabled',
  'mfa_reset',
  'mfa_challenge_issued',
  'mfa_failed',
  'email_verified',
] as const satisfies readonly SecurityEventName[];
// Fails to compile when the auth module adds an event name this list lacks.
const everyEventListed: Exclude<SecurityEventName, (typeof SECURITY_EVENT_NAMES)[number]> extends never ? true : false = true;
void everyEventListed;

const Role = Type.Union([Type.Literal('user'), Type.Literal('admin')]);
const Tier = Type.Union([Type.Literal('free'), Type.Literal('pro')]);
const Limit = Type.Integer({ minimum: 1, maximum: 100, default: 50, description: 'page size' });
const Cursor = CursorParam();

export const UserIdParams = Type.Object({ userId: Type.String({ format: 'uuid' }) }, { additionalProperties: false });

export const ListUsersQuery = Type.Object({ limit: Type.Optional(Limit), cursor: Type.Optional(Cursor) }, { additionalProperties: false });

export const AdminUser = Type.Object({
  id: Type.String({ format: 'uuid' }),
  email: Type.String(),
  role: Role,
  tier: Tier,
  disabled: Type.Boolean(),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
});

export const UsersPage = Type.Object({ items: Type.Array(AdminUser), next_cursor: Type.Union([Type.String(), Type.Null()]) });

export const PatchUserBody = Type.Object(
  { tier: Type.Optional(Tier), role: Type.Optional(Role), disabled: Type.Optional(Type.Boolean()) },
  { additionalProperties: false, minProperties: 1 },
);

export const SecurityEventsQuery = Type.Object(
  {
    limit: Type.Optional(Limit),
    cursor: Type.Optional(Cursor),
    user_id: Type.Optional(Type.String({ format: 'uuid' })),
    event: Type.Optional(Type.Union(SECURITY_EVENT_NAMES.map((name) => Type.Literal(name)))),
  },
  { additionalProperties: false },
);

export const SecurityEvent = Type.Object({
  id: Type.Integer(),
  occurred_at: Type.String({ format: 'date-time' }),
  user_id: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  user_agent: Type.Union([Type.String(), Type.Null()]),
  event: Type.String(),
  request_id: Type.Union([Type.String(), Type.Null()]),
  details: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()])),
});

export const SecurityEventsPage = Type.Object({ items: Type.Array(SecurityEvent), next_cursor: Type.Union([Type.String(), Type.Null()]) });
