// An autocannon run against one request, reduced to the figures we record: mean req/s,
// p50/p99 latency and the status codes seen (a run that mostly got the wrong status
// measured the wrong thing, so callers say which status they expect).
import autocannon from 'autocannon';

export interface HttpBenchOptions {
  /** Full URL of the request, e.g. `${server.url}/health/live`. */
  url: string;
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  headers?: Record<string, string>;
  body?: string;
  /** The status every response should have; other statuses are reported and fail the entry. */
  expectStatus?: number;
  connections?: number;
  /** Seconds; defaults to BENCH_DURATION_S or 10. */
  durationS?: number;
  /** Seconds of unrecorded load first, so JIT and caches are warm; defaults to 2. */
  warmupS?: number;
}

export interface HttpBenchResult {
  requests_per_sec: number;
  p50_ms: number;
  p99_ms: number;
  requests: number;
  errors: number;
  timeouts: number;
  statuses: Record<string, number>;
  connections: number;
  duration_s: number;
}

export function defaultDurationS(): number {
  const fromEnv = Number.parseInt(process.env.BENCH_DURATION_S ?? '', 10);
  return Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : 10;
}

function fire(options: HttpBenchOptions, durationS: number): Promise<autocannon.Result> {
  return autocannon({
    url: options.url,
    method: options.method ?? 'GET',
    headers: options.headers ?? {},
    ...(options.body === undefined ? {} : { body: options.body }),
    connections: options.connections ?? 10,
    duration: durationS,
  });
}

export async function measureHttp(options: HttpBenchOptions): Promise<HttpBenchResult> {
  const warmupS = options.warmupS ?? 2;
  if (warmupS > 0) await fire(options, warmupS);
  const durationS = options.durationS ?? defaultDurationS();
  const result = await fire(options, durationS);
  const statuses: Record<string, number> = {};
  for (const [status, stat] of Object.entries(result.statusCodeStats ?? {})) statuses[status] = stat.count ?? 0;
  const measured: HttpBenchResult = {
    requests_per_sec: Math.round(result.requests.average),
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    requests: result.requests.total,
    errors: result.errors,
    timeouts: result.timeouts,
    statuses,
    connections: result.connections,
    duration_s: durationS,
  };
  if (options.expectStatus !== undefined) {
    const wrong = Object.entries(statuses).filter(([status, count]) => Number(status) !== options.expectStatus && count > 0);
    if (wrong.length > 0 || result.errors > 0) {
      throw new Error(
        `${options.method ?? 'GET'} ${options.url}: expected only ${options.expectStatus}, got ${JSON.stringify(statuses)} and ${result.errors} errors`,
      );
    }
  }
  return measured;
}
