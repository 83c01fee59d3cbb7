// /v1/auth/*, /v1/me, /v1/me/sessions and the public signing keys.
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { notFound } from '../../platform/errors.ts';
import { principalOf, type Guards } from '../../platform/http/principal.ts';
import { problemResponses } from '../../platform/http/problem.ts';
import type { App } from '../../platform/http/types.ts';
import type { UsersService } from '../users/index.ts';
import type { AuthService, Caller, TokenPair } from './auth.service.ts';
import { Jwks, LoginBody, RefreshBody, RegisterBody, SessionList, SessionParams, TokenResponse, UserResponse } from './auth.schemas.ts';
import type { KeyStore } from './keys.ts';
import type { SecurityEvents } from './security-events.ts';

export interface AuthRouteDeps {
  auth: AuthService;
  users: UsersService;
  guards: Guards;
  keys: KeyStore;
  events: SecurityEvents;
}

const MAX_USER_AGENT = 512;

/** request.ip honours X-Forwarded-For only when TRUST_PROXY is set (Fastify's trustProxy). */
export function callerOf(request: FastifyRequest): Caller {
  const ua = request.headers['user-agent'];
  return { ip: request.ip, userAgent: typeof ua === 'string' && ua !== '' ? ua.slice(0, MAX_USER_AGENT) : null };
}

const tokenBody = (pair: TokenPair) => ({
  access_token: pair.accessToken,
  token_type: 'Bearer' as const,
  expires_in: pair.expiresIn,
  refresh_token: pair.refreshToken,
});

const secured = [{ bearer: [] }];

export function authRoutes(app: App, deps: AuthRouteDeps): void {
  const { auth, users, guards } = deps;

  app.post(
    '/v1/auth/register',
    {
      schema: {
        tags: ['auth'],
        summary: 'Create an account',
        body: RegisterBody,
        response: { 201: UserResponse, ...problemResponses },
      },
    },
    async (request, reply) => {
      const user = await users.register(request.body);
      const caller = callerOf(request);
      await deps.events.recordSecurityEvent({ event: 'user_registered', userId: user.id, ip: caller.ip, userAgent: caller.userAgent });
      return reply.code(201).send({ id: user.id, email: user.email, role: user.role, tier: user.tier, created_at: user.createdAt.toISOString() });
    },
  );

  app.post(
    '/v1/auth/login',
    {
      schema: {
        tags: ['auth'],
        summary: 'Log in: a new session with an access and a refresh token',
        description: 'Every failure answers the same 401 `authentication_failed`; throttled callers get 429 with Retry-After.',
        body: LoginBody,
        response: { 200: TokenResponse, ...problemResponses },
      },
    },
    async (request) => tokenBody(await auth.login(request.body, callerOf(request))),
  );

  app.post(
    '/v1/auth/refresh',
    {
      schema: {
        tags: ['auth'],
        summary: 'Rotate a refresh token: returns a new pair; the old token is spent',
        description: 'A concurrent duplicate within REFRESH_REUSE_GRACE gets 409 `refresh_in_progress`; a spent token presented later revokes the session (401 `refresh_token_reused`).',
        body: RefreshBody,
        response: { 200: TokenResponse, ...problemResponses },
      },
    },
    async (request) => tokenBody(await auth.refresh(request.body.refresh_token, callerOf(request))),
  );

  app.post(
    '/v1/auth/logout',
    {
      preHandler: guards.requireUser,
      schema: {
        tags: ['auth'],
        summary: 'Revoke the current session',
        security: secured,
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      await auth.logout(principal.userId, principal.sessionId, callerOf(request));
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/v1/auth/logout-all',
    {
      preHandler: guards.requireUser,
      schema: {
        tags: ['auth'],
        summary: 'Revoke every session of the caller',
        security: secured,
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      await auth.revokeAllSessions(principalOf(request).userId, 'logout_all', callerOf(request));
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/me',
    {
      preHandler: guards.requireUser,
      schema: { tags: ['auth'], summary: 'The caller\'s account', security: secured, response: { 200: UserResponse, ...problemResponses } },
    },
    async (request) => {
      const user = await users.getById(principalOf(request).userId);
      if (user === null) throw notFound('User');
      return { id: user.id, email: user.email, role: user.role, tier: user.tier, created_at: user.createdAt.toISOString() };
    },
  );

  app.get(
    '/v1/me/sessions',
    {
      preHandler: guards.requireUser,
      schema: { tags: ['auth'], summary: 'The caller\'s live sessions', security: secured, response: { 200: SessionList, ...problemResponses } },
    },
    async (request) => {
      const principal = principalOf(request);
      const sessions = await auth.listSessions(principal.userId);
      return {
        items: sessions.map((s) => ({
          id: s.id,
          created_at: s.createdAt.toISOString(),
          last_used_at: s.lastUsedAt.toISOString(),
          user_agent: s.userAgent,
          ip: s.ip,
          current: s.id === principal.sessionId,
        })),
        next_cursor: null,
      };
    },
  );

  app.delete(
    '/v1/me/sessions/:id',
    {
      preHandler: guards.requireUser,
      schema: {
        tags: ['auth'],
        summary: 'Revoke one of the caller\'s sessions (another user\'s id answers 404)',
        security: secured,
        params: SessionParams,
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      const revoked = await auth.revokeOwnSession(principalOf(request).userId, request.params.id, callerOf(request));
      if (!revoked) throw notFound('Session');
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/.well-known/jwks.json',
    {
      schema: { tags: ['auth'], summary: 'Public keys that verify access tokens', response: { 200: Jwks, ...problemResponses } },
    },
    async (_request, reply) => {
      void reply.header('cache-control', 'public, max-age=300');
      // Stored public JWKs always carry kty, kid and alg (keys.ts sets them).
      return deps.keys.jwks() as { keys: Array<{ kty: string; kid: string; alg: string }> };
    },
  );
}
