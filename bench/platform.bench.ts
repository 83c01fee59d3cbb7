// The platform's own cost, as ratios to a bare Fastify hello-world measured in the same
// run (issue 14): the hello-world (and hello-world + one query, the floor of a one-query
// read) alternated, round after round, with /health/live, GET /v1/me, GET /v1/portfolios
// and warm holdings of a 50-transaction portfolio, on PGlite and, when BENCH_DATABASE_URL
// and BENCH_REDIS_URL are set, on PostgreSQL + Redis. Besides throughput it records the
// server's CPU time per request (utime + stime of the server process from
// /proc/<pid>/stat over the measured window), which stays meaningful on a shared,
// noisy machine where throughput does not, and then, for p99 "under the same load", the
// latency of every target offered one fixed rate (BENCH_LATENCY_RATE, default 1,000 req/s),
// timed to the microsecond. Also kept: a request rejected by schema validation (400
// problem JSON), the same holdings read on a server whose provider is unreachable, and the hello-world with 15 and 30 µs of busy work in its handler, which
// shows how much a microsecond of a route's own work costs the whole server.
import { cpuSeconds } from './lib/cpu.ts';
import { measureHttp, type HttpBenchOptions } from './lib/http.ts';
import { measureLatencyAtRate, type RateLatencyResult } from './lib/latency.ts';
import type { BenchContext } from './lib/context.ts';
import { withScratchDatabase } from './lib/scratch-db.ts';
import { seedHoldings } from './lib/seed.ts';
import type { BenchServer } from './lib/server.ts';
import { mean, median } from './lib/stats.ts';

export const description =
  'Platform overhead as ratios to a bare Fastify hello-world in the same run (server CPU per request and throughput), alternated over rounds, and p50/p99 in µs at one fixed rate: /health/live, GET /v1/me, GET /v1/portfolios, warm holdings of 50 transactions (and with the market-data provider unreachable), and a 400; PGlite, and PostgreSQL + Redis when BENCH_DATABASE_URL/BENCH_REDIS_URL are set.';

const INVALID_BODY = JSON.stringify({ bench_unknown_property: true });
const ROUNDS = Number.parseInt(process.env.BENCH_ROUNDS ?? '', 10) || 3;
const DURATION_S = Number.parseInt(process.env.BENCH_DURATION_S ?? '', 10) || 5;
const CONNECTIONS = 20;
// p99 "under the same load": every target offered the same fixed rate, well below what the
// slowest of them serves, timed per request to the microsecond (./lib/latency.ts).
const LATENCY_RATE = Number.parseInt(process.env.BENCH_LATENCY_RATE ?? '', 10) || 1000;
const LATENCY_CONNECTIONS = 4;
/** Busy work added to the hello-world's handler, µs: the CPU ratio a route with only that much work of its own would have. */
const WORK_US = [15, 30];

interface Sample {
  rps: number;
  cpuUsPerReq: number;
  p99: number;
}

interface Target {
  label: string;
  server: BenchServer;
  options: Omit<HttpBenchOptions, 'connections' | 'durationS' | 'warmupS'>;
}

async function sample(target: Target): Promise<Sample> {
  const base = { ...target.options, connections: CONNECTIONS, warmupS: 0 };
  await measureHttp({ ...base, durationS: 1 }); // warm-up, not measured
  const before = cpuSeconds(target.server.pid);
  const result = await measureHttp({ ...base, durationS: DURATION_S });
  const cpu = cpuSeconds(target.server.pid) - before;
  return { rps: result.requests_per_sec, cpuUsPerReq: (cpu * 1e6) / Math.max(1, result.requests), p99: result.p99_ms };
}

/**
 * autocannon records latencies in whole milliseconds, so a hello-world's p99 is often 0: a
 * ratio to it would be meaningless, and the note then gives both figures instead. The
 * fixed-rate figures (microseconds) are the ones to compare.
 */
function p99Note(p99: number, helloP99: number): string {
  if (helloP99 < 1) return `p99 ${round(p99, 1)} ms against hello-world's ${round(helloP99, 1)} ms (autocannon resolves 1 ms; no ratio)`;
  return `p99 ${round(p99 / helloP99, 2)}×`;
}

const round = (x: number, places = 3) => Math.round(x * 10 ** places) / 10 ** places;

async function findValidatedRoute(baseUrl: string): Promise<string | undefined> {
  const spec = (await (await fetch(`${baseUrl}/openapi.json`)).json()) as { paths?: Record<string, Record<string, { requestBody?: unknown; security?: unknown[] }>> };
  const candidates = Object.entries(spec.paths ?? {})
    .filter(([route, ops]) => !route.includes('{') && ops.post?.requestBody !== undefined && (ops.post.security ?? []).length === 0)
    .map(([route]) => route)
    .sort();
  for (const route of candidates) {
    const res = await fetch(`${baseUrl}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: INVALID_BODY });
    const body = (await res.json()) as { code?: string };
    if (res.status === 400 && body.code === 'validation_failed') return route;
  }
  return undefined;
}

/**
 * A market-data provider nobody answers at (a closed port): the outage path, which the
 * instance serves from the last known values it keeps for NEAR_QUOTE_MS
 * (docs/market-data.md). A route on it should cost about what the warm read costs.
 */
const UNREACHABLE_PROVIDER = { MARKET_DATA_PROVIDER: 'yahoo', YAHOO_BASE_URL: 'http://127.0.0.1:9' };

/** `env` configures the measured server; `outageEnv` a second one (its own database) whose provider is unreachable. */
async function runMode(ctx: BenchContext, mode: string, env: Record<string, string>, outageEnv: Record<string, string>, floorDb: string): Promise<void> {
  // A loaded machine can take minutes to start a server (PGlite compiles WASM).
  const hello = await ctx.startServer({ script: ['bench/lib/hello-world.ts', floorDb], readyPath: '/', env: {}, startTimeoutMs: 300_000 });
  // Shedding off: a benchmark saturates the loop on purpose (docs/limits.md). Prices from
  // the simulated provider: the machine has no internet, and with a provider that cannot be
  // reached every holdings request would measure the outage path, not a warm read.
  const server = await ctx.startServer({
    env: { ACCESS_TOKEN_TTL: '3600', SHED_EVENT_LOOP_DELAY_MS: '0', LOG_LEVEL: 'info', MARKET_DATA_PROVIDER: 'simulated', ...env },
    startTimeoutMs: 300_000,
  });
  const { token, portfolioId } = await seedHoldings(server.url);
  const auth = { authorization: `Bearer ${token}` };
  const outage = await ctx.startServer({
    env: { ACCESS_TOKEN_TTL: '3600', SHED_EVENT_LOOP_DELAY_MS: '0', LOG_LEVEL: 'info', ...outageEnv, ...UNREACHABLE_PROVIDER },
    startTimeoutMs: 300_000,
  });
  const outageSeed = await seedHoldings(outage.url);
  const route400 = await findValidatedRoute(server.url);
  if (route400 === undefined) throw new Error('no public POST route with a body schema answered 400 validation_failed');
  const targets: Target[] = [
    { label: 'hello-world (bare Fastify)', server: hello, options: { url: `${hello.url}/`, expectStatus: 200 } },
    { label: `hello-world + one ${floorDb === 'pglite' ? 'PGlite' : 'pg'} query`, server: hello, options: { url: `${hello.url}/query`, expectStatus: 200 } },
    // The yardstick's own slope: what N µs of handler work cost the server in all.
    ...WORK_US.map((us) => ({ label: `hello-world + ${us} µs of handler work`, server: hello, options: { url: `${hello.url}/work/${us}`, expectStatus: 200 } })),
    { label: 'GET /health/live', server, options: { url: `${server.url}/health/live`, expectStatus: 200 } },
    { label: 'GET /v1/me', server, options: { url: `${server.url}/v1/me`, headers: auth, expectStatus: 200 } },
    { label: 'GET /v1/portfolios', server, options: { url: `${server.url}/v1/portfolios`, headers: auth, expectStatus: 200 } },
    { label: 'GET /v1/portfolios/:id/holdings (50 tx, warm)', server, options: { url: `${server.url}/v1/portfolios/${portfolioId}/holdings`, headers: auth, expectStatus: 200 } },
    {
      label: 'GET /v1/portfolios/:id/holdings (50 tx, provider unreachable)',
      server: outage,
      options: { url: `${outage.url}/v1/portfolios/${outageSeed.portfolioId}/holdings`, headers: { authorization: `Bearer ${outageSeed.token}` }, expectStatus: 200 },
    },
    {
      label: `POST ${route400} (unknown property → 400)`,
      server,
      options: { url: `${server.url}${route400}`, method: 'POST', headers: { 'content-type': 'application/json' }, body: INVALID_BODY, expectStatus: 400 },
    },
  ];
  const samples = new Map<string, Sample[]>(targets.map((t) => [t.label, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const target of targets) {
      const s = await sample(target);
      samples.get(target.label)?.push(s);
      ctx.log(`${mode} round ${r + 1} ${target.label}: ${s.rps} req/s, ${round(s.cpuUsPerReq, 1)} µs CPU/req, p99 ${s.p99} ms`);
    }
  }
  const latencies = new Map<string, RateLatencyResult[]>(targets.map((t) => [t.label, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const target of targets) {
      const { url, method, headers, body, expectStatus } = target.options;
      const l = await measureLatencyAtRate({
        url,
        ...(method === 'POST' ? { method } : {}),
        ...(headers === undefined ? {} : { headers }),
        ...(body === undefined ? {} : { body }),
        expectStatus: expectStatus ?? 200,
        rate: LATENCY_RATE,
        durationS: DURATION_S,
        connections: LATENCY_CONNECTIONS,
      });
      latencies.get(target.label)?.push(l);
      ctx.log(`${mode} round ${r + 1} at ${LATENCY_RATE} req/s ${target.label}: p50 ${l.p50_us} µs, p99 ${l.p99_us} µs`);
    }
  }
  const helloLatencies = latencies.get(targets[0]?.label ?? '') ?? [];
  const helloSamples = samples.get(targets[0]?.label ?? '') ?? [];
  const helloCpu = mean(helloSamples.map((s) => s.cpuUsPerReq));
  const helloRps = mean(helloSamples.map((s) => s.rps));
  const helloP99 = mean(helloSamples.map((s) => s.p99));
  for (const target of targets) {
    const ss = samples.get(target.label) ?? [];
    // Per round, so both sides of a ratio saw the same machine state.
    const cpuRatios = ss.map((s, i) => (helloSamples[i]?.cpuUsPerReq ?? helloCpu) / s.cpuUsPerReq);
    const rpsRatios = ss.map((s, i) => s.rps / (helloSamples[i]?.rps ?? helloRps));
    const cpu = mean(ss.map((s) => s.cpuUsPerReq));
    const ls = latencies.get(target.label) ?? [];
    const p99Ratios = ls.map((l, i) => l.p99_us / (helloLatencies[i]?.p99_us ?? Number.NaN));
    // The median round: one host hiccup (a burst of requests delayed by tens of ms, seen
    // in single rounds of every target, hello-world included) moves a mean of p99s wholesale.
    const atRate = {
      rate: LATENCY_RATE,
      p50_us: Math.round(median(ls.map((l) => l.p50_us))),
      p99_us: Math.round(median(ls.map((l) => l.p99_us))),
      p99_ratio: round(median(p99Ratios), 2),
      rounds: ls,
    };
    ctx.record({
      name: `[${mode}] ${target.label}`,
      unit: 'req/s',
      throughput: Math.round(mean(ss.map((s) => s.rps))),
      p50_ms: 0,
      p99_ms: round(mean(ss.map((s) => s.p99)), 1),
      notes:
        `CPU ${round(cpu, 1)} µs/req; ratio to hello-world: CPU ${round(mean(cpuRatios), 3)} (rounds ${cpuRatios.map((x) => round(x, 2)).join(', ')}), ` +
        `throughput ${round(mean(rpsRatios), 3)}, ${p99Note(mean(ss.map((s) => s.p99)), helloP99)}; ${CONNECTIONS} connections, ${ROUNDS}×${DURATION_S} s. ` +
        `At ${LATENCY_RATE} req/s (median round): p50 ${atRate.p50_us} µs, p99 ${atRate.p99_us} µs, p99 ${atRate.p99_ratio}× hello-world's (rounds ${p99Ratios.map((x) => round(x, 2)).join(', ')})`,
      details: { mode, cpu_us_per_req: round(cpu, 1), cpu_ratio: round(mean(cpuRatios), 3), throughput_ratio: round(mean(rpsRatios), 3), rounds: ss, at_fixed_rate: atRate },
    });
  }
  await outage.stop();
  await server.stop();
  await hello.stop();
}

export async function run(ctx: BenchContext): Promise<void> {
  // BENCH_ONLY_POSTGRES=1 skips the PGlite mode (a quicker re-run of the scaled-out figures).
  if (process.env.BENCH_ONLY_POSTGRES !== '1') await runMode(ctx, 'PGlite', {}, {}, 'pglite');
  const databaseUrl = process.env.BENCH_DATABASE_URL;
  const redisUrl = process.env.BENCH_REDIS_URL;
  if (databaseUrl !== undefined && databaseUrl !== '' && redisUrl !== undefined && redisUrl !== '') {
    // A database of the benchmark's own, dropped afterwards (its seed user would collide with a re-run's).
    // The outage server gets a database and a Redis database of its own: sharing the quote
    // cache with the measured server (simulated prices) would hide its outage.
    const outageRedis = new URL(redisUrl);
    outageRedis.pathname = '/1';
    await withScratchDatabase(databaseUrl, (scratch) =>
      withScratchDatabase(databaseUrl, (outageScratch) =>
        runMode(ctx, 'PostgreSQL+Redis', { DATABASE_URL: scratch, REDIS_URL: redisUrl }, { DATABASE_URL: outageScratch, REDIS_URL: outageRedis.toString() }, scratch),
      ),
    );
  } else {
    ctx.log('BENCH_DATABASE_URL/BENCH_REDIS_URL not set: PostgreSQL + Redis mode skipped');
  }
}
