// Two or more builds of the server (checkouts of this repository, or the same checkout with
// different settings) loaded at the same moment, route by route: the server CPU per request
// of each, round after round. On a shared 2-core machine the CPU a request costs drifts by
// ±30 % from one minute to the next, which buries a change of a few percent when the builds
// are measured one after the other; loaded side by side, every build sees the same
// machine in every round, and "lower in k of n rounds" is a figure that drift cannot make.
//
//   node bench/side-by-side.ts [--postgres] [--rounds 8] [--seconds 3] [--routes live,me,holdings] \
//     before=/path/to/checkout after=. [warn=.@LOG_LEVEL=warn …]
//
// A build is `label=checkout`, optionally followed by `@NAME=value` settings for its server.
// Routes: live (/health/live), me (GET /v1/me), list (GET /v1/portfolios), holdings (warm
// holdings of the bench's 50-transaction portfolio), invalid (a login body its schema
// refuses: a 400). --postgres gives each build a scratch database next to
// BENCH_DATABASE_URL and BENCH_REDIS_URL (they share the Redis).
// A checkout needs its dependencies installed (or a node_modules link to these).
import path from 'node:path';
import { parseArgs } from 'node:util';
import { cpuSeconds } from './lib/cpu.ts';
import { measureHttp } from './lib/http.ts';
import { withScratchDatabase } from './lib/scratch-db.ts';
import { seedHoldings } from './lib/seed.ts';
import { startServer, type BenchServer } from './lib/server.ts';
import { median } from './lib/stats.ts';

const ROUTES: Record<string, (portfolioId: string) => string> = {
  live: () => '/health/live',
  me: () => '/v1/me',
  list: () => '/v1/portfolios',
  holdings: (portfolioId) => `/v1/portfolios/${portfolioId}/holdings`,
  invalid: () => '/v1/auth/login',
};
/** `invalid` posts a body its schema refuses (an unknown property): a 400 anyone can send. */
const INVALID = { method: 'POST' as const, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ bench_unknown_property: true }), expectStatus: 400 };
const CONNECTIONS_PER_BUILD = 10;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    postgres: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '8' },
    seconds: { type: 'string', default: '3' },
    routes: { type: 'string', default: 'live,me,holdings' },
  },
});
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const routes = values.routes.split(',');
for (const route of routes) if (!(route in ROUTES)) throw new Error(`unknown route ${route}; one of ${Object.keys(ROUTES).join(', ')}`);

interface Build {
  label: string;
  checkout: string;
  env: Record<string, string>;
}
const builds: Build[] = positionals.map((arg) => {
  const [label, rest] = arg.split(/=(.*)/s);
  if (label === undefined || rest === undefined) throw new Error(`a build is label=checkout[@NAME=value…], not ${arg}`);
  const [checkout = '.', ...settings] = rest.split('@');
  return { label, checkout: path.resolve(checkout), env: Object.fromEntries(settings.map((s) => s.split(/=(.*)/s).slice(0, 2) as [string, string])) };
});
if (builds.length < 2) throw new Error('give at least two builds');


interface Running {
  build: Build;
  server: BenchServer;
  token: string;
  portfolioId: string;
}

async function start(build: Build, env: Record<string, string>): Promise<Running> {
  const server = await startServer({
    script: [path.join(build.checkout, 'bin/financehub.js'), 'serve'],
    // As in the platform bench: shedding off, simulated prices, a token that outlives the run.
    env: { ACCESS_TOKEN_TTL: '3600', SHED_EVENT_LOOP_DELAY_MS: '0', LOG_LEVEL: 'info', MARKET_DATA_PROVIDER: 'simulated', ...env, ...build.env },
    startTimeoutMs: 300_000,
  });
  const { token, portfolioId } = await seedHoldings(server.url);
  return { build, server, token, portfolioId };
}

/** CPU µs per request of `route` on every build, all loaded at once. */
async function round(running: Running[], route: string): Promise<number[]> {
  return Promise.all(
    running.map(async ({ server, token, portfolioId }) => {
      const headers: Record<string, string> = route === 'live' ? {} : { authorization: `Bearer ${token}` };
      const options = {
        headers,
        url: `${server.url}${ROUTES[route]?.(portfolioId) ?? ''}`,
        connections: CONNECTIONS_PER_BUILD,
        warmupS: 0,
        expectStatus: 200,
        ...(route === 'invalid' ? INVALID : {}),
      };
      await measureHttp({ ...options, durationS: 1 });
      const before = cpuSeconds(server.pid);
      const result = await measureHttp({ ...options, durationS: seconds });
      return ((cpuSeconds(server.pid) - before) * 1e6) / Math.max(1, result.requests);
    }),
  );
}


async function measure(envOf: (build: Build, index: number) => Promise<Record<string, string>>): Promise<void> {
  const running: Running[] = [];
  try {
    for (const [index, build] of builds.entries()) running.push(await start(build, await envOf(build, index)));
    const samples = new Map(routes.map((route) => [route, builds.map(() => [] as number[])]));
    for (let r = 0; r < rounds; r++) {
      for (const route of routes) {
        const costs = await round(running, route);
        costs.forEach((cost, i) => samples.get(route)?.[i]?.push(cost));
        console.error(`round ${r + 1} ${route}: ${costs.map((c, i) => `${builds[i]?.label} ${c.toFixed(1)} µs`).join(', ')}`);
      }
    }
    console.log(`| route | ${builds.map((b) => `${b.label}: median µs CPU/request (rounds)`).join(' | ')} | rounds lower than ${builds[0]?.label} |`);
    console.log(`|---|${builds.map(() => '---').join('|')}|---|`);
    for (const route of routes) {
      const perBuild = samples.get(route) ?? [];
      const first = perBuild[0] ?? [];
      const lower = perBuild.slice(1).map((xs, i) => `${builds[i + 1]?.label} ${xs.filter((x, k) => x < (first[k] ?? Number.NaN)).length} of ${xs.length}`);
      console.log(`| ${route} | ${perBuild.map((xs) => `${median(xs).toFixed(1)} (${xs.map((x) => x.toFixed(0)).join(', ')})`).join(' | ')} | ${lower.join('; ')} |`);
    }
  } finally {
    for (const { server } of running) await server.stop();
  }
}

if (values.postgres) {
  const databaseUrl = process.env.BENCH_DATABASE_URL;
  const redisUrl = process.env.BENCH_REDIS_URL;
  if (databaseUrl === undefined || redisUrl === undefined) throw new Error('--postgres needs BENCH_DATABASE_URL and BENCH_REDIS_URL');
  // One scratch database per build: each seeds the same user.
  const nest = async (index: number, urls: string[]): Promise<void> => {
    if (index === builds.length) return measure((_build, i) => Promise.resolve({ DATABASE_URL: urls[i] ?? '', REDIS_URL: redisUrl }));
    await withScratchDatabase(databaseUrl, (url) => nest(index + 1, [...urls, url]));
  };
  await nest(0, []);
} else {
  await measure(() => Promise.resolve({}));
}
