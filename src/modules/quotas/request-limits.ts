// Which limit applies to which request (FAIL-014, S-013, FAIL-007):
//   * every request without a bearer token (public routes, unknown URLs, anonymous
//     calls to protected routes) consumes the per-IP public limit, before anything else
//     is done for it; /health/live (orchestrators) and CORS preflights are exempt;
//   * login, register and refresh have their own per-IP limits on top, and refresh also
//     one per session (checked by the auth service once it knows the session);
//   * a request whose bearer token is refused (401) counts against the IP's bad-token
//     limit, and an IP over it is refused before its tokens are even verified;
//   * an authenticated request (after the route's guard set the principal) counts
//     against the user's daily API request quota for their tier.
// The client address is request.ip: X-Forwarded-For counts only with TRUST_PROXY.
import type { FastifyReply, FastifyRequest, onRequestHookHandler, preHandlerHookHandler } from 'fastify';
import type { Config } from '../../config.ts';
import { enforceLimit, limitExceeded, setRateLimitHeaders, type Limiter, type LimiterFactory } from '../../platform/limits/index.ts';
import type { App } from '../../platform/http/types.ts';
import type { QuotaService } from './quotas.service.ts';

const EXEMPT = new Set(['/health/live']);

export interface RequestLimits {
  /** Refresh per session: the auth service calls this once it knows the session id. */
  checkRefreshSession: (sessionId: string) => Promise<void>;
}

export interface RequestLimitDeps {
  config: Pick<Config, 'rateLimits'>;
  limiters: LimiterFactory;
  quotas: QuotaService;
}

const counted = new WeakSet<FastifyRequest>();

function hasBearer(request: FastifyRequest): boolean {
  return typeof request.headers.authorization === 'string' && request.headers.authorization !== '';
}

/**
 * A CORS preflight costs the server next to nothing (answered by @fastify/cors before any
 * route), and a browser sends one ahead of most authenticated calls; counting them would
 * spend a signed-in user's address budget on the browser's bookkeeping.
 */
function isPreflight(request: FastifyRequest): boolean {
  return request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined;
}

function asArray<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

export function registerRequestLimits(app: App, deps: RequestLimitDeps): RequestLimits {
  const { rateLimits } = deps.config;
  const create = (name: string, spec: { points: number; durationSeconds: number }): Limiter =>
    deps.limiters.createLimiter({ name, points: spec.points, durationSeconds: spec.durationSeconds });
  const publicLimit = create('public-ip', rateLimits.public);
  const badTokenLimit = create('bad-token-ip', rateLimits.public);
  const refreshSession = create('refresh-session', rateLimits.refreshSession);
  const routeLimits = new Map<string, Limiter>([
    ['POST /v1/auth/login', create('login-ip', rateLimits.login)],
    ['POST /v1/auth/register', create('register-ip', rateLimits.register)],
    ['POST /v1/auth/refresh', create('refresh-ip', rateLimits.refreshIp)],
  ]);

  const consumePublic = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    counted.add(request);
    await enforceLimit(request, reply, publicLimit, request.ip);
  };

  // App-wide, so unknown URLs (404) are limited too.
  app.addHook('onRequest', async (request, reply) => {
    if (EXEMPT.has(request.routeOptions.url ?? '') || isPreflight(request)) return;
    if (!hasBearer(request)) return consumePublic(request, reply);
    const bad = await badTokenLimit.peek(request.ip);
    if (!bad.allowed || bad.remaining === 0) throw limitExceeded(bad, 'rate_limited', 'Too many requests with invalid credentials from this address.');
  });

  app.addHook('onResponse', async (request, reply) => {
    if (reply.statusCode === 401 && hasBearer(request) && (request.principal ?? null) === null) {
      await badTokenLimit.consume(request.ip);
    }
  });

  const countAfterGuard = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const principal = request.principal ?? null;
    if (principal === null) {
      // A public route called with some Authorization header: still anonymous.
      if (!counted.has(request)) await consumePublic(request, reply);
      return;
    }
    const count = await deps.quotas.countRequest(principal.userId, principal.tier);
    const result = { allowed: count.allowed, limit: count.limit, consumed: count.usage, remaining: count.remaining, resetSeconds: count.resetSeconds };
    if (!count.allowed) {
      request.log.info({ event: 'quota_exceeded', quota: 'api_requests_per_day' }, 'daily request quota exceeded');
      throw limitExceeded(result, 'quota_exceeded', `The daily API request quota of your tier (${count.limit}) is used up; it resets at ${count.reset.toISOString()}.`);
    }
    setRateLimitHeaders(request, reply, result);
  };
  // Route-level hooks are typed callback-style; settle the promise into `done`.
  const afterGuard: preHandlerHookHandler = (request, reply, done) => {
    countAfterGuard(request, reply).then(() => done(), (err: unknown) => done(err as Error));
  };

  app.addHook('onRoute', (route) => {
    if (EXEMPT.has(route.url)) return;
    const methods = asArray(route.method);
    const limiters = methods.map((m) => routeLimits.get(`${m} ${route.url}`)).filter((l) => l !== undefined);
    if (limiters.length > 0) {
      const enforceAll = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
        for (const limiter of limiters) await enforceLimit(request, reply, limiter, request.ip);
      };
      const onRequest: onRequestHookHandler = (request, reply, done) => {
        enforceAll(request, reply).then(() => done(), (err: unknown) => done(err as Error));
      };
      route.onRequest = [...asArray(route.onRequest), onRequest];
    }
    // Appended, so it runs after the route's own guard has set the principal.
    route.preHandler = [...asArray(route.preHandler), afterGuard];
  });

  return {
    checkRefreshSession: async (sessionId) => {
      const result = await refreshSession.consume(sessionId);
      if (!result.allowed) throw limitExceeded(result, 'rate_limited', 'Too many refreshes for this session.');
    },
  };
}
