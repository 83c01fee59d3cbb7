// Prometheus metrics on a registry of this app's own (so several apps in one process,
// as in tests, never clash): request durations by route and status, database pool
// gauges, event-loop lag, and the log lines dropped because stdout was not taking them.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { droppedLogLines } from './logger.ts';
import { RequestDurations } from './request-durations.ts';
import type { PoolStats } from './db/index.ts';

export interface Metrics {
  registry: Registry;
  /** Records one request's duration (financehub_http_request_duration_seconds, by method, route and status). */
  observeRequest: (method: string, route: string, statusCode: number, seconds: number) => void;
  /** The longest event-loop delay, in milliseconds, in the previous sampling window (500 ms) and the current one. */
  eventLoopDelayMs: () => number;
  /** Forget the delay measured so far: start-up work blocks the loop, and is not load. */
  resetEventLoopDelay: () => void;
  stop: () => void;
}

/** How often the event-loop delay monitors sample, in milliseconds. */
export const EVENT_LOOP_MONITOR_RESOLUTION_MS = 10;
/** The load-shedding reading covers the current and the previous window of this length. */
const DELAY_WINDOW_MS = 500;

export function createMetrics(poolStats: () => PoolStats): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'financehub_' });

  // The lag p99 for the gauge comes from Node's delay monitor. The figures that must not
  // miss a stall (the load-shedding reading, the stall peaks) come from the tick below: the
  // monitor forgets a stall when it is reset between the stall and its next sample (a reset
  // clears its previous timestamp), and a sampler reset on a timer races with it.
  const loop = monitorEventLoopDelay({ resolution: EVENT_LOOP_MONITOR_RESOLUTION_MS });
  loop.enable();
  let lastDelayMs = 0;
  const sampler = setInterval(() => {
    lastDelayMs = loop.percentile(99) / 1e6;
    loop.reset();
  }, DELAY_WINDOW_MS);
  sampler.unref();

  // One tick every EVENT_LOOP_MONITOR_RESOLUTION_MS measures how late it runs (the event-loop
  // delay) and how much main-thread CPU was spent since the previous tick. It keeps the
  // longest delay of the current and the previous window, and the peaks since the previous
  // scrape of the stall gauges.
  const cpuMs = () => {
    const { user, system } = process.threadCpuUsage();
    return (user + system) / 1000;
  };
  let lastTickAt = performance.now();
  let lastCpuMs = cpuMs();
  let windowStart = lastTickAt;
  let windowMaxMs = 0;
  let previousWindowMaxMs = 0;
  let stallPeakMs = 0;
  let cpuPeakMs = 0;
  const tick = () => {
    const now = performance.now();
    const delay = Math.max(0, now - lastTickAt - EVENT_LOOP_MONITOR_RESOLUTION_MS);
    lastTickAt = now;
    if (now - windowStart >= DELAY_WINDOW_MS) {
      previousWindowMaxMs = windowMaxMs;
      windowMaxMs = 0;
      windowStart = now;
    }
    if (delay > windowMaxMs) windowMaxMs = delay;
    if (delay > stallPeakMs) stallPeakMs = delay;
    const cpu = cpuMs();
    if (cpu - lastCpuMs > cpuPeakMs) cpuPeakMs = cpu - lastCpuMs;
    lastCpuMs = cpu;
  };
  const ticker = setInterval(tick, EVENT_LOOP_MONITOR_RESOLUTION_MS);
  ticker.unref();

  const httpDuration = new RequestDurations({
    name: 'financehub_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registry,
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
  new Counter({
    name: 'financehub_log_lines_dropped_total',
    help: 'log lines dropped because the log output was not taking them (a stuck pipe)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(droppedLogLines());
    },
  });
  new Gauge({
    name: 'financehub_event_loop_lag_seconds',
    help: 'event-loop delay, p99 over the last 500 ms',
    registers: [registry],
    collect() {
      this.set(lastDelayMs / 1000);
    },
  });

  // The longest single stall since the previous scrape (a peak, reset as it is read): the
  // figure a stall budget is about, which a p99 over 500 ms windows hides. The stalls
  // benchmark reads it around each request it sends.
  new Gauge({
    name: 'financehub_event_loop_stall_max_seconds',
    help: 'longest event-loop delay since the previous scrape of this metric',
    registers: [registry],
    collect() {
      tick();
      this.set(stallPeakMs / 1000);
      stallPeakMs = 0;
    },
  });

  // The same peak in the main thread's CPU time: the most CPU spent between two ticks since
  // the previous scrape. The delay above also counts time the process waited for a core, so
  // on a loaded machine it measures the neighbours too; this one counts only the process's
  // own work (it includes up to one tick period of it).
  new Gauge({
    name: 'financehub_event_loop_stall_cpu_max_seconds',
    help: 'most main-thread CPU time between two turns of the event loop (10 ms timer) since the previous scrape of this metric',
    registers: [registry],
    collect() {
      tick();
      this.set(cpuPeakMs / 1000);
      cpuPeakMs = 0;
    },
  });

  return {
    registry,
    observeRequest: (method, route, statusCode, seconds) => httpDuration.observe(method, route, statusCode, seconds),
    // Read on every request by the load-shedding check: the longest delay in the previous
    // window and the current one. A stall is one late tick however long it lasts, so a p99
    // could leave a single multi-second stall out; the longest delay never does. A request
    // is read in the poll phase, after the timers phase in which an overdue tick has run.
    eventLoopDelayMs: () => Math.max(previousWindowMaxMs, windowMaxMs),
    resetEventLoopDelay() {
      loop.reset();
      lastDelayMs = 0;
      lastTickAt = performance.now();
      windowMaxMs = 0;
      previousWindowMaxMs = 0;
    },
    stop() {
      clearInterval(sampler);
      clearInterval(ticker);
      loop.disable();
    },
  };
}
