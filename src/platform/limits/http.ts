// Rate-limit answers over HTTP: `RateLimit-Limit`/`-Remaining`/`-Reset` (IETF draft
// "RateLimit header fields", delta seconds) on every limited response, and a 429
// problem with `Retry-After` when a limit is hit. When several limiters apply to one
// request (e.g. refresh per IP and per session) the headers show the tightest.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.ts';
import type { LimitResult, Limiter } from './limiter.ts';

// The limit whose headers a request shows, on the request itself under a symbol of this
// module; declareLimitFields gives every request the field from the start, so setting it
// keeps the request's shape (a WeakMap keyed by the request cost a garbage-collector
// write barrier per request).
const SHOWN: unique symbol = Symbol('rateLimitShown');

declare module 'fastify' {
  interface FastifyRequest {
    [SHOWN]: LimitResult | undefined;
  }
}

/** Declares the field setRateLimitHeaders keeps on every request of `app`; before any route. */
export function declareLimitFields(app: FastifyInstance): void {
  app.decorateRequest(SHOWN, undefined);
}

export function rateLimitHeaders(result: LimitResult): Record<string, string> {
  return {
    'ratelimit-limit': String(result.limit),
    'ratelimit-remaining': String(result.remaining),
    'ratelimit-reset': String(result.resetSeconds),
  };
}

/** Sets the RateLimit headers unless a tighter limit already set them on this request. */
export function setRateLimitHeaders(request: FastifyRequest, reply: FastifyReply, result: LimitResult): void {
  const previous = request[SHOWN];
  if (previous !== undefined && previous.remaining < result.remaining) return;
  request[SHOWN] = result;
  reply.headers(rateLimitHeaders(result));
}

/** The 429 for a refused result: Retry-After plus the RateLimit headers. */
export function limitExceeded(result: LimitResult, code = 'rate_limited', detail?: string): AppError {
  return new AppError(429, code, 'Too many requests', {
    detail: detail ?? `Try again in ${result.resetSeconds} s.`,
    headers: { 'retry-after': String(result.resetSeconds), ...rateLimitHeaders(result) },
  });
}

/**
 * Consumes one point of `limiter` for `key`: sets the headers when allowed, throws the
 * 429 AppError when not. For hooks and handlers alike.
 */
export async function enforceLimit(
  request: FastifyRequest,
  reply: FastifyReply,
  limiter: Limiter,
  key: string,
  code = 'rate_limited',
): Promise<LimitResult> {
  const result = await limiter.consume(key);
  if (!result.allowed) {
    request.log.info({ event: 'rate_limited', limiter: limiter.name, retryAfterSeconds: result.resetSeconds }, 'rate limit hit');
    throw limitExceeded(result, code);
  }
  setRateLimitHeaders(request, reply, result);
  return result;
}
