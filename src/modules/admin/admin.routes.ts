// Admin routes (FAIL-007): every one requires the admin role, checked before the
// request is even validated, so a non-admin learns nothing (403, no data); `:userId`
// must be a UUID (400), and an unknown user is 404.
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { principalOf, type Guards } from '../../platform/http/principal.ts';
import { problemResponses } from '../../platform/http/problem.ts';
import type { App } from '../../platform/http/types.ts';
import { QuotaSchema, quotaJson } from '../quotas/index.ts';
import type { SecurityEventRow } from '../auth/index.ts';
import type { User } from '../users/index.ts';
import {
  AdminUser,
  ListUsersQuery,
  PatchUserBody,
  SecurityEventsPage,
  SecurityEventsQuery,
  UserIdParams,
  UsersPage,
} from './admin.schemas.ts';
import type { Actor, AdminService } from './admin.service.ts';

export interface AdminRouteDeps {
  guards: Guards;
  admin: AdminService;
}

const DEFAULT_LIMIT = 50;

function userJson(user: User) {
  return {
    id: user.id,
    email: user.email,
    role: user.role,
    tier: user.tier,
    disabled: user.disabled,
    created_at: user.createdAt.toISOString(),
    updated_at: user.updatedAt.toISOString(),
  };
}

function eventJson(row: SecurityEventRow) {
  return {
    id: row.id,
    occurred_at: row.occurred_at.toISOString(),
    user_id: row.user_id,
    ip: row.ip,
    user_agent: row.user_agent,
    event: row.event,
    request_id: row.request_id,
    details: row.details as Record<string, string | number | boolean | null>,
  };
}

function actorOf(request: FastifyRequest): Actor {
  const ua = request.headers['user-agent'];
  return { userId: principalOf(request).userId, ip: request.ip, userAgent: typeof ua === 'string' ? ua : null };
}

export function adminRoutes(app: App, deps: AdminRouteDeps): void {
  const { admin } = deps;
  // onRequest: the role is checked before the body is read and before params, query and body are looked at.
  const common = { onRequest: deps.guards.requireAdmin };
  const meta = { tags: ['admin'], security: [{ bearer: [] }] };

  app.get(
    '/v1/admin/users',
    {
      ...common,
      schema: { ...meta, summary: 'List accounts (oldest first, keyset-paginated)', querystring: ListUsersQuery, response: { 200: UsersPage, ...problemResponses } },
    },
    async (request) => {
      const page = await admin.listUsers(request.query.limit ?? DEFAULT_LIMIT, request.query.cursor);
      return { items: page.items.map(userJson), next_cursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/admin/users/:userId/quota',
    {
      ...common,
      schema: { ...meta, summary: "A user's quota: usage, limit and reset per resource", params: UserIdParams, response: { 200: QuotaSchema, ...problemResponses } },
    },
    async (request) => quotaJson(await admin.userQuota(request.params.userId)),
  );

  app.patch(
    '/v1/admin/users/:userId',
    {
      ...common,
      schema: {
        ...meta,
        summary: "Change a user's tier, role or disabled flag (disabling revokes all their sessions)",
        params: UserIdParams,
        body: PatchUserBody,
        response: { 200: AdminUser, ...problemResponses },
      },
    },
    async (request) => userJson(await admin.updateUser(actorOf(request), request.params.userId, request.body)),
  );

  app.delete(
    '/v1/admin/users/:userId',
    {
      ...common,
      schema: {
        ...meta,
        summary: 'Delete a user with everything they own (sessions revoked first, on every instance)',
        params: UserIdParams,
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      await admin.deleteUser(actorOf(request), request.params.userId);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/admin/security-events',
    {
      ...common,
      schema: {
        ...meta,
        summary: 'Security events, newest first (filter by user and event)',
        querystring: SecurityEventsQuery,
        response: { 200: SecurityEventsPage, ...problemResponses },
      },
    },
    async (request) => {
      const { limit, cursor, user_id: userId, event } = request.query;
      const page = await admin.securityEvents({
        limit: limit ?? DEFAULT_LIMIT,
        ...(cursor === undefined ? {} : { cursor }),
        ...(userId === undefined ? {} : { userId }),
        ...(event === undefined ? {} : { event }),
      });
      return { items: page.items.map(eventJson), next_cursor: page.nextCursor };
    },
  );
}
