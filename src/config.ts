// The environment, parsed once into a typed, frozen object. A bad value stops the
// process with one line naming the variable (see main.ts); there are no default secrets.
import { availableParallelism } from 'node:os';

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
const PROVIDERS = ['simulated', 'finnhub', 'yahoo', 'none'] as const;

export interface TierLimits {
  requestsPerDay: number;
  alerts: number;
  watchlistSymbols: number;
  wsConnections: number;
  templates: number;
}

/** A request rate limit: `points` requests per `durationSeconds`, per key (IP, session …). */
export interface RateLimitSpec {
  points: number;
  durationSeconds: number;
}

export type LogLevel = (typeof LOG_LEVELS)[number];
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

  const tierLimits = (tier: 'FREE' | 'PRO', defaults: TierLimits): TierLimits => ({
    requestsPerDay: r.int(`${tier}_REQUESTS_PER_DAY`, defaults.requestsPerDay, 1),
    alerts: r.int(`${tier}_ALERTS`, defaults.alerts, 0),
    watchlistSymbols: r.int(`${tier}_WATCHLIST_SYMBOLS`, defaults.watchlistSymbols, 0),
    wsConnections: r.int(`${tier}_WS_CONNECTIONS`, defaults.wsConnections, 0),
    templates: r.int(`${tier}_TEMPLATES`, defaults.templates, 0),
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

  const config = {
    host: r.str('HOST') ?? '127.0.0.1',
    port: r.int('PORT', 3000, 0, 65535),
    dataDir: r.str('DATA_DIR') ?? './data',
    databaseUrl: r.url('DATABASE_URL', ['postgres:', 'postgresql:']),
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
    marketDataProvider: r.oneOf<MarketDataProvider>('MARKET_DATA_PROVIDER', PROVIDERS, 'simulated'),
    finnhubApiKey: r.str('FINNHUB_API_KEY'),
    finnhubBaseUrl: r.url('FINNHUB_BASE_URL', ['http:', 'https:']) ?? 'https://finnhub.io/api/v1',
    yahooBaseUrl: r.url('YAHOO_BASE_URL', ['http:', 'https:']) ?? 'https://query1.finance.yahoo.com',
    /** History (candles) provider; by default the quote provider, except Finnhub (candles are premium-only) → yahoo. */
    marketHistoryProvider: r.oneOf<MarketDataProvider>(
      'MARKET_HISTORY_PROVIDER',
      PROVIDERS,
      r.raw('MARKET_DATA_PROVIDER') === 'finnhub' ? 'yahoo' : ((r.raw('MARKET_DATA_PROVIDER') as MarketDataProvider | undefined) ?? 'simulated'),
    ),
    finnhubWebsocketUrl: r.url('FINNHUB_WS_URL', ['ws:', 'wss:']) ?? 'wss://ws.finnhub.io',
    /** Finnhub's free tier allows 60 calls per minute; shared by all instances through Redis. */
    finnhubCallsPerMinute: r.int('FINNHUB_CALLS_PER_MINUTE', 60, 1, 100_000),
    /** Outbound provider calls (FAIL-017): per-attempt timeout, retries, breaker threshold and pause. */
    providerTimeoutMs: r.int('PROVIDER_TIMEOUT_MS', 5000, 50, 120_000),
    providerRetries: r.int('PROVIDER_RETRIES', 2, 0, 10),
    providerBreakerFailures: r.int('PROVIDER_BREAKER_FAILURES', 5, 1, 1000),
    providerBreakerHalfOpenMs: r.int('PROVIDER_BREAKER_HALF_OPEN_MS', 30_000, 100, 3_600_000),
    /** A quote older than this is flagged `stale: true` (so is any quote served while the provider is down). */
    quoteStaleSeconds: r.int('QUOTE_STALE_SECONDS', 900, 1),
    quoteCacheSeconds: r.int('QUOTE_CACHE_SECONDS', 15, 1, 3600),
    candleCacheSeconds: r.int('CANDLE_CACHE_SECONDS', 60, 1, 86_400),
    healthToken: r.secret('HEALTH_TOKEN', 16),
    metricsToken: r.secret('METRICS_TOKEN', 16),
    logLevel: r.oneOf<LogLevel>('LOG_LEVEL', LOG_LEVELS, 'info'),
    /** Per-tier quotas (FAIL-007): `free` and `pro`, each configurable. */
    tiers: Object.freeze({
      free: Object.freeze(tierLimits('FREE', { requestsPerDay: 10_000, alerts: 10, watchlistSymbols: 20, wsConnections: 2, templates: 5 })),
      pro: Object.freeze(tierLimits('PRO', { requestsPerDay: 200_000, alerts: 200, watchlistSymbols: 500, wsConnections: 10, templates: 100 })),
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
