// GET /v1/ws (the upgrade) and the connections API. The handshake is checked before the
// upgrade, in onRequest hooks: a foreign Origin is 403 (FAIL-011), a credential in the
// query string is 400 (FAIL-005; the logger drops query strings anyway), and a bearer
// token, when sent, must verify exactly as on any HTTP route (401 otherwise, FAIL-006).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { AppError, badRequest, forbidden, notFound, unauthorized } from '../../platform/errors.ts';
import { principalOf, type Guards, type Principal } from '../../platform/http/principal.ts';
import { problemResponses } from '../../platform/http/problem.ts';
import type { App } from '../../platform/http/types.ts';
import { ConnectionList, ConnectionParams } from './realtime.schemas.ts';
import { queryCarriesToken, type RealtimeService } from './realtime.service.ts';

export interface RealtimeRouteDeps {
  service: RealtimeService;
  guards: Guards;
  allowedOrigins: readonly string[];
  /** The principal for a request's bearer token, or null (guards.authenticate). */
  authenticate: (request: FastifyRequest) => Promise<Principal | null>;
  bearerToken: (request: FastifyRequest) => string | undefined;
}

const MAX_USER_AGENT = 512;
const secured = [{ bearer: [] }];

export function realtimeRoutes(app: App, deps: RealtimeRouteDeps): void {
  const { service, guards } = deps;
  const origins = new Set(deps.allowedOrigins);

  const checkHandshake = async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const origin = request.headers.origin;
    // Browsers always send Origin; other clients (servers, CLIs) may omit it.
    if (origin !== undefined && !origins.has(origin)) {
      request.log.info({ event: 'ws_origin_refused', origin: origin.slice(0, 200) }, 'WebSocket upgrade from a foreign origin refused');
      throw forbidden('This origin may not open WebSockets here.');
    }
    const url = request.raw.url ?? '';
    const index = url.indexOf('?');
    if (index !== -1 && queryCarriesToken(url.slice(index + 1))) {
      request.log.info({ event: 'ws_query_token_refused' }, 'WebSocket upgrade with a credential in the query string refused');
      throw badRequest('token_in_query', 'Tokens are never accepted in the URL; send `Authorization: Bearer` or a first `auth` message.');
    }
    if (deps.bearerToken(request) === undefined) {
      if (request.headers.authorization !== undefined) throw unauthorized();
      return;
    }
    const principal = await deps.authenticate(request);
    if (principal === null) throw unauthorized();
    request.principal = principal;
  };

  app.route({
    method: 'GET',
    url: '/v1/ws',
    onRequest: checkHandshake,
    schema: {
      tags: ['realtime'],
      summary: 'Open the real-time WebSocket (see docs/realtime.md); a plain GET answers 426',
      security: secured,
      response: { 101: Type.Null({ description: 'Switching Protocols: the socket speaks the protocol of docs/realtime.md' }), ...problemResponses },
    },
    handler: () => {
      throw new AppError(426, 'upgrade_required', 'Upgrade Required', { detail: 'This URL speaks WebSocket only.', headers: { upgrade: 'websocket' } });
    },
    wsHandler: (socket, request) => {
      const ua = request.headers['user-agent'];
      const principal = request.principal;
      const token = deps.bearerToken(request);
      service.accept(
        socket,
        { ip: request.ip, userAgent: typeof ua === 'string' && ua !== '' ? ua.slice(0, MAX_USER_AGENT) : null },
        principal === null || token === undefined ? null : { principal, token },
      );
    },
  });

  app.get(
    '/v1/me/connections',
    {
      onRequest: guards.requireUser,
      schema: { tags: ['realtime'], summary: "The caller's open WebSockets on every instance", security: secured, response: { 200: ConnectionList, ...problemResponses } },
    },
    async (request) => {
      const principal = principalOf(request);
      const entries = await service.list(principal.userId);
      return {
        items: entries
          .sort((a, b) => a.opened_at.localeCompare(b.opened_at) || a.id.localeCompare(b.id))
          .map((e) => ({
            id: e.id,
            opened_at: e.opened_at,
            ip: e.ip,
            user_agent: e.user_agent,
            subscriptions: e.subscriptions,
            instance: e.instance,
            current_session: e.session_id === principal.sessionId,
          })),
        next_cursor: null,
      };
    },
  );

  app.delete(
    '/v1/me/connections/:id',
    {
      onRequest: guards.requireUser,
      schema: {
        tags: ['realtime'],
        summary: "Close one of the caller's WebSockets (code 4000); another user's or an unknown id answers 404",
        security: secured,
        params: ConnectionParams,
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      const closed = await service.closeConnection(principalOf(request).userId, request.params.id);
      if (!closed) throw notFound('Connection');
      return reply.code(204).send(null);
    },
  );
}
