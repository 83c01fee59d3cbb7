// What the guarantees around a read cost the server, measured by taking them out. A copy of
// the code with bench/guarantee-costs.patch applied skips one app-wide hook per switch in
// ABLATE (never part of the product: the patch lives here only). This script runs that
// copy, one server per variant, and loads one server at a time, with the bare hello-world
// re-run before every route of every round; the server's CPU per request comes from /proc.
// Variants: nothing out (twice: the spread between the two is the run's noise), the request
// line sampled (LOG_REQUESTS=sampled, a real setting), each --parts switch alone, and every
// switch at once with the line sampled. docs/performance.md (twelfth pass) keeps the figures.
//
//   git worktree add /tmp/costs HEAD && git -C /tmp/costs apply bench/guarantee-costs.patch
//   ln -s "$PWD/node_modules" /tmp/costs/node_modules
//   node bench/guarantee-costs.ts /tmp/costs [--postgres] [--rounds 5] [--seconds 4] \
//     [--routes live,me,holdings] [--parts quota,security,cors,nostore,limits,shed,context,metrics+drain]
//
// Switches (ABLATE, comma-separated): quota (the daily request count and its RateLimit
// headers), security (security headers), cors, nostore (Cache-Control on API answers),
// limits (the rate limits' app-wide hooks), shed (the load-shedding check), context (request
// id and its async context), metrics, drain. --postgres gives every server a scratch database
// next to BENCH_DATABASE_URL and the Redis at BENCH_REDIS_URL.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { cpuSeconds } from './lib/cpu.ts';
import { measureHttp } from './lib/http.ts';
import { withScratchDatabase } from './lib/scratch-db.ts';
import { seedHoldings } from './lib/seed.ts';
import { ROOT, startServer, type BenchServer } from './lib/server.ts';
import { mean, median } from './lib/stats.ts';

const SWITCHES = ['quota', 'security', 'cors', 'nostore', 'limits', 'shed', 'context', 'metrics', 'drain'];
const ROUTES: Record<string, (portfolioId: string) => string> = {
  live: () => '/health/live',
  me: () => '/v1/me',
  holdings: (portfolioId) => `/v1/portfolios/${portfolioId}/holdings`,
};

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    postgres: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '4' },
    routes: { type: 'string', default: 'live,me,holdings' },
    parts: { type: 'string', default: '' },
  },
});
const checkout = positionals[0];
if (checkout === undefined) throw new Error('give the patched checkout: node bench/guarantee-costs.ts /path/to/checkout');
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const routes = values.routes.split(',');
for (const route of routes) if (!(route in ROUTES)) throw new Error(`unknown route ${route}; one of ${Object.keys(ROUTES).join(', ')}`);
// A part is one switch or several joined by '+' (measured together).
const parts = values.parts === '' ? [] : values.parts.split(',');
for (const part of parts) for (const s of part.split('+')) if (!SWITCHES.includes(s)) throw new Error(`unknown switch ${s}; one of ${SWITCHES.join(', ')}`);

const VARIANTS: Array<{ label: string; env: Record<string, string> }> = [
  { label: 'nothing out', env: {} },
  { label: 'nothing out (a second server)', env: {} },
  { label: 'request line sampled', env: { LOG_REQUESTS: 'sampled' } },
  ...parts.map((part) => ({ label: part, env: { ABLATE: part.replaceAll('+', ',') } })),
  { label: 'every switch, and the request line sampled', env: { ABLATE: SWITCHES.join(','), LOG_REQUESTS: 'sampled' } },
];


/** Server CPU µs per request of `url`, 20 connections, after a second of warm-up. */
async function cpuPerRequest(server: BenchServer, url: string, headers: Record<string, string>): Promise<number> {
  const options = { url, headers, connections: 20, warmupS: 0, expectStatus: 200 };
  await measureHttp({ ...options, durationS: 1 });
  const before = cpuSeconds(server.pid);
  const result = await measureHttp({ ...options, durationS: seconds });
  return ((cpuSeconds(server.pid) - before) * 1e6) / Math.max(1, result.requests);
}

async function measure(databaseUrls: string[]): Promise<void> {
  const hello = await startServer({ script: [path.join(ROOT, 'bench/lib/hello-world.ts')], readyPath: '/' });
  const running: Array<{ label: string; server: BenchServer; token: string; portfolioId: string }> = [];
  try {
    for (const [i, variant] of VARIANTS.entries()) {
      const database: Record<string, string> = values.postgres ? { DATABASE_URL: databaseUrls[i] ?? '', REDIS_URL: process.env.BENCH_REDIS_URL ?? '' } : {};
      const server = await startServer({
        script: [path.join(path.resolve(checkout ?? '.'), 'bin/financehub.js'), 'serve'],
        // As in the platform bench: shedding by delay off, simulated prices, a token that outlives the run.
        env: { ACCESS_TOKEN_TTL: '3600', SHED_EVENT_LOOP_DELAY_MS: '0', LOG_LEVEL: 'info', MARKET_DATA_PROVIDER: 'simulated', ...database, ...variant.env },
        startTimeoutMs: 300_000,
      });
      running.push({ label: variant.label, server, ...(await seedHoldings(server.url)) });
    }
    const costs = new Map<string, number[]>();
    const ratios = new Map<string, number[]>();
    const add = (map: Map<string, number[]>, key: string, value: number) => map.set(key, [...(map.get(key) ?? []), value]);
    for (let r = 0; r < rounds; r++) {
      for (const route of routes) {
        const helloCost = await cpuPerRequest(hello, `${hello.url}/`, {});
        add(costs, `${route} hello`, helloCost);
        for (const { label, server, token, portfolioId } of running) {
          const cost = await cpuPerRequest(server, `${server.url}${ROUTES[route]?.(portfolioId) ?? ''}`, route === 'live' ? {} : { authorization: `Bearer ${token}` });
          add(costs, `${route} ${label}`, cost);
          add(ratios, `${route} ${label}`, helloCost / cost);
          console.error(`round ${r + 1} ${route} ${label}: ${cost.toFixed(1)} µs (hello-world ${helloCost.toFixed(1)})`);
        }
      }
    }
    for (const route of routes) {
      console.log(`\n${values.postgres ? 'PostgreSQL + Redis' : 'PGlite'}, ${ROUTES[route]?.(':id')}: hello-world ${median(costs.get(`${route} hello`) ?? []).toFixed(1)} µs of CPU a request (median)`);
      console.log('| taken out | µs of CPU (median) | saved | CPU ratio to hello-world (mean; rounds) |\n|---|---:|---:|---|');
      const base = median(costs.get(`${route} nothing out`) ?? []);
      for (const { label } of VARIANTS) {
        const cost = median(costs.get(`${route} ${label}`) ?? []);
        const rs = ratios.get(`${route} ${label}`) ?? [];
        console.log(`| ${label} | ${cost.toFixed(1)} | ${label === 'nothing out' ? '—' : (base - cost).toFixed(1)} | ${mean(rs).toFixed(3)} (${rs.map((x) => x.toFixed(2)).join(', ')}) |`);
      }
    }
  } finally {
    await hello.stop();
    for (const { server } of running) await server.stop();
  }
}

if (values.postgres) {
  const databaseUrl = process.env.BENCH_DATABASE_URL;
  if (databaseUrl === undefined || process.env.BENCH_REDIS_URL === undefined) throw new Error('--postgres needs BENCH_DATABASE_URL and BENCH_REDIS_URL');
  const nest = async (index: number, urls: string[]): Promise<void> => {
    if (index === VARIANTS.length) return measure(urls);
    await withScratchDatabase(databaseUrl, (url) => nest(index + 1, [...urls, url]));
  };
  await nest(0, []);
} else {
  await measure([]);
}
