// The `ctx` every benchmark module's run(ctx) receives: start the real server, measure
// HTTP requests or in-process functions, and record rows. Servers started through the
// context are stopped when the module finishes, even when it throws.
import { measureHttp, type HttpBenchOptions, type HttpBenchResult } from './http.ts';
import { machineInfo, type MachineInfo } from './machine.ts';
import { measureOp, type OpBenchOptions, type OpBenchResult } from './op.ts';
import type { BenchEntry } from './results.ts';
import { startServer, type BenchServer, type ServerOptions } from './server.ts';

export interface BenchContext {
  /** The module's name (its file name without .bench.ts). */
  name: string;
  machine: MachineInfo;
  /** Starts `financehub serve` on a free port with a fresh DATA_DIR; stopped automatically. */
  startServer: (options?: ServerOptions) => Promise<BenchServer>;
  /** Runs autocannon against one request and records a `req/s` row named `label`. */
  http: (label: string, options: HttpBenchOptions & { notes?: string }) => Promise<HttpBenchResult>;
  /** Times an in-process function and records an `ops/s` row named `label`. */
  op: (label: string, fn: () => unknown, options?: OpBenchOptions & { notes?: string }) => Promise<OpBenchResult>;
  /** Records a row measured some other way. */
  record: (entry: BenchEntry) => void;
  /** Progress output for the person running the benchmark. */
  log: (message: string) => void;
}

export interface BenchModule {
  /** One sentence for the results file: what this benchmark measures and why. */
  description: string;
  run: (ctx: BenchContext) => Promise<void>;
}

export function createContext(name: string): { ctx: BenchContext; entries: BenchEntry[]; cleanup: () => Promise<void> } {
  const entries: BenchEntry[] = [];
  const servers: BenchServer[] = [];
  const log = (message: string) => console.log(`[${name}] ${message}`);
  const ctx: BenchContext = {
    name,
    machine: machineInfo(),
    async startServer(options) {
      const server = await startServer(options);
      servers.push(server);
      log(`server up at ${server.url}`);
      return server;
    },
    async http(label, options) {
      log(`measuring ${label} …`);
      const result = await measureHttp(options);
      entries.push({
        name: label,
        unit: 'req/s',
        throughput: result.requests_per_sec,
        p50_ms: result.p50_ms,
        p99_ms: result.p99_ms,
        notes: [`${result.connections} connections, ${result.duration_s} s`, options.notes].filter(Boolean).join('; '),
        details: { ...result },
      });
      log(`${label}: ${result.requests_per_sec} req/s, p50 ${result.p50_ms} ms, p99 ${result.p99_ms} ms`);
      return result;
    },
    async op(label, fn, options = {}) {
      log(`measuring ${label} …`);
      const result = await measureOp(fn, options);
      entries.push({
        name: label,
        unit: 'ops/s',
        throughput: result.ops_per_sec,
        p50_ms: result.p50_ms,
        p99_ms: result.p99_ms,
        notes: [`${result.iterations} calls`, options.notes].filter(Boolean).join('; '),
        details: { ...result },
      });
      log(`${label}: ${result.ops_per_sec} ops/s, p50 ${result.p50_ms} ms, p99 ${result.p99_ms} ms`);
      return result;
    },
    record: (entry) => void entries.push(entry),
    log,
  };
  const cleanup = async () => {
    await Promise.all(servers.map((s) => s.stop()));
  };
  return { ctx, entries, cleanup };
}
