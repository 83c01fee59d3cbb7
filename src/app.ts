// buildApp(deps): the platform plugins (request ids, errors, security headers, CORS,
// OpenAPI, metrics, load shedding) and then each module's routes. Everything with I/O
// arrives in `deps`, so tests build the same app on a real database of their own.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';
import type { Config } from './config.ts';
import { registerAnalytics } from './modules/analytics/index.ts';
import { registerAuth } from './modules/auth/index.ts';
import { registerPortfolios } from './modules/portfolios/index.ts';
import { createHealthService, healthRoutes, type ComponentCheck } from './modules/health/index.ts';
import { registerMarket } from './modules/market/index.ts';
import { registerAdmin } from './modules/admin/index.ts';
import { registerLimits, registerQuotaRoutes } from './modules/quotas/index.ts';
import { systemClock, type Clock } from './platform/clock.ts';
import type { Database } from './platform/db/index.ts';
import { registerErrorHandling } from './platform/http/errors.ts';
import { registerLoadShedding } from './platform/http/load-shedding.ts';
import { registerRequestContext, requestIdGenerator } from './platform/http/request-id.ts';
import { createValidatorCompiler } from './platform/http/schemas.ts';
import type { App } from './platform/http/types.ts';
import type { Logger } from './platform/logger.ts';
import { createMetrics } from './platform/metrics.ts';
import { pingRedis, type Redis } from './platform/redis.ts';

export interface AppDeps {
  config: Config;
  logger: Logger;
  db: Database;
  redis?: Redis;
  /** Defaults to the system clock; tests pass their own. */
  clock?: Clock;
}

const EXPOSED_HEADERS = ['x-request-id', 'retry-after', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'etag'];

export async function buildApp(deps: AppDeps): Promise<App> {
  const { config, logger, db, redis } = deps;
  const clock = deps.clock ?? systemClock;
  const app: App = Fastify<Server, IncomingMessage, ServerResponse, FastifyBaseLogger>({
    loggerInstance: logger,
    genReqId: requestIdGenerator(config.trustProxy),
    requestIdHeader: false,
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
    trustProxy: config.trustProxy,
    bodyLimit: config.bodyLimitBytes,
    connectionTimeout: config.requestTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: 5000,
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setValidatorCompiler(createValidatorCompiler());
  registerRequestContext(app);
  registerErrorHandling(app);

  const metrics = createMetrics(() => db.poolStats());
  // Building the app (and, before it, opening and migrating the database) blocks the event
  // loop for seconds; without this, a fresh instance would shed its first requests (FAIL-023).
  // The reset waits one timer tick so the monitor has recorded the stall before it is dropped.
  app.addHook('onReady', (done) => {
    setTimeout(() => {
      metrics.resetEventLoopDelay();
      done();
    }, 1);
  });
  app.addHook('onResponse', (request, reply, done) => {
    metrics.httpDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    done();
  });
  registerLoadShedding(
    app,
    {
      maxEventLoopDelayMs: config.shedEventLoopDelayMs,
      maxHeapUsedBytes: config.shedHeapUsedBytes,
      retryAfterSeconds: config.shedRetryAfterSeconds,
    },
    { eventLoopDelayMs: metrics.eventLoopDelayMs, heapUsedBytes: () => process.memoryUsage().heapUsed },
  );
  // Rate limits and quotas (FAIL-014, FAIL-007): before any route, since they hook every
  // route as it is added. Modules take `limits.limiters` / `limits.usage` from here.
  const limits = registerLimits(app, { config, redis, logger, clock });

  await app.register(helmet, { global: true });
  await app.register(cors, {
    origin: [...config.allowedOrigins],
    credentials: false,
    exposedHeaders: EXPOSED_HEADERS,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'FinanceHub API', version: '1.0.0', description: 'Investment tracking with exact decimals.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());

  // --- auth (accounts, sessions, tokens): first, since it produces `auth.guards` for every
  // other module and the admin check of the health routes.
  const auth = await registerAuth(app, {
    config,
    logger,
    db,
    redis,
    clock,
    limiters: limits.limiters,
    checkRefreshSession: limits.checkRefreshSession,
  });

  // --- quotas and admin (FAIL-007): GET /v1/me/quota; /v1/admin/users…, /v1/admin/security-events.
  registerQuotaRoutes(app, { guards: auth.guards, quotas: limits.quotas });
  registerAdmin(app, {
    guards: auth.guards,
    users: auth.users,
    quotas: limits.quotas,
    revokeAllSessions: auth.revokeAllSessions,
    recordSecurityEvent: auth.recordSecurityEvent,
    listSecurityEvents: auth.listSecurityEvents,
    forgetUser: auth.guards.forgetUser,
  });

  // --- market data (quotes, candles, indicators, search, watchlist, admin CSV import).
  // Its `service` (latestQuotes, dailyCloses) is what portfolios consume.
  const market = await registerMarket(app, {
    config,
    logger,
    db,
    redis,
    clock,
    guards: auth.guards,
    limiters: limits.limiters,
    usage: limits.usage,
  });

  // --- portfolios (portfolios, transactions, holdings, import/export).
  const portfolios = await registerPortfolios(app, {
    db,
    logger,
    clock,
    guards: auth.guards,
    // Narrow on purpose: holdings need only the latest quotes.
    quotes: { latestQuotes: (symbols) => market.service.latestQuotes(symbols) },
    importBodyLimit: config.importBodyLimitBytes,
  });

  // --- portfolio analytics: GET /v1/portfolios/:id/performance, GET /v1/dashboard.
  registerAnalytics(app, {
    db,
    logger,
    clock,
    guards: auth.guards,
    portfolios,
    market: { latestQuotes: (s) => market.service.latestQuotes(s), dailyCloses: (s, from, to) => market.service.dailyCloses(s, from, to) },
  });

  const checks: ComponentCheck[] = [
    { name: 'database', critical: true, check: async () => void (await db.query('SELECT 1')) },
  ];
  if (redis !== undefined) {
    checks.push({ name: 'redis', critical: false, check: async () => void (await pingRedis(redis)) });
  }
  healthRoutes(app, {
    health: createHealthService(checks),
    metrics,
    healthToken: config.healthToken,
    metricsToken: config.metricsToken,
    isAdmin: auth.isAdmin,
  });

  app.addHook('onClose', (_instance, done) => {
    metrics.stop();
    done();
  });
  return app;
}
