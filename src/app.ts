// buildApp(deps): the platform plugins (request ids, errors, security headers, CORS,
// OpenAPI, metrics, load shedding) and then each module's routes. Everything with I/O
// arrives in `deps`, so tests build the same app on a real database of their own.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifySchema } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import type { Config } from './config.ts';
import { registerAnalytics } from './modules/analytics/index.ts';
import { registerAuth } from './modules/auth/index.ts';
import { registerPortfolios } from './modules/portfolios/index.ts';
import { createHealthService, healthRoutes, type ComponentCheck } from './modules/health/index.ts';
import { liveCallsPerMinute, registerMarket } from './modules/market/index.ts';
import { registerAdmin } from './modules/admin/index.ts';
import { registerJobs } from './modules/jobs/index.ts';
import { registerAlerts } from './modules/alerts/index.ts';
import { registerNews } from './modules/news/index.ts';
import { parseIndicatorList } from './modules/indicators/index.ts';
import { registerReports } from './modules/reports/index.ts';
import { registerTemplates } from './modules/templates/index.ts';
import { analyzeAfterBulkWrite, defineAnalyzeJob, defineMaintenanceJobs } from './modules/maintenance/maintenance.jobs.ts';
import { createScheduledWork, defineScheduledJobs } from './modules/schedules/schedules.jobs.ts';
import { registerLimits, registerQuotaRoutes } from './modules/quotas/index.ts';
import { registerWeb } from './modules/web/index.ts';
import { systemClock, type Clock } from './platform/clock.ts';
import type { Database } from './platform/db/index.ts';
import { clientErrorHandler, frameworkErrorHandler, registerErrorHandling, schemaErrorFormatter } from './platform/http/errors.ts';
import { registerCors } from './platform/http/cors.ts';
import { registerDrain } from './platform/http/drain.ts';
import { limitConnections } from './platform/http/connection-limits.ts';
import { registerLoadShedding } from './platform/http/load-shedding.ts';
import { registerNoStore } from './platform/http/no-store.ts';
import { registerSecurityHeaders } from './platform/http/security-headers.ts';
import { registerRequestContext, requestIdGenerator } from './platform/http/request-id.ts';
import { createValidatorCompiler } from './platform/http/schemas.ts';
import { nameComponents, unwrapNamedResponses } from './platform/http/components.ts';
import type { App } from './platform/http/types.ts';
import type { JobQueue } from './platform/jobs/index.ts';
import { RequestLogController, RequestLogger, requestLineWriter, type Logger } from './platform/logger.ts';
import { createMetrics, EVENT_LOOP_MONITOR_RESOLUTION_MS } from './platform/metrics.ts';
import { createPubSub, type PubSub } from './platform/pubsub.ts';
import { pingRedis, type Redis } from './platform/redis.ts';
import { registerRealtime } from './modules/realtime/index.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** The app's event bus (src/platform/pubsub.ts); benchmarks and tests publish on it. */
    eventBus: PubSub;
  }
}

export interface AppDeps {
  config: Config;
  logger: Logger;
  db: Database;
  redis?: Redis;
  /** Defaults to the system clock; tests pass their own. */
  clock?: Clock;
  /** The durable job queue (FAIL-021); started when the app is ready. */
  jobs: JobQueue;
  /** The event bus; the app creates its own when absent (tests pass one to publish ticks). */
  pubsub?: PubSub;
  /** Work the queues in this process (the embedded default); `serve --no-worker` only enqueues. */
  worker?: boolean;
  /**
   * Build the OpenAPI document (JSON and YAML) while starting, so that no request pays for
   * it. `serve` does; test apps, which rarely read it, skip the ~0.15 s.
   */
  buildDocs?: boolean;
}

/** Idle keep-alive connections stay open this long after shutdown begins (at most a quarter of SHUTDOWN_TIMEOUT_MS). */
const DRAIN_GRACE_MS = 500;

/** A browser asks again after this long: a changed ALLOWED_ORIGINS reaches it within 10 minutes. */
const CORS_MAX_AGE_SECONDS = 600;

const EXPOSED_HEADERS = ['x-request-id', 'retry-after', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'etag'];

const SUCCESS_WORDS: Record<string, string> = { '200': 'OK', '201': 'Created', '202': 'Accepted', '204': 'No content', '503': 'Service unavailable' };

/**
 * OpenAPI only (the route's own schema is untouched): a response without a description
 * gets one from its status and the route's summary, so the document never says
 * "Default Response".
 */
function describeResponses({ schema, url }: { schema: FastifySchema; url: string }): { schema: FastifySchema; url: string } {
  const response = (schema as { response?: Record<string, Record<string, unknown>> } | undefined)?.response;
  if (response === undefined) return { schema, url };
  const summary = (schema as { summary?: unknown }).summary;
  const described: Record<string, Record<string, unknown>> = {};
  for (const [status, body] of Object.entries(response)) {
    const word = SUCCESS_WORDS[status];
    described[status] =
      typeof body.description === 'string' || word === undefined ? body : { ...body, description: typeof summary === 'string' ? `${word}: ${summary}` : word };
  }
  return { schema: { ...schema, response: described }, url };
}

export async function buildApp(deps: AppDeps): Promise<App> {
  const { config, logger, db, redis, jobs } = deps;
  const clock = deps.clock ?? systemClock;
  const app: App = Fastify<Server, IncomingMessage, ServerResponse, FastifyBaseLogger>({
    loggerInstance: logger,
    genReqId: requestIdGenerator(config.trustProxy),
    requestIdHeader: false,
    // One line per request, or per write, failure and sampled read (see RequestLogController).
    logController: new RequestLogController({ requestIdLogLabel: 'requestId' }, requestLineWriter(logger), {
      mode: config.logRequests,
      sampleEvery: config.logRequestsSample,
    }),
    trustProxy: config.trustProxy,
    bodyLimit: config.bodyLimitBytes,
    connectionTimeout: config.requestTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: 5000,
    // The drain hook answers requests during shutdown with problem JSON instead.
    return503OnClosing: false,
    routerOptions: { ignoreTrailingSlash: true },
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
    schemaErrorFormatter,
  }).withTypeProvider<TypeBoxTypeProvider>();

  limitConnections(app.server, { max: config.maxConnections, perIp: config.maxConnectionsPerIp }, logger);
  // A request's pino child is made only if the request writes a line through it (RequestLogger).
  app.setChildLoggerFactory((parent, bindings, options) => new RequestLogger(parent as Logger, bindings, options));
  app.setValidatorCompiler(createValidatorCompiler());
  registerRequestContext(app);
  registerErrorHandling(app);
  registerDrain(app, { graceMs: Math.min(DRAIN_GRACE_MS, Math.floor(config.shutdownTimeoutMs / 4)), retryAfterSeconds: 1 });
  registerNoStore(app);

  const metrics = createMetrics(() => db.poolStats());
  app.addHook('onResponse', (request, reply, done) => {
    metrics.observeRequest(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
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
  const limits = registerLimits(app, { config, db, redis, logger, clock });

  registerSecurityHeaders(app);
  registerCors(app, {
    origins: config.allowedOrigins,
    exposedHeaders: EXPOSED_HEADERS,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    maxAgeSeconds: CORS_MAX_AGE_SECONDS,
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'FinanceHub API', version: '1.0.0', description: 'Investment tracking with exact decimals.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
    // Schemas with an `$id` become components.schemas entries under that name (./platform/http/components.ts).
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    transform: ({ schema, url }) => describeResponses({ schema: nameComponents(schema), url }),
    transformObject: (document) =>
      'openapiObject' in document ? (unwrapNamedResponses(document.openapiObject as Record<string, unknown>) as typeof document.openapiObject) : document.swaggerObject,
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true, theme: { title: 'FinanceHub API docs' } });
  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());

  // The event bus shared by every module (market events, session revocations, realtime
  // fan-out, alerts, news); over Redis pub/sub when REDIS_URL is set. One passed in is the
  // caller's to close.
  const ownBus = deps.pubsub === undefined;
  const pubsub = deps.pubsub ?? createPubSub({ logger, redis });
  app.decorate('eventBus', pubsub);

  // --- auth (accounts, sessions, tokens): first, since it produces `auth.guards` for every
  // other module and the admin check of the health routes.
  const auth = await registerAuth(app, {
    config,
    logger,
    db,
    redis,
    clock,
    pubsub,
    limiters: limits.limiters,
    checkRefreshSession: limits.checkRefreshSession,
    jobs,
  });

  limits.trustVerifiedTokens(auth.guards.isVerifiedToken);

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
    deleteUser: auth.deleteUser,
  });

  // --- durable jobs (FAIL-021): /v1/admin/jobs/dead-letter…, queue metrics and readiness.
  const jobsModule = registerJobs(app, { db, jobs, guards: auth.guards, registry: metrics.registry });

  // --- scheduled maintenance: purge expired sessions and old security events (cron, one
  // runner); ANALYZE of price_bars after bulk price writes.
  defineMaintenanceJobs(jobs, { db, clock, ...config.maintenance, purgeCron: config.schedules.enabled ? config.maintenance.purgeCron : undefined });
  defineAnalyzeJob(jobs, { db });

  // --- market data (quotes, candles, indicators, search, watchlist, admin CSV import).
  // Its `service` (latestQuotes, dailyCloses) is what portfolios consume.
  const market = await registerMarket(app, {
    config,
    logger,
    db,
    redis,
    clock,
    pubsub,
    guards: auth.guards,
    limiters: limits.limiters,
    usage: limits.usage,
    bulkWritten: analyzeAfterBulkWrite(jobs, config.schedules.analyzeAfterRows),
  });

  // --- alerts: /v1/alerts…, evaluation on quote ticks and bars, delivery jobs.
  const alerts = registerAlerts(app, {
    config,
    logger,
    db,
    jobs,
    pubsub: market.pubsub,
    clock,
    guards: auth.guards,
    refreshQuotes: (symbols, max) => market.service.refreshQuotes(symbols, max),
    callsPerMinute: liveCallsPerMinute(config),
  });

  // --- portfolios (portfolios, transactions, holdings, import/export).
  const portfolios = await registerPortfolios(app, {
    db,
    logger,
    clock,
    pubsub,
    guards: auth.guards,
    // Narrow on purpose: holdings need only the latest quotes.
    quotes: { latestQuotes: (symbols) => market.service.latestQuotes(symbols) },
    watchlist: {
      list: (userId) => market.service.watchlist(userId),
      add: async (principal, symbol) => {
        await market.service.addToWatchlist(principal.userId, symbol, config.tiers[principal.tier].watchlistSymbols);
      },
    },
    importBodyLimit: config.importBodyLimitBytes,
    tiers: config.tiers,
    usage: limits.usage,
  });

  // --- news: GET /v1/news (by default for the caller's watched and traded symbols), new items on `news.published`.
  const news = registerNews(app, {
    db,
    pubsub: market.pubsub,
    clock,
    logger,
    guards: auth.guards,
    fetchNews: (s, from, to) => market.service.companyNews(s, from, to),
    userSymbols: {
      watched: async (userId) => (await market.service.watchlist(userId)).map((row) => row.symbol),
      traded: (userId, limit) => portfolios.tradedSymbols(userId, limit),
    },
  });

  // --- schedules (pg-boss cron, one runner across instances): quote refresh, daily candles,
  // company news and cache warming over watched, held and alerted symbols.
  defineScheduledJobs(
    jobs,
    createScheduledWork({
      symbols: { watched: (n) => market.service.watchlistSymbols(n), held: (n) => portfolios.heldSymbols(n), alerted: () => alerts.activeSymbols() },
      market: market.service,
      news,
      clock,
      settings: config.schedules,
      callsPerMinute: liveCallsPerMinute(config),
    }),
    config.schedules,
  );

  // --- portfolio analytics: GET /v1/portfolios/:id/performance, GET /v1/dashboard.
  const analytics = registerAnalytics(app, {
    db,
    logger,
    clock,
    guards: auth.guards,
    portfolios,
    market: { latestQuotes: (s) => market.service.latestQuotes(s), dailyCloses: (s, from, to) => market.service.dailyCloses(s, from, to), fillDailyHistory: (s, from, to) => market.service.fillDailyHistory(s, from, to) },
  });

  // --- realtime gateway: GET /v1/ws, GET/DELETE /v1/me/connections.
  const realtime = await registerRealtime(app, {
    config,
    logger,
    redis,
    clock,
    pubsub,
    guards: auth.guards,
    metrics,
    market: { watchSymbol: (symbol) => market.service.watchSymbol(symbol) },
    // Revalued exactly as GET /v1/portfolios/:id/holdings answers.
    portfolios: { holdings: (userId, id) => portfolios.portfolios.holdings(userId, id) },
  });

  // --- templates (versioned with If-Match, FAIL-009) and reports rendered from them by a
  // job, over data from the portfolios, analytics, market and news services (narrowed).
  const templates = registerTemplates(app, { config, db, jobs, clock, guards: auth.guards });
  const reportIndicators = parseIndicatorList('rsi:14,sma:20');
  registerReports(app, {
    config,
    db,
    jobs,
    clock,
    logger,
    guards: auth.guards,
    templates: templates.repo,
    data: {
      portfolio: (userId, id) => portfolios.portfolios.ownedPortfolio(userId, id),
      holdings: (userId, id) => portfolios.portfolios.holdings(userId, id),
      performance: (userId, id, range) => analytics.performance(userId, id, { range }),
      indicators: async (symbol) => {
        const rows = await market.service.indicators(symbol, '1d', reportIndicators, { limit: 250 }).catch(() => []);
        const last = rows.at(-1);
        if (last === undefined) return null;
        return { as_of: last.ts.toISOString(), close: last.close, rsi_14: last.values.rsi_14 ?? null, sma_20: last.values.sma_20 ?? null };
      },
      news: async (userId, symbols) =>
        (await news.list(userId, { symbols, limit: 10 })).items.map((n) => ({
          symbol: n.symbol,
          headline: n.headline,
          source: n.source,
          url: n.url,
          published_at: n.published_at.toISOString(),
          sentiment: n.sentiment,
        })),
    },
  });

  // --- the web app at / (index.html for its client routes, hashed assets under /assets/).
  await registerWeb(app, { logger });

  const checks: ComponentCheck[] = [
    { name: 'database', critical: true, check: async () => void (await db.query('SELECT 1')) },
  ];
  if (redis !== undefined) {
    checks.push({ name: 'redis', critical: false, check: async () => void (await pingRedis(redis)) });
  }
  checks.push({ name: 'jobs', critical: false, check: jobsModule.check });
  healthRoutes(app, {
    health: createHealthService(checks),
    metrics,
    healthToken: config.healthToken,
    metricsToken: config.metricsToken,
    isAdmin: auth.isAdmin,
  });

  // Every module has defined its jobs by now; the queue starts with the app and stops with it.
  app.addHook('onReady', async () => {
    await jobs.start(deps.worker === true ? 'worker' : 'producer');
  });
  // @fastify/swagger builds the document on its first use and keeps it; the first
  // GET /docs/yaml held the loop for over 100 ms (the stall bench), so it is built here.
  if (deps.buildDocs === true) {
    app.addHook('onReady', (done) => {
      app.swagger();
      app.swagger({ yaml: true });
      done();
    });
  }
  // Building the app (and, before it, opening and migrating the database, then starting the
  // job queue and the alert engine in the onReady hooks above) blocks the event loop for
  // seconds; without this, a fresh instance would shed its first requests (FAIL-023). This is
  // the last onReady hook, so no start-up work runs after it. The monitor records a stall
  // when its timer next fires; timers started right after a stall are due against the loop's
  // stale clock and may run before it in the same timers phase, so the reset waits for a
  // timers phase (in which the overdue monitor fires too) and then for the check phase after it.
  app.addHook('onReady', (done) => {
    setTimeout(() => {
      setImmediate(() => {
        metrics.resetEventLoopDelay();
        done();
      });
    }, 2 * EVENT_LOOP_MONITOR_RESOLUTION_MS);
  });
  app.addHook('onClose', async () => {
    await realtime.close();
    await jobs.stop();
    if (ownBus) await pubsub.close();
    metrics.stop();
  });
  return app;
}
