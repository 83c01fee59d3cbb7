// Outbound HTTP for external providers (FAIL-017): every call has a timeout
// (AbortSignal.timeout per attempt), bounded retries with exponential backoff and
// decorrelated jitter, a circuit breaker and a bulkhead (cockatiel), and an optional
// rate limit shared by all instances through the limiter factory. The request id of
// the current request travels as X-Request-ID (FAIL-020). Log lines carry the provider,
// the path without its query string and the status — never query strings, headers or
// API keys, which are passed as headers only.
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
  /** Defaults to the global fetch; tests never replace it (they run local fake servers). */
  fetch?: typeof fetch;
}

export interface HttpResponse {
  status: number;
  text: string;
}

export interface HttpClient {
  readonly name: string;
  /** GET `path` with `query`; resolves for 2xx, throws ProviderError otherwise. */
  get: (path: string, query?: Record<string, string>) => Promise<HttpResponse>;
  /** `closed`, `open`, `half-open` or `isolated`. */
  breakerState: () => string;
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

  const attempt = async (path: string, url: string, signal: AbortSignal): Promise<HttpResponse> => {
    if (options.rateLimit !== undefined) {
      const budget = await options.rateLimit.consume('calls');
      if (!budget.allowed) {
        throw new ProviderError(name, 'rate_limited', `call budget of ${budget.limit} per ${options.rateLimit.durationSeconds} s spent; next in ${budget.resetSeconds} s`);
      }
    }
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    const requestId = currentRequestId();
    if (requestId !== undefined) headers['x-request-id'] = requestId;
    const started = performance.now();
    let response: Response;
    let text: string;
    try {
      response = await doFetch(url, { headers, signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) });
      text = await response.text();
    } catch (err) {
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
    if (response.ok) return { status: response.status, text };
    if (response.status === 429) throw new ProviderError(name, 'rate_limited', 'provider answered 429 Too Many Requests', { status: 429 });
    throw new ProviderError(name, 'http', `provider answered ${response.status} for ${path}`, { status: response.status });
  };

  return {
    name,
    breakerState: () => STATE_NAMES[breaker.state],
    async get(path, query = {}) {
      const search = new URLSearchParams(query).toString();
      const url = `${base}${path}${search === '' ? '' : `?${search}`}`;
      try {
        return await policy.execute(({ signal }) => attempt(path, url, signal));
      } catch (err) {
        if (err instanceof BrokenCircuitError) throw new ProviderError(name, 'circuit_open', 'circuit open after repeated failures; not calling', { cause: err });
        if (err instanceof BulkheadRejectedError) throw new ProviderError(name, 'bulkhead_full', 'too many calls in flight', { cause: err });
        throw err;
      }
    },
  };
}
