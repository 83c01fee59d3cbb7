// Outbound HTTP for external providers (FAIL-017): every call has a timeout
// (AbortSignal.timeout per attempt), bounded retries with exponential backoff and
// decorrelated jitter, a circuit breaker and a bulkhead (cockatiel), and an optional
// rate limit shared by all instances through the limiter factory. A response body is
// read with a byte counter and abandoned past a cap; the caller's reader (JSON parsing
// and value checks) runs inside the breaker, so a malformed or hostile answer counts as
// a provider fault exactly like a 5xx. A 429's Retry-After (bounded) pauses the
// provider for every instance through a shared limiter. The request id of the current
// request travels as X-Request-ID (FAIL-020). Log lines carry the provider, the path
// without its query string and the status — never query strings, headers or API keys,
// which are passed as headers only.
import {
  BrokenCircuitError,
  BulkheadRejectedError,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  bulkhead,
  circuitBreaker,
  handleWhen,
  retry,
  wrap,
} from 'cockatiel';
import { currentRequestId } from './context.ts';
import type { Limiter } from './limits/index.ts';
import type { Logger } from './logger.ts';

export type ProviderErrorKind =
  /** No answer within the per-attempt timeout. */
  | 'timeout'
  /** Connection refused, reset, DNS … */
  | 'network'
  /** The provider answered 429, or our own per-provider budget is spent. */
  | 'rate_limited'
  /** Any other non-2xx answer; `status` says which. */
  | 'http'
  /** The endpoint needs a paid plan (Finnhub answers 403 on /stock/candle for free keys). */
  | 'premium_only'
  /** The body is not what the provider documents (malformed JSON, missing fields). */
  | 'bad_response'
  /** The circuit breaker is open: the provider failed repeatedly and is not called for a while. */
  | 'circuit_open'
  /** Too many calls in flight and queued: refused instead of piling up. */
  | 'bulkhead_full'
  /** This provider does not offer the operation. */
  | 'not_supported';

export class ProviderError extends Error {
  readonly provider: string;
  readonly kind: ProviderErrorKind;
  readonly status: number | undefined;
  constructor(provider: string, kind: ProviderErrorKind, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(`${provider}: ${message}`, { cause: options.cause });
    this.name = 'ProviderError';
    this.provider = provider;
    this.kind = kind;
    this.status = options.status;
  }
}

/** Transient failures worth another attempt; 4xx other than 429 never are. */
export function isRetryable(err: unknown): boolean {
  if (!(err instanceof ProviderError)) return false;
  if (err.kind === 'timeout' || err.kind === 'network') return true;
  if (err.kind === 'rate_limited') return err.status === 429;
  return err.kind === 'http' && err.status !== undefined && err.status >= 500;
}

/** Failures that say the provider is unwell (they count towards opening the breaker). */
function isProviderFault(err: Error): boolean {
  if (!(err instanceof ProviderError)) return true;
  return isRetryable(err) || err.kind === 'bad_response';
}

export interface HttpClientOptions {
  /** Provider name for logs and errors, e.g. `finnhub`. */
  name: string;
  baseUrl: string;
  logger: Logger;
  /** Per-attempt timeout. */
  timeoutMs: number;
  /** Attempts after the first one (0 = no retry). */
  retries: number;
  /** First backoff delay; later ones grow exponentially with jitter, capped at 20×. */
  backoffMs?: number;
  /** Consecutive provider faults that open the breaker. */
  breakerThreshold: number;
  /** How long the breaker stays open before one trial call is let through. */
  breakerHalfOpenMs: number;
  /** Calls in flight at once, and how many more may wait. */
  maxConcurrent?: number;
  maxQueued?: number;
  /** Headers sent on every call (API keys go here, never in the URL). */
  headers?: Record<string, string>;
  /** Per-provider budget (e.g. Finnhub free: 60 calls/minute), shared across instances with Redis. */
  rateLimit?: Limiter;
  /** Where a 429's Retry-After pause is recorded, shared across instances with Redis (in process without one). */
  pauses?: Limiter;
  /** The longest Retry-After honoured, seconds (a provider cannot silence itself for a day). */
  maxRetryAfterSeconds?: number;
  /** Bodies larger than this are abandoned mid-stream and count as a bad response. */
  maxResponseBytes?: number;
  /** Defaults to the global fetch; tests never replace it (they run local fake servers). */
  fetch?: typeof fetch;
}

export interface HttpResponse {
  status: number;
  text: string;
}

export interface HttpClient {
  readonly name: string;
  /**
   * GET `path` with `query`; resolves for 2xx with what `read` makes of the response
   * (the response itself without one), throws ProviderError otherwise. `read` runs inside
   * the breaker: a bad_response it throws counts as a provider fault (and is not retried).
   */
  get: <T = HttpResponse>(path: string, query?: Record<string, string>, read?: (response: HttpResponse) => T) => Promise<T>;
  /** POST `body` to `path` (redirects are not followed); resolves for 2xx, throws ProviderError otherwise. */
  post: (path: string, body: string, headers: Record<string, string>) => Promise<HttpResponse>;
  /** `closed`, `open`, `half-open` or `isolated`. */
  breakerState: () => string;
}

export const DEFAULT_MAX_RESPONSE_BYTES = 2 * 1024 * 1024;
export const DEFAULT_MAX_RETRY_AFTER_SECONDS = 300;
const PAUSE_KEY = 'retry-after';

/** Retry-After as whole seconds (delta-seconds or an HTTP date), undefined when absent or unreadable. */
export function retryAfterSeconds(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d{1,10}$/.test(text)) return Number.parseInt(text, 10);
  const at = Date.parse(text);
  if (Number.isNaN(at) || !/[a-z]/i.test(text)) return undefined;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

/** The body as text, read chunk by chunk and abandoned once it passes `limit` bytes. */
async function readCapped(provider: string, response: Response, limit: number): Promise<string> {
  const tooLarge = () => new ProviderError(provider, 'bad_response', `response larger than ${limit} bytes; abandoned`);
  const declared = response.headers.get('content-length');
  if (declared !== null && /^\d+$/.test(declared) && Number(declared) > limit) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (response.body === null) return '';
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const STATE_NAMES: Record<CircuitState, string> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'isolated',
};

export function createHttpClient(options: HttpClientOptions): HttpClient {
  const { name, logger, timeoutMs } = options;
  const doFetch = options.fetch ?? fetch;
  const base = options.baseUrl.endsWith('/') ? options.baseUrl.slice(0, -1) : options.baseUrl;
  const backoffMs = options.backoffMs ?? 200;
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const maxRetryAfterSeconds = options.maxRetryAfterSeconds ?? DEFAULT_MAX_RETRY_AFTER_SECONDS;

  const breaker = circuitBreaker(handleWhen(isProviderFault), {
    halfOpenAfter: options.breakerHalfOpenMs,
    breaker: new ConsecutiveBreaker(options.breakerThreshold),
  });
  breaker.onBreak(() => logger.warn({ event: 'provider_circuit_open', provider: name }, `${name}: circuit opened after repeated failures`));
  breaker.onHalfOpen(() => logger.info({ event: 'provider_circuit_half_open', provider: name }, `${name}: trying one call`));
  breaker.onReset(() => logger.info({ event: 'provider_circuit_closed', provider: name }, `${name}: circuit closed again`));

  const retryPolicy = retry(handleWhen(isRetryable), {
    maxAttempts: options.retries,
    backoff: new ExponentialBackoff({ initialDelay: backoffMs, maxDelay: backoffMs * 20 }),
  });
  retryPolicy.onRetry((reason) =>
    logger.debug({ event: 'provider_retry', provider: name, reason: 'error' in reason ? reason.error.message : 'result' }, `${name}: retrying`),
  );
  const limitConcurrency = bulkhead(options.maxConcurrent ?? 10, options.maxQueued ?? 50);
  // Bulkhead outermost (bounds what waits), then retry, then the breaker around each
  // attempt, so every failed attempt counts and an open breaker stops the retries.
  const policy = wrap(limitConcurrency, retryPolicy, breaker);

  const attempt = async <T>(
    path: string,
    url: string,
    signal: AbortSignal,
    read: (response: HttpResponse) => T,
    post?: { body: string; headers: Record<string, string> },
  ): Promise<T> => {
    if (options.pauses !== undefined) {
      // A Retry-After the provider sent to any instance holds for all of them.
      const pause = await options.pauses.peek(PAUSE_KEY);
      if (!pause.allowed) throw new ProviderError(name, 'rate_limited', `provider asked to wait (Retry-After); next call in ${pause.resetSeconds} s`);
    }
    if (options.rateLimit !== undefined) {
      const budget = await options.rateLimit.consume('calls');
      if (!budget.allowed) {
        throw new ProviderError(name, 'rate_limited', `call budget of ${budget.limit} per ${options.rateLimit.durationSeconds} s spent; next in ${budget.resetSeconds} s`);
      }
    }
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers, ...post?.headers };
    const requestId = currentRequestId();
    if (requestId !== undefined) headers['x-request-id'] = requestId;
    const started = performance.now();
    const callSignal = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
    let response: Response;
    let text = '';
    try {
      response = await doFetch(url, post === undefined ? { headers, signal: callSignal } : { method: 'POST', body: post.body, headers, signal: callSignal, redirect: 'manual' });
      if (response.ok) text = await readCapped(name, response, maxResponseBytes);
      else await response.body?.cancel().catch(() => undefined);
    } catch (err) {
      if (err instanceof ProviderError) {
        logger.warn({ event: 'provider_call_failed', provider: name, path, durationMs: Math.round(performance.now() - started), reason: err.kind }, err.message);
        throw err;
      }
      const timedOut = err instanceof DOMException && (err.name === 'TimeoutError' || err.name === 'AbortError');
      logger.warn(
        { event: 'provider_call_failed', provider: name, path, durationMs: Math.round(performance.now() - started), reason: timedOut ? 'timeout' : 'network' },
        `${name}: ${timedOut ? `no answer within ${timeoutMs} ms` : 'network error'}`,
      );
      if (timedOut) throw new ProviderError(name, 'timeout', `no answer within ${timeoutMs} ms`, { cause: err });
      throw new ProviderError(name, 'network', 'network error', { cause: err });
    }
    const durationMs = Math.round(performance.now() - started);
    logger.debug({ event: 'provider_call', provider: name, path, status: response.status, durationMs }, `${name} answered ${response.status}`);
    if (response.ok) {
      try {
        return read({ status: response.status, text });
      } catch (err) {
        if (err instanceof ProviderError && err.kind === 'bad_response') {
          logger.warn({ event: 'provider_bad_response', provider: name, path, reason: err.message }, `${name}: unusable answer for ${path}`);
        }
        throw err;
      }
    }
    if (response.status === 429) {
      const wait = retryAfterSeconds(response.headers.get('retry-after'), Date.now());
      if (wait !== undefined && wait > 0 && options.pauses !== undefined) {
        const seconds = Math.min(wait, maxRetryAfterSeconds);
        await options.pauses.block(PAUSE_KEY, seconds);
        logger.warn({ event: 'provider_paused', provider: name, seconds }, `${name}: answered 429; pausing calls for ${seconds} s (Retry-After)`);
        // Not retried: the pause (shared by every instance) refuses calls until it ends.
        throw new ProviderError(name, 'rate_limited', `provider answered 429 Too Many Requests; paused for ${seconds} s`);
      }
      throw new ProviderError(name, 'rate_limited', 'provider answered 429 Too Many Requests', { status: 429 });
    }
    throw new ProviderError(name, 'http', `provider answered ${response.status} for ${path}`, { status: response.status });
  };

  const run = async <T>(call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (err) {
      if (err instanceof BrokenCircuitError) throw new ProviderError(name, 'circuit_open', 'circuit open after repeated failures; not calling', { cause: err });
      if (err instanceof BulkheadRejectedError) throw new ProviderError(name, 'bulkhead_full', 'too many calls in flight', { cause: err });
      throw err;
    }
  };

  return {
    name,
    breakerState: () => STATE_NAMES[breaker.state],
    async get<T = HttpResponse>(path: string, query: Record<string, string> = {}, read?: (response: HttpResponse) => T): Promise<T> {
      const search = new URLSearchParams(query).toString();
      const url = `${base}${path}${search === '' ? '' : `?${search}`}`;
      const reader = read ?? ((response: HttpResponse) => response as T);
      return run(() => policy.execute(({ signal }) => attempt(path, url, signal, reader)));
    },
    async post(path, body, headers) {
      return run(() => policy.execute(({ signal }) => attempt(path, `${base}${path}`, signal, (response) => response, { body, headers })));
    },
  };
}
