// Rate limiting: the limiter factory (memory, or Redis with in-memory insurance) and its
// HTTP helpers. Every limit in FinanceHub is built from createLimiter().
export { createLimiterFactory, type Limiter, type LimiterFactory, type LimiterSpec, type LimitResult } from './limiter.ts';
export { declareLimitFields, enforceLimit, limitExceeded, rateLimitHeaders, setRateLimitHeaders } from './http.ts';
export { createConcurrencyLimiter, type Acquired, type ConcurrencyLimiter, type ConcurrencySpec } from './concurrency.ts';
