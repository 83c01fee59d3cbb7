// Prometheus metrics on a registry of this app's own (so several apps in one process,
// as in tests, never clash): request durations by route and status, database pool
// gauges and event-loop lag.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { PoolStats } from './db/index.ts';

export interface Metrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  /** Current event-loop delay in milliseconds (p99 over the last sampling window). */
  eventLoopDelayMs: () => number;
  /** Forget the delay measured so far: start-up work blocks the loop, and is not load. */
  resetEventLoopDelay: () => void;
  stop: () => void;
}

export function createMetrics(poolStats: () => PoolStats): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'financehub_' });

  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  let lastDelayMs = 0;
  // Sample and reset, so the figure reflects recent load rather than the whole uptime.
  const sampler = setInterval(() => {
    lastDelayMs = loop.percentile(99) / 1e6;
    loop.reset();
  }, 500);
  sampler.unref();

  const httpDuration = new Histogram({
    name: 'financehub_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const poolGauge = (name: string, help: string, pick: (s: PoolStats) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(pick(poolStats()));
      },
    });
  poolGauge('financehub_db_pool_total', 'database connections open', (s) => s.total);
  poolGauge('financehub_db_pool_idle', 'database connections idle', (s) => s.idle);
  poolGauge('financehub_db_pool_waiting', 'requests waiting for a database connection', (s) => s.waiting);
  new Gauge({
    name: 'financehub_event_loop_lag_seconds',
    help: 'event-loop delay, p99 over the last 500 ms',
    registers: [registry],
    collect() {
      this.set(lastDelayMs / 1000);
    },
  });

  return {
    registry,
    httpDuration,
    eventLoopDelayMs: () => Math.max(lastDelayMs, loop.percentile(99) / 1e6),
    resetEventLoopDelay() {
      loop.reset();
      lastDelayMs = 0;
    },
    stop() {
      clearInterval(sampler);
      loop.disable();
    },
  };
}
