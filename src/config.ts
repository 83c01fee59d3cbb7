// The environment, parsed once into a typed, frozen object. A bad value stops the
// process with one line naming the variable (see main.ts); there are no default secrets.
import { availableParallelism } from 'node:os';
import { CACHE_MAX_BYTES } from './platform/cache.ts';

export class ConfigError extends Error {
  readonly variable: string;
  constructor(variable: string, problem: string) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
const LOG_REQUESTS = ['all', 'sampled'] as const;
const PROVIDERS = ['simulated', 'finnhub', 'yahoo', 'none'] as const;

export interface TierLimits {
  requestsPerDay: number;
  alerts: number;
  watchlistSymbols: number;
  wsConnections: number;
  templates: number;
  /** Portfolios per user. */
  portfolios: number;
  /** Transactions in one portfolio (imports included). */
  transactionsPerPortfolio: number;
  /** Split transactions in one portfolio: each multiplies a quantity's digits, so they are capped apart. */
  splitsPerPortfolio: number;
}

/** A request rate limit: `points` requests per `durationSeconds`, per key (IP, session …). */
export interface RateLimitSpec {
  points: number;
  durationSeconds: number;
}

export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = (typeof LOG_FORMATS)[number];
export type LogRequests = (typeof LOG_REQUESTS)[number];
export type MarketDataProvider = (typeof PROVIDERS)[number];

/** Reads one variable; every reader names the variable in its error. */
function reader(env: Env) {
  const raw = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };

  const int = (name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const value = raw(name);
    if (value === undefined) return fallback;
    if (!/^\d+$/.test(value)) throw new ConfigError(name, `must be a whole number, got "${value}"`);
    const parsed = Number.parseInt(value, 10);
    if (parsed < min || parsed > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${parsed}`);
    return parsed;
  };

  const str = (name: string): string | undefined => raw(name);

  const oneOf = <T extends string>(name: string, choices: readonly T[], fallback: T): T => {
    const value = raw(name) ?? fallback;
    if (!(choices as readonly string[]).includes(value)) {
      throw new ConfigError(name, `must be one of ${choices.join(', ')}, got "${value}"`);
    }
    return value as T;
  };

  const bool = (name: string, fallback: boolean): boolean => {
    const value = raw(name)?.toLowerCase();
    if (value === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(value)) return true;
    if (['0', 'false', 'no', 'off'].includes(value)) return false;
    throw new ConfigError(name, `must be true or false, got "${value}"`);
  };

  const url = (name: string, protocols: readonly string[]): string | undefined => {
    const value = raw(name);
    if (value === undefined) return undefined;
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      throw new ConfigError(name, 'is not a valid URL');
    }
    if (!protocols.includes(parsed.protocol)) {
      throw new ConfigError(name, `must use ${protocols.join(' or ')}, got "${parsed.protocol}"`);
    }
    return value;
  };

  const secret = (name: string, minLength: number): string | undefined => {
    const value = raw(name);
    if (value !== undefined && value.length < minLength) {
      throw new ConfigError(name, `must be at least ${minLength} characters`);
    }
    return value;
  };

  const origins = (name: string, fallback: string): readonly string[] => {
    const list = (raw(name) ?? fallback).split(',').map((o) => o.trim()).filter(Boolean);
    for (const origin of list) {
      let parsed: URL;
      try {
        parsed = new URL(origin);
      } catch {
        throw new ConfigError(name, `"${origin}" is not a valid origin`);
      }
      if (parsed.origin !== origin) throw new ConfigError(name, `"${origin}" is not a bare origin (scheme://host[:port])`);
    }
    return Object.freeze(list);
  };

  return { raw, int, str, oneOf, bool, url, secret, origins };
}

export function loadConfig(env: Env = process.env) {
  const r = reader(env);

  const databasePoolMin = r.int('DATABASE_POOL_MIN', 2, 0, 1000);
  const databasePoolMax = r.int('DATABASE_POOL_MAX', 10, 1, 1000);
  if (databasePoolMin > databasePoolMax) {
    throw new ConfigError('DATABASE_POOL_MIN', `must not exceed DATABASE_POOL_MAX (${databasePoolMax})`);
  }
  const adminEmail = r.str('ADMIN_EMAIL');
  const adminPassword = r.secret('ADMIN_PASSWORD', 10);
  if ((adminEmail === undefined) !== (adminPassword === undefined)) {
    throw new ConfigError(adminEmail === undefined ? 'ADMIN_EMAIL' : 'ADMIN_PASSWORD', 'ADMIN_EMAIL and ADMIN_PASSWORD must be set together');
  }

  const jwtKeysFromEnv = r.str('JWT_KEYS');
  if (jwtKeysFromEnv !== undefined && r.str('JWT_KEYS_FILE') !== undefined) {
    throw new ConfigError('JWT_KEYS_FILE', 'set JWT_KEYS or JWT_KEYS_FILE, not both');
  }

  const smtpUrl = r.url('SMTP_URL', ['smtp:', 'smtps:']);
  const smtpFrom = r.str('SMTP_FROM');
  if (smtpUrl !== undefined && smtpFrom === undefined) throw new ConfigError('SMTP_FROM', 'is required when SMTP_URL is set');
  // A bare address or `Name <address>`; no line breaks (it becomes a header).
  if (smtpFrom !== undefined && !/^(?:[^<>\r\n]*<[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+>|[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+)$/.test(smtpFrom)) {
    throw new ConfigError('SMTP_FROM', `must be an email address or "Name <address>", got "${smtpFrom}"`);
  }

  const jobsSchema = r.str('JOBS_SCHEMA') ?? 'pgboss';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(jobsSchema)) {
    throw new ConfigError('JOBS_SCHEMA', `must be a lower-case SQL identifier, got "${jobsSchema}"`);
  }

  const tierLimits = (tier: 'FREE' | 'PRO', defaults: TierLimits): TierLimits => ({
    requestsPerDay: r.int(`${tier}_REQUESTS_PER_DAY`, defaults.requestsPerDay, 1),
    alerts: r.int(`${tier}_ALERTS`, defaults.alerts, 0),
    watchlistSymbols: r.int(`${tier}_WATCHLIST_SYMBOLS`, defaults.watchlistSymbols, 0),
    wsConnections: r.int(`${tier}_WS_CONNECTIONS`, defaults.wsConnections, 0),
    templates: r.int(`${tier}_TEMPLATES`, defaults.templates, 0),
    portfolios: r.int(`${tier}_PORTFOLIOS`, defaults.portfolios, 0),
    transactionsPerPortfolio: r.int(`${tier}_TRANSACTIONS_PER_PORTFOLIO`, defaults.transactionsPerPortfolio, 0),
    splitsPerPortfolio: r.int(`${tier}_SPLITS_PER_PORTFOLIO`, defaults.splitsPerPortfolio, 0),
  });

  // Rate limits read as `<requests>/<seconds>`, e.g. RATE_LIMIT_LOGIN=20/60 (FAIL-014).
  const rate = (name: string, points: number, durationSeconds: number): RateLimitSpec => {
    const value = r.raw(name);
    if (value === undefined) return Object.freeze({ points, durationSeconds });
    const match = /^(\d{1,9})\/(\d{1,7})$/.exec(value);
    const parsed = match === null ? undefined : { points: Number(match[1]), durationSeconds: Number(match[2]) };
    if (parsed === undefined || parsed.points < 1 || parsed.durationSeconds < 1 || parsed.durationSeconds > 31 * 86_400) {
      throw new ConfigError(name, `must be <requests>/<seconds> (requests >= 1, 1-${31 * 86_400} s), e.g. "${points}/${durationSeconds}", got "${value}"`);
    }
    return Object.freeze(parsed);
  };

  // A five-field cron expression (UTC): minute hour day-of-month month day-of-week.
  const cron = (name: string, fallback: string): string => {
    const value = r.str(name) ?? fallback;
    if (!/^[0-9*,/-]+( [0-9*,/-]+){4}$/.test(value)) throw new ConfigError(name, `must be a five-field cron expression such as "${fallback}", got "${value}"`);
    return value;
  };

  // Market data: real prices by default — Finnhub when a key is set, else Yahoo's keyless
  // chart API; the simulation (a demo universe, every value marked) only when chosen.
  const marketDataProvider = r.oneOf<MarketDataProvider>('MARKET_DATA_PROVIDER', PROVIDERS, r.str('FINNHUB_API_KEY') === undefined ? 'yahoo' : 'finnhub');

  const databaseUrl = r.url('DATABASE_URL', ['postgres:', 'postgresql:']);

  const config = {
    host: r.str('HOST') ?? '127.0.0.1',
    port: r.int('PORT', 3000, 0, 65535),
    dataDir: r.str('DATA_DIR') ?? './data',
    databaseUrl,
    databasePoolMin,
    databasePoolMax,
    /** Connection and statement timeouts for PostgreSQL (S-015). */
    databaseConnectTimeoutMs: r.int('DATABASE_CONNECT_TIMEOUT_MS', 5000, 1),
    databaseStatementTimeoutMs: r.int('DATABASE_STATEMENT_TIMEOUT_MS', 30000, 1),
    slowQueryMs: r.int('SLOW_QUERY_MS', 200, 0),
    redisUrl: r.url('REDIS_URL', ['redis:', 'rediss:']),
    allowedOrigins: r.origins('ALLOWED_ORIGINS', 'http://127.0.0.1:3000,http://localhost:3000'),
    /** Honour X-Forwarded-For and incoming X-Request-ID only behind a trusted proxy. */
    trustProxy: r.bool('TRUST_PROXY', false),
    bodyLimitBytes: r.int('BODY_LIMIT_BYTES', 1_048_576, 1024),
    /** Largest transaction import (CSV or JSON export), bytes. */
    importBodyLimitBytes: r.int('IMPORT_BODY_LIMIT_BYTES', 10_485_760, 1024),
    requestTimeoutMs: r.int('REQUEST_TIMEOUT_MS', 30_000, 1000),
    shutdownTimeoutMs: r.int('SHUTDOWN_TIMEOUT_MS', 10_000, 100),
    /** Open client connections the HTTP server holds at once, and per client address (FAIL-023); more are closed on accept. */
    maxConnections: r.int('MAX_CONNECTIONS', 10_000, 1, 1_000_000),
    maxConnectionsPerIp: r.int('MAX_CONNECTIONS_PER_IP', 256, 1, 1_000_000),
    /** Load shedding thresholds (FAIL-023); 0 disables a check. */
    shedEventLoopDelayMs: r.int('SHED_EVENT_LOOP_DELAY_MS', 1000, 0),
    shedHeapUsedBytes: r.int('SHED_HEAP_USED_BYTES', 0, 0),
    shedRetryAfterSeconds: r.int('SHED_RETRY_AFTER_SECONDS', 10, 1),
    accessTokenTtl: r.int('ACCESS_TOKEN_TTL', 900, 1),
    refreshTokenTtl: r.int('REFRESH_TOKEN_TTL', 30 * 24 * 3600, 60),
    refreshIdleTimeout: r.int('REFRESH_IDLE_TIMEOUT', 7 * 24 * 3600, 60),
    refreshReuseGrace: r.int('REFRESH_REUSE_GRACE', 10, 0, 300),
    /** argon2id cost (FAIL-015 makes guessing slow too); never below OWASP's minimum m=19456 KiB, t=2, p=1. */
    argon2MemoryKib: r.int('ARGON2_MEMORY_KIB', 19_456, 19_456, 4_194_304),
    argon2TimeCost: r.int('ARGON2_TIME_COST', 2, 2, 100),
    argon2Parallelism: r.int('ARGON2_PARALLELISM', 1, 1, 16),
    /** argon2 computations at once (default: all cores but one, so a login flood leaves one for the rest) and how many may wait. */
    argon2MaxConcurrent: r.int('ARGON2_MAX_CONCURRENT', Math.max(1, availableParallelism() - 1), 1, 256),
    argon2MaxQueue: r.int('ARGON2_MAX_QUEUE', 64, 0, 100_000),
    /** Login throttling (FAIL-015): consecutive failures per (email, IP) before a block, growing delays. */
    loginMaxConsecutiveFailures: r.int('LOGIN_MAX_CONSECUTIVE_FAILURES', 5, 1, 1000),
    loginFailureWindowSeconds: r.int('LOGIN_FAILURE_WINDOW_SECONDS', 3600, 1),
    loginBlockSeconds: r.int('LOGIN_BLOCK_SECONDS', 60, 1),
    loginBlockMaxSeconds: r.int('LOGIN_BLOCK_MAX_SECONDS', 3600, 1),
    loginFailuresPerEmailPerHour: r.int('LOGIN_FAILURES_PER_EMAIL_PER_HOUR', 100, 1),
    loginFailuresPerIpPerDay: r.int('LOGIN_FAILURES_PER_IP_PER_DAY', 100, 1),
    jwtKeys: r.str('JWT_KEYS'),
    jwtKeysFile: r.str('JWT_KEYS_FILE'),
    jwtIssuer: r.str('JWT_ISSUER') ?? 'financehub',
    jwtAudience: r.str('JWT_AUDIENCE') ?? 'financehub-api',
    adminEmail,
    adminPassword,
    // --- accounts: two-factor sign-in and secrets at rest ---
    /** Seals TOTP secrets (AES-256-GCM); unset: derived from JWT_KEYS_ENCRYPTION_KEY, else a key generated into the database. */
    mfaEncryptionKey: r.secret('MFA_ENCRYPTION_KEY', 32),
    /** Seals database-stored signing keys (jwt_keys.private_jwk) with AES-256-GCM. */
    jwtKeysEncryptionKey: r.secret('JWT_KEYS_ENCRYPTION_KEY', 32),
    /** Admins without two-factor sign-in on are treated as users (admin routes 403) until they enrol. */
    requireAdminMfa: r.bool('REQUIRE_ADMIN_MFA', false),
    /**
     * Optional email (docs/auth.md): address verification, password reset by email and
     * notices of sign-ins and security changes, sent by jobs. Undefined without SMTP_URL:
     * then nothing is sent and the operator resets passwords from the CLI.
     */
    smtp:
      smtpUrl === undefined || smtpFrom === undefined
        ? undefined
        : Object.freeze({
            /** smtp://[user:pass@]host[:port] (STARTTLS when offered) or smtps:// (TLS from the start); never logged. */
            url: smtpUrl,
            from: smtpFrom,
            /** Connection, greeting and socket timeouts of one delivery attempt. */
            timeoutMs: r.int('SMTP_TIMEOUT_MS', 10_000, 100, 300_000),
            verifyTokenTtlSeconds: r.int('EMAIL_VERIFY_TOKEN_TTL', 86_400, 60, 30 * 86_400),
            resetTokenTtlSeconds: r.int('PASSWORD_RESET_TOKEN_TTL', 1800, 60, 86_400),
            /** Reset requests per email per hour and per IP per hour; beyond, 429 (the same for unknown emails). */
            resetPerEmailPerHour: r.int('PASSWORD_RESET_PER_EMAIL_PER_HOUR', 3, 1, 1000),
            resetPerIpPerHour: r.int('PASSWORD_RESET_PER_IP_PER_HOUR', 20, 1, 100_000),
          }),
    marketDataProvider,
    finnhubApiKey: r.str('FINNHUB_API_KEY'),
    finnhubBaseUrl: r.url('FINNHUB_BASE_URL', ['http:', 'https:']) ?? 'https://finnhub.io/api/v1',
    yahooBaseUrl: r.url('YAHOO_BASE_URL', ['http:', 'https:']) ?? 'https://query1.finance.yahoo.com',
    /** History (candles) provider; by default the quote provider, except Finnhub (candles are premium-only) → yahoo. */
    marketHistoryProvider: r.oneOf<MarketDataProvider>('MARKET_HISTORY_PROVIDER', PROVIDERS, marketDataProvider === 'finnhub' ? 'yahoo' : marketDataProvider),
    finnhubWebsocketUrl: r.url('FINNHUB_WS_URL', ['ws:', 'wss:']) ?? 'wss://ws.finnhub.io',
    /** Finnhub's free tier allows 60 calls per minute; shared by all instances through Redis. */
    finnhubCallsPerMinute: r.int('FINNHUB_CALLS_PER_MINUTE', 60, 1, 100_000),
    /** Outbound provider calls (FAIL-017): per-attempt timeout, retries, breaker threshold and pause. */
    providerTimeoutMs: r.int('PROVIDER_TIMEOUT_MS', 5000, 50, 120_000),
    providerRetries: r.int('PROVIDER_RETRIES', 2, 0, 10),
    providerBreakerFailures: r.int('PROVIDER_BREAKER_FAILURES', 5, 1, 1000),
    providerBreakerHalfOpenMs: r.int('PROVIDER_BREAKER_HALF_OPEN_MS', 30_000, 100, 3_600_000),
    /** Hostile providers (FAIL-017): the largest response body read (bigger ones are abandoned) and the longest Retry-After honoured. */
    providerMaxResponseBytes: r.int('PROVIDER_MAX_RESPONSE_BYTES', 2 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    providerMaxRetryAfterSeconds: r.int('PROVIDER_MAX_RETRY_AFTER_SECONDS', 300, 1, 86_400),
    /** A quote older than this is flagged `stale: true` (so is any quote served while the provider is down). */
    quoteStaleSeconds: r.int('QUOTE_STALE_SECONDS', 900, 1),
    quoteCacheSeconds: r.int('QUOTE_CACHE_SECONDS', 15, 1, 3600),
    candleCacheSeconds: r.int('CANDLE_CACHE_SECONDS', 60, 1, 86_400),
    /** Without Redis: the in-process cache's size, as characters of keys and JSON values (oldest evicted first). */
    cacheMaxBytes: r.int('CACHE_MAX_BYTES', CACHE_MAX_BYTES, 1024 * 1024, 2 ** 40),
    /** Time-series storage: days of one-minute and daily bars kept (0: forever); whole partitions are dropped past it. */
    barsRetention1mDays: r.int('BARS_RETENTION_1M_DAYS', 0, 0, 365_000),
    barsRetention1dDays: r.int('BARS_RETENTION_1D_DAYS', 0, 0, 365_000),
    /** How often partitions are created ahead and expired ones dropped, seconds. */
    partitionMaintenanceSeconds: r.int('PARTITION_MAINTENANCE_SECONDS', 3600, 10, 86_400),
    healthToken: r.secret('HEALTH_TOKEN', 16),
    metricsToken: r.secret('METRICS_TOKEN', 16),
    logLevel: r.oneOf<LogLevel>('LOG_LEVEL', LOG_LEVELS, 'info'),
    /** `auto`: readable lines and a start-up banner on a terminal, JSON lines otherwise; `json` / `pretty` force one. */
    logFormat: r.oneOf<LogFormat>('LOG_FORMAT', LOG_FORMATS, 'auto'),
    /**
     * `all`: a `request completed` line for every request. `sampled`: for every request that
     * is not a successful read (any method but GET, HEAD and OPTIONS, any status of 400 or
     * more), and for one successful read in LOG_REQUESTS_SAMPLE.
     */
    logRequests: r.oneOf<LogRequests>('LOG_REQUESTS', LOG_REQUESTS, 'all'),
    logRequestsSample: r.int('LOG_REQUESTS_SAMPLE', 100, 1, 1_000_000),
    /** Per-tier quotas (FAIL-007): `free` and `pro`, each configurable. */
    tiers: Object.freeze({
      free: Object.freeze(
        tierLimits('FREE', { requestsPerDay: 10_000, alerts: 10, watchlistSymbols: 20, wsConnections: 2, templates: 5, portfolios: 20, transactionsPerPortfolio: 50_000, splitsPerPortfolio: 50 }),
      ),
      pro: Object.freeze(
        tierLimits('PRO', { requestsPerDay: 200_000, alerts: 200, watchlistSymbols: 500, wsConnections: 10, templates: 100, portfolios: 200, transactionsPerPortfolio: 100_000, splitsPerPortfolio: 200 }),
      ),
    }),
    /**
     * The daily request quota is counted in memory and added to the database in batches of
     * QUOTA_FLUSH_BATCH, or after QUOTA_FLUSH_INTERVAL_MS; several instances may admit up to
     * 2 × batch × instances requests over a quota (docs/limits.md), one instance none. The
     * embedded database serves one instance, so there the batch bounds nothing but what a
     * crash can leave uncounted, and a larger one spares PGlite's main-thread statements.
     */
    quotaFlushBatch: r.int('QUOTA_FLUSH_BATCH', databaseUrl === undefined ? 1000 : 50, 1, 10_000),
    quotaFlushIntervalMs: r.int('QUOTA_FLUSH_INTERVAL_MS', 1000, 10, 60_000),
    /**
     * Technical indicators (FAIL-023): values one request may compute (candles × output
     * columns), indicator requests in progress per user at once (shared through Redis),
     * and how long a computed column is cached.
     */
    indicators: Object.freeze({
      maxValues: r.int('INDICATOR_MAX_VALUES', 60_000, 100, 10_000_000),
      maxConcurrentPerUser: r.int('INDICATOR_MAX_CONCURRENT', 2, 1, 1000),
      cacheSeconds: r.int('INDICATOR_CACHE_SECONDS', 300, 1, 86_400),
    }),
    /** Real-time gateway (WebSocket /v1/ws, FAIL-005/006/011/012/013); see docs/realtime.md. */
    ws: Object.freeze({
      /** Largest inbound frame; a bigger one closes the socket with 1009. */
      maxPayloadBytes: r.int('WS_MAX_PAYLOAD_BYTES', 16_384, 128, 1_048_576),
      /** Inbound messages per second per connection, and the burst above it; beyond them: close 4429. */
      messagesPerSecond: r.int('WS_MESSAGES_PER_SECOND', 20, 1, 10_000),
      messageBurst: r.int('WS_MESSAGE_BURST', 40, 1, 100_000),
      /** Channels one connection may hold at once. */
      maxSubscriptions: r.int('WS_MAX_SUBSCRIPTIONS', 100, 1, 10_000),
      /** Bytes queued for a client that does not read before it is closed with 1013. */
      maxBufferedBytes: r.int('WS_MAX_BUFFERED_BYTES', 1_048_576, 1024, 1_073_741_824),
      /** Ping interval; a peer that has not answered the previous ping by the next is dropped. */
      heartbeatMs: r.int('WS_HEARTBEAT_MS', 30_000, 100, 3_600_000),
      /** How long a socket may stay unauthenticated (first-message auth) before close 4408. */
      authTimeoutMs: r.int('WS_AUTH_TIMEOUT_MS', 5000, 100, 60_000),
      /** `token_expiring` is sent this long before the access token expires. */
      expiryWarningSeconds: r.int('WS_EXPIRY_WARNING_SECONDS', 60, 0, 86_400),
      /** Invalid messages tolerated per connection (each answered with `error`) before close 4400. */
      maxInvalidMessages: r.int('WS_MAX_INVALID_MESSAGES', 5, 1, 1000),
      /** At most one `portfolio` message per portfolio per this many ms. */
      portfolioThrottleMs: r.int('WS_PORTFOLIO_THROTTLE_MS', 1000, 0, 3_600_000),
    }),
    /** Request rate limits (FAIL-014, S-013); Redis-backed when REDIS_URL is set. */
    rateLimits: Object.freeze({
      /** Every request without a valid principal, per IP (/health/live exempt). */
      public: rate('RATE_LIMIT_PUBLIC', 300, 60),
      login: rate('RATE_LIMIT_LOGIN', 20, 60),
      register: rate('RATE_LIMIT_REGISTER', 10, 3600),
      refreshIp: rate('RATE_LIMIT_REFRESH_IP', 60, 60),
      refreshSession: rate('RATE_LIMIT_REFRESH_SESSION', 10, 60),
    }),
    // --- durable jobs (pg-boss, FAIL-021): queue schema, polling, retries with exponential
    // backoff and jitter, the lock expiry after which a dead worker's job runs again,
    // and how long dead letters are kept.
    jobs: Object.freeze({
      schema: jobsSchema,
      pollIntervalMs: r.int('JOBS_POLL_INTERVAL_MS', 2000, 500, 600_000),
      retryLimit: r.int('JOBS_RETRY_LIMIT', 5, 0, 100),
      retryDelaySeconds: r.int('JOBS_RETRY_DELAY_SECONDS', 2, 1, 86_400),
      retryDelayMaxSeconds: r.int('JOBS_RETRY_DELAY_MAX_SECONDS', 600, 1, 86_400),
      expireSeconds: r.int('JOBS_EXPIRE_SECONDS', 300, 1, 86_400),
      superviseIntervalSeconds: r.int('JOBS_SUPERVISE_INTERVAL_SECONDS', 30, 1, 3600),
      deadLetterRetentionDays: r.int('JOBS_DEAD_LETTER_RETENTION_DAYS', 30, 1, 3650),
      concurrency: r.int('JOBS_CONCURRENCY', 2, 1, 64),
      /** How often a worker looks for due schedules (one instance per interval across all does the pass). */
      cronMonitorSeconds: r.int('JOBS_CRON_MONITOR_SECONDS', 30, 1, 45),
    }),
    // --- alerts: how often symbols with active alerts get a fresh quote, and the
    // per-user webhook policy (HTTPS only and no private addresses, unless a test allows).
    alerts: Object.freeze({
      tickSeconds: r.int('ALERTS_TICK_SECONDS', 5, 0, 3600),
      webhookTimeoutMs: r.int('ALERTS_WEBHOOK_TIMEOUT_MS', 5000, 100, 60_000),
      webhookAllowHttp: r.bool('ALERTS_WEBHOOK_ALLOW_HTTP', false),
      webhookAllowPrivate: r.bool('ALERTS_WEBHOOK_ALLOW_PRIVATE', false),
    }),
    // --- reports: the optional AI writer (an OpenAI-compatible chat-completions endpoint;
    // off unless AI_BASE_URL is set) and its bounds. The built-in narrative writer needs none.
    ai: Object.freeze({
      baseUrl: r.url('AI_BASE_URL', ['http:', 'https:']),
      model: r.str('AI_MODEL') ?? 'gpt-4o-mini',
      apiKey: r.str('AI_API_KEY'),
      timeoutMs: r.int('AI_TIMEOUT_MS', 20_000, 100, 300_000),
      maxChars: r.int('AI_MAX_CHARS', 4000, 100, 50_000),
    }),
    // --- reports: the wall-clock limit of each step on the render thread (data model,
    // template + Markdown → HTML); past it the report fails with a note, without retry.
    reports: Object.freeze({
      renderTimeoutMs: r.int('REPORT_RENDER_TIMEOUT_MS', 10_000, 100, 600_000),
    }),
    // --- scheduled maintenance (pg-boss cron, one runner): purge of expired sessions, of
    // security events and of daily request counts past their retention.
    maintenance: Object.freeze({
      securityEventsRetentionDays: r.int('SECURITY_EVENTS_RETENTION_DAYS', 365, 1, 36_500),
      // Only today's count is ever read (the quota); older days are history for operators.
      // At least two days: a batch flushed just after midnight still adds to yesterday.
      requestUsageRetentionDays: r.int('REQUEST_USAGE_RETENTION_DAYS', 90, 2, 36_500),
      purgeCron: cron('MAINTENANCE_PURGE_CRON', '17 3 * * *'),
    }),
    // --- schedules (pg-boss cron, one runner across instances; docs/jobs.md). Each cron is
    // UTC; SCHEDULES_ENABLED=false registers none (the job handlers still run when enqueued).
    schedules: Object.freeze({
      enabled: r.bool('SCHEDULES_ENABLED', true),
      /** Quote refresh for watched, held and alerted symbols: every N minutes. */
      quoteRefreshMinutes: r.int('QUOTE_REFRESH_MINUTES', 1, 1, 59),
      /**
       * Share of the live provider's per-minute call budget one scheduled run (quote refresh,
       * news, warming) may use, percent. The quote refresh runs every minute and news or
       * warming (never in the same minute by default) on top: at most twice this a minute.
       */
      providerBudgetPercent: r.int('SCHEDULE_PROVIDER_BUDGET_PERCENT', 30, 1, 100),
      /** Upper bound on symbols per run when the provider has no call budget (simulated, Yahoo). */
      maxSymbolsPerRun: r.int('SCHEDULE_MAX_SYMBOLS', 500, 1, 100_000),
      /** Daily bars after the US close (21:00 UTC in winter, 20:00 in summer), weekdays. */
      dailyCandlesCron: cron('DAILY_CANDLES_CRON', '30 22 * * 1-5'),
      newsCron: cron('NEWS_REFRESH_CRON', '*/15 * * * *'),
      /** Every five minutes, off the quarter hours news runs at. */
      cacheWarmCron: cron('CACHE_WARM_CRON', '2-59/5 * * * *'),
      /** How many of the most watched symbols are kept warm. */
      cacheWarmSymbols: r.int('CACHE_WARM_SYMBOLS', 50, 1, 10_000),
      /** A price import or candle fill that writes at least this many bars enqueues ANALYZE of price_bars. */
      analyzeAfterRows: r.int('ANALYZE_AFTER_ROWS', 10_000, 1),
    }),
  };
  if (config.loginBlockMaxSeconds < config.loginBlockSeconds) {
    throw new ConfigError('LOGIN_BLOCK_MAX_SECONDS', `must not be less than LOGIN_BLOCK_SECONDS (${config.loginBlockSeconds})`);
  }
  if ((config.marketDataProvider === 'finnhub' || config.marketHistoryProvider === 'finnhub') && config.finnhubApiKey === undefined) {
    throw new ConfigError('FINNHUB_API_KEY', 'is required when MARKET_DATA_PROVIDER or MARKET_HISTORY_PROVIDER is finnhub');
  }
  return Object.freeze(config);
}

export type Config = ReturnType<typeof loadConfig>;
