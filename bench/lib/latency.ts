// Latency at a fixed offered rate, in microseconds. autocannon saturates the server and
// records whole milliseconds, so a fast route's p99 reads 0 or 1 ms; this sends requests on
// a schedule instead (the same rate for every route, below what the slowest one can serve)
// and times each from when it was handed to the connection pool to its last byte, so a
// request that had to wait for a free connection is charged its wait. The sender's own
// timer lateness is not charged to the server: a request is timed from when it was sent,
// not from when it fell due.
import { Agent, request } from 'node:http';

export interface RateLatencyOptions {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  expectStatus: number;
  /** Requests per second, offered on schedule whatever the answers' pace. */
  rate: number;
  durationS: number;
  /** Keep-alive connections to spread the schedule over. */
  connections: number;
}

export interface RateLatencyResult {
  sent: number;
  p50_us: number;
  p99_us: number;
  max_us: number;
}

/** The q-quantile of ascending `sorted` (nearest rank). */
function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

export async function measureLatencyAtRate(options: RateLatencyOptions): Promise<RateLatencyResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const target = new URL(options.url);
  const total = Math.round(options.rate * options.durationS);
  const latencies = new Float64Array(total);
  const headers = { ...options.headers, ...(options.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(options.body)) }) };
  const start = process.hrtime.bigint();
  let sent = 0;
  let done = 0;
  let failure: Error | undefined;

  await new Promise<void>((resolve) => {
    const fire = (index: number) => {
      const sentNs = process.hrtime.bigint();
      const req = request(
        { agent, host: target.hostname, port: target.port, path: target.pathname + target.search, method: options.method ?? 'GET', headers },
        (res) => {
          if (res.statusCode !== options.expectStatus) failure ??= new Error(`${options.url}: expected ${options.expectStatus}, got ${res.statusCode}`);
          res.resume();
          res.on('end', () => {
            latencies[index] = Number(process.hrtime.bigint() - sentNs) / 1000;
            if (++done === total) resolve();
          });
        },
      );
      req.on('error', (err) => {
        failure ??= err;
        if (++done === total) resolve();
      });
      req.end(options.body);
    };
    // Every millisecond (or as soon as the loop gets to it), send what has fallen due.
    const tick = () => {
      const elapsedNs = process.hrtime.bigint() - start;
      const due = Math.min(total, Math.floor((Number(elapsedNs) / 1e9) * options.rate));
      for (; sent < due; sent++) fire(sent);
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
  agent.destroy();
  if (failure !== undefined) throw failure;
  const sorted = latencies.sort();
  return { sent, p50_us: Math.round(quantile(sorted, 0.5)), p99_us: Math.round(quantile(sorted, 0.99)), max_us: Math.round(sorted[sorted.length - 1] ?? 0) };
}
