// Times an in-process function (no HTTP): ops/s and per-call p50/p99, for benchmarks of
// pure code such as decimal arithmetic or indicators.
export interface OpBenchOptions {
  /** Calls to time; each one is timed separately for the percentiles. */
  iterations?: number;
  /** Untimed calls first, so the JIT has settled. */
  warmup?: number;
}

export interface OpBenchResult {
  ops_per_sec: number;
  p50_ms: number;
  p99_ms: number;
  iterations: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? 0;
}

const round = (ms: number) => Math.round(ms * 1e4) / 1e4;

export async function measureOp(fn: () => unknown, options: OpBenchOptions = {}): Promise<OpBenchResult> {
  const iterations = options.iterations ?? 1000;
  for (let i = 0; i < (options.warmup ?? Math.min(100, iterations)); i++) await fn();
  const samples: number[] = [];
  const started = performance.now();
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
  }
  const total = performance.now() - started;
  samples.sort((a, b) => a - b);
  return {
    ops_per_sec: Math.round((iterations / total) * 1000),
    p50_ms: round(percentile(samples, 50)),
    p99_ms: round(percentile(samples, 99)),
    iterations,
  };
}
