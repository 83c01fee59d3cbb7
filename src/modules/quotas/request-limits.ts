// Which limit applies to which request (FAIL-014, S-013, FAIL-007):
//   * every request without a verified principal consumes the per-IP public limit,
//     whatever its headers, before its body is read: requests without a bearer token
//     and requests to unknown URLs at once, and requests to public routes that carry
//     some Authorization header right after the (absent) guard; /health/live
//     (orchestrators) and CORS preflights are exempt;
//   * login, register and refresh have their own per-IP limits on top, and refresh also
//     one per session (checked by the auth service once it knows the session);
//   * a request whose bearer token is refused (401) counts against the IP's bad-token
//     limit, and an IP over it is refused before its tokens are even verified; a token
//     this instance has already verified is no guess, so it skips that check (and its
//     limiter round trip) — see trustVerifiedTokens;
//   * an authenticated request (after the route's guard set the principal) counts
//     against the user's daily API request quota for their tier.
// Guards and these checks all run in `onRequest`, so a refused request never has its
// body read.
// The client address is request.ip: X-Forwarded-For counts only with TRUST_PROXY.
import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Config } from '../../config.ts';
import { declareLimitFields, enforceLimit, limitExceeded, setRateLimitHeaders, type Limiter, type LimiterFactory } from '../../platform/limits/index.ts';
import { isPreflight } from '../../platform/http/cors.ts';
import type { App } from '../../platform/http/types.ts';
import type { DailyRequestCount, QuotaService } from './quotas.service.ts';

const EXEMPT = new Set(['/health/live']);

export interface RequestLimits {
  /** Refresh per session: the auth service calls this once it knows the session id. */
  checkRefreshSession: (sessionId: string) => Promise<void>;
  /**
   * Hands over the guards' check "this bearer token was already verified here" (memory
   * only). Until it is called every bearer request checks the bad-token limit.
   */
  trustVerifiedTokens: (isVerified: (request: FastifyRequest) => boolean) => void;
}

export interface RequestLimitDeps {
  config: Pick<Config, 'rateLimits'>;
  limiters: LimiterFactory;
  quotas: QuotaService;
}

// Whether a request already spent a point of the public limit, on the request itself (see
// declareLimitFields for why not a WeakSet).
const COUNTED_PUBLIC: unique symbol = Symbol('countedPublic');

declare module 'fastify' {
  interface FastifyRequest {
    [COUNTED_PUBLIC]: boolean;
  }
}

function hasBearer(request: FastifyRequest): boolean {
  return typeof request.headers.authorization === 'string' && request.headers.authorization !== '';
}

function asArray<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

export function registerRequestLimits(app: App, deps: RequestLimitDeps): RequestLimits {
  const { rateLimits } = deps.config;
  declareLimitFields(app);
  app.decorateRequest(COUNTED_PUBLIC, false);
  const create = (name: string, spec: { points: number; durationSeconds: number }): Limiter =>
    deps.limiters.createLimiter({ name, points: spec.points, durationSeconds: spec.durationSeconds });
  const publicLimit = create('public-ip', rateLimits.public);
  const badTokenLimit = create('bad-token-ip', rateLimits.public);
  const refreshSession = create('refresh-session', rateLimits.refreshSession);
  const loginLimit = create('login-ip', rateLimits.login);
  const routeLimits = new Map<string, Limiter>([
    ['POST /v1/auth/login', loginLimit],
    // The second step of a login with MFA spends the same per-IP allowance as the first.
    ['POST /v1/auth/mfa', loginLimit],
    ['POST /v1/auth/register', create('register-ip', rateLimits.register)],
    ['POST /v1/auth/refresh', create('refresh-ip', rateLimits.refreshIp)],
  ]);

  let isVerified: (request: FastifyRequest) => boolean = () => false;

  const consumePublic = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    request[COUNTED_PUBLIC] = true;
    await enforceLimit(request, reply, publicLimit, request.ip);
  };

  const checkBadTokens = async (request: FastifyRequest): Promise<void> => {
    const bad = await badTokenLimit.peek(request.ip);
    if (!bad.allowed || bad.remaining === 0) throw limitExceeded(bad, 'rate_limited', 'Too many requests with invalid credentials from this address.');
  };
  /** Settles a hook's promise into Fastify's `done`: every promise-based hook here ends this way. */
  const settle = (work: Promise<void>, done: (err?: Error) => void) => {
    work.then(() => done(), (err: unknown) => done(err as Error));
  };

  // App-wide, so unknown URLs (404) are limited too. Callback-style, so the requests that
  // need no limiter (exempt, preflight, a token this instance already verified) cost no
  // promise.
  app.addHook('onRequest', (request, reply, done) => {
    // A CORS preflight costs next to nothing (answered by the CORS hook before any route),
    // and a browser sends one ahead of most authenticated calls; counting them would spend
    // a signed-in user's address budget on the browser's bookkeeping.
    // Read once: Fastify builds routeOptions anew on every read.
    const { url } = request.routeOptions;
    if (EXEMPT.has(url ?? '') || isPreflight(request)) return done();
    // An unknown URL has no guard to verify a token: anonymous whatever its headers.
    if (!hasBearer(request) || url === undefined) return settle(consumePublic(request, reply), done);
    if (isVerified(request)) return done();
    settle(checkBadTokens(request), done);
  });

  app.addHook('onResponse', (request, reply, done) => {
    if (reply.statusCode === 401 && hasBearer(request) && (request.principal ?? null) === null) {
      return settle(badTokenLimit.consume(request.ip).then(() => undefined), done);
    }
    done();
  });

  /** The quota headers on an admitted request; the 429 (thrown) on a refused one. */
  const applyCount = (request: FastifyRequest, reply: FastifyReply, count: DailyRequestCount): void => {
    const result = { allowed: count.allowed, limit: count.limit, consumed: count.usage, remaining: count.remaining, resetSeconds: count.resetSeconds };
    if (!count.allowed) {
      request.log.info({ event: 'quota_exceeded', quota: 'api_requests_per_day' }, 'daily request quota exceeded');
      throw limitExceeded(result, 'quota_exceeded', `The daily API request quota of your tier (${count.limit}) is used up; it resets at ${count.reset.toISOString()}.`);
    }
    setRateLimitHeaders(request, reply, result);
  };

  const countAfterGuard = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const principal = request.principal ?? null;
    if (principal === null) {
      // A public route called with some Authorization header: still anonymous.
      if (request[COUNTED_PUBLIC] !== true) await consumePublic(request, reply);
      return;
    }
    applyCount(request, reply, await deps.quotas.countRequest(principal.userId, principal.tier));
  };
  // Route-level hooks are typed callback-style. An authenticated request is counted
  // without a promise when the quota can answer at once (its count is in memory); the
  // rest settle the promise into `done`.
  const afterGuard: onRequestHookHandler = (request, reply, done) => {
    const principal = request.principal ?? null;
    const now = principal === null ? undefined : deps.quotas.countRequestNow(principal.userId, principal.tier);
    if (now === undefined) return settle(countAfterGuard(request, reply), done);
    try {
      applyCount(request, reply, now);
    } catch (err) {
      return done(err as Error);
    }
    done();
  };

  app.addHook('onRoute', (route) => {
    if (EXEMPT.has(route.url)) return;
    const methods = asArray(route.method);
    const limiters = methods.map((m) => routeLimits.get(`${m} ${route.url}`)).filter((l) => l !== undefined);
    if (limiters.length > 0) {
      const enforceAll = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
        for (const limiter of limiters) await enforceLimit(request, reply, limiter, request.ip);
      };
      const onRequest: onRequestHookHandler = (request, reply, done) => settle(enforceAll(request, reply), done);
      route.onRequest = [...asArray(route.onRequest), onRequest];
    }
    // Appended, so it runs after the route's own guard (also `onRequest`) has set the principal.
    route.onRequest = [...asArray(route.onRequest), afterGuard];
  });

  return {
    checkRefreshSession: async (sessionId) => {
      const result = await refreshSession.consume(sessionId);
      if (!result.allowed) throw limitExceeded(result, 'rate_limited', 'Too many refreshes for this session.');
    },
    trustVerifiedTokens: (check) => {
      isVerified = check;
    },
  };
}
