// Where a request's CPU goes: starts the real server under `node --cpu-prof`, loads one
// route at a time with autocannon (20 connections), stops the server so V8 writes the
// profile, and sums the profile's self time per category (token verification, logging,
// Fastify, the database driver, Redis, …) divided by the requests served: microseconds of
// main-thread CPU per request, by where they were spent. On PostgreSQL + Redis it also
// counts, per request, the database transactions (pg_stat_database.xact_commit of the
// server's own database) and the Redis commands (INFO stats total_commands_processed),
// which is what the per-request round trips are.
//
//   node bench/profile-routes.ts [seconds]                 # PGlite
//   BENCH_DATABASE_URL=postgres://… BENCH_REDIS_URL=redis://… node bench/profile-routes.ts
//
// It prints a Markdown table per route; docs/performance.md keeps the figures.
import { readdirSync, readFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { measureHttp } from './lib/http.ts';
import { startServer, type BenchServer } from './lib/server.ts';
import { BIN } from '../test/helpers/processes.ts';
import { withScratchDatabase } from './lib/scratch-db.ts';

const SECONDS = Number(process.argv[2] ?? 5);

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Categories in order: the first whose test matches a frame's URL or name wins. */
const CATEGORIES: Array<[string, (url: string, fn: string) => boolean]> = [
  ['garbage collection', (_u, fn) => fn === '(garbage collector)'],
  ['idle', (_u, fn) => fn === '(idle)' || fn === '(program)'],
  ['token verification (EdDSA, hashing)', (u, fn) => /modules\/auth\/(tokens|keys)/.test(u) || /verify|subtle|webcrypto/i.test(fn)],
  ['auth guard, sessions, users', (u) => /modules\/(auth|users)\//.test(u)],
  ['rate limits, quota', (u) => /platform\/limits\//.test(u)],
  ['logging (pino)', (u) => /pino|sonic-boom|platform\/logger/.test(u)],
  ['metrics (prom-client), stall gauges', (u) => /prom-client|platform\/metrics/.test(u)],
  ['request context, ids, headers, shedding', (u) => /platform\/(http|context)/.test(u)],
  ['PGlite', (u) => /pglite/.test(u)],
  ['pg driver', (u) => /node_modules\/pg(-[a-z]+)?\//.test(u)],
  ['Redis client', (u) => /ioredis|redis-parser|cluster-key-slot|denque/.test(u)],
  ['serialization (fast-json-stringify)', (u) => /fast-json-stringify|json-schema-ref|serializ/.test(u)],
  ['validation (ajv)', (u) => /ajv|typebox/.test(u)],
  ['CORS', (u) => /@fastify\/cors/.test(u)],
  ['Fastify core', (u) => /node_modules\/(fastify|find-my-way|avvio|light-my-request|@fastify)\//.test(u)],
  ['route handlers, services', (u) => /\/src\/modules\//.test(u)],
  ['money engine', (u) => /\/src\/money\//.test(u)],
  ['other app code', (u) => /\/src\//.test(u)],
  ['node: http, net, streams', (u) => /^node:(_http|http|net|stream|internal\/(http|streams|stream_base|net))/.test(u)],
  ['node: async hooks, timers', (u) => /^node:(async_hooks|internal\/(async_|timers|process\/task))/.test(u)],
  ['node: other', (u) => u.startsWith('node:')],
  ['other (native, builtins)', () => true],
];

/**
 * Self time in µs per category, of the samples taken between `from` and `to` (µs on the
 * monotonic clock V8 stamps samples with, the same as `process.hrtime`). Native frames are
 * charged to the nearest JavaScript caller's category. Also returns the top functions.
 */
function summarise(profile: Profile, from: number, to: number): { totals: Map<string, number>; top: Array<[string, number]> } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const categoryOf = new Map<number, string>();
  const classify = (id: number): string => {
    const cached = categoryOf.get(id);
    if (cached !== undefined) return cached;
    const node = byId.get(id);
    let category = 'other (native, builtins)';
    if (node !== undefined) {
      const { url, functionName } = node.callFrame;
      if (url === '' && !functionName.startsWith('(')) {
        const p = parent.get(id);
        category = p === undefined ? category : classify(p);
      } else {
        category = CATEGORIES.find(([, test]) => test(url, functionName))?.[0] ?? category;
      }
    }
    categoryOf.set(id, category);
    return category;
  };
  const totals = new Map<string, number>();
  const functions = new Map<string, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at < from || at > to) return;
    const c = classify(id);
    totals.set(c, (totals.get(c) ?? 0) + delta);
    const frame = byId.get(id)?.callFrame;
    const name = frame === undefined ? '?' : `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/src\//, 'src/')}:${frame.lineNumber + 1}`;
    functions.set(name, (functions.get(name) ?? 0) + delta);
  });
  const top = [...functions].sort((a, b) => b[1] - a[1]).slice(0, 25);
  return { totals, top };
}

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

interface RouteCase {
  label: string;
  /** Another program than `financehub serve` (the hello-world yardstick). */
  script?: string[];
  path: string;
  method?: 'GET' | 'POST';
  body?: string;
  auth: boolean;
  status: number;
}

async function seed(url: string): Promise<{ token: string; portfolioId: string }> {
  const headers = { 'content-type': 'application/json' };
  const credentials = { email: 'profile@example.test', password: 'Fh7-profile-Pl4tf0rmQz8KpW' };
  await fetch(`${url}/v1/auth/register`, { method: 'POST', headers, body: JSON.stringify(credentials) });
  const login = (await (await fetch(`${url}/v1/auth/login`, { method: 'POST', headers, body: JSON.stringify(credentials) })).json()) as { access_token: string };
  const auth = { ...headers, authorization: `Bearer ${login.access_token}` };
  const portfolio = (await (await fetch(`${url}/v1/portfolios`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'p', base_currency: 'USD' }) })).json()) as { id: string };
  const post = (body: object) => fetch(`${url}/v1/portfolios/${portfolio.id}/transactions`, { method: 'POST', headers: auth, body: JSON.stringify(body) });
  await post({ type: 'deposit', amount: '1000000.00', currency: 'USD', executed_at: '2024-01-02T00:00:00Z' });
  const symbols = ['AAPL', 'MSFT', 'GOOGL', 'AMZN', 'NVDA'];
  for (let i = 1; i < 50; i++) {
    const sell = i % 7 === 0;
    const day = String(1 + (i % 28)).padStart(2, '0');
    const month = String(2 + Math.floor(i / 28)).padStart(2, '0');
    await post({ type: sell ? 'sell' : 'buy', symbol: symbols[i % 5], quantity: sell ? '1' : '3', price: `${100 + i}.25`, currency: 'USD', executed_at: `2024-${month}-${day}T15:00:00Z` });
  }
  return { token: login.access_token, portfolioId: portfolio.id };
}

async function counters(databaseUrl: string | undefined, redis: Redis | undefined): Promise<{ xacts: number; commands: number }> {
  let xacts = 0;
  let commands = 0;
  if (databaseUrl !== undefined) {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    const { rows } = await client.query<{ n: string }>('SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()');
    await client.query('SELECT pg_stat_clear_snapshot()');
    await client.end();
    xacts = Number(rows[0]?.n ?? 0);
  }
  if (redis !== undefined) {
    const info = await redis.info('stats');
    commands = Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? 0);
  }
  return { xacts, commands };
}

async function profileRoute(route: RouteCase, env: Record<string, string>, databaseUrl: string | undefined, redisUrl: string | undefined): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'financehub-prof-'));
  const server: BenchServer = await startServer({
    script: ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=100', ...(route.script ?? [BIN, 'serve'])],
    ...(route.script === undefined ? {} : { readyPath: '/' }),
    env: { ACCESS_TOKEN_TTL: '3600', SHED_EVENT_LOOP_DELAY_MS: '0', LOG_LEVEL: 'info', MARKET_DATA_PROVIDER: 'simulated', ...env },
    startTimeoutMs: 300_000,
  });
  const { token, portfolioId } = route.script === undefined ? await seed(server.url) : { token: '', portfolioId: '' };
  const url = `${server.url}${route.path.replace(':id', portfolioId)}`;
  const options = {
    url,
    method: route.method ?? 'GET',
    headers: { ...(route.auth ? { authorization: `Bearer ${token}` } : {}), ...(route.body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(route.body === undefined ? {} : { body: route.body }),
    expectStatus: route.status,
    connections: 20,
    warmupS: 0,
  } as const;
  const redis = redisUrl === undefined ? undefined : new Redis(redisUrl);
  await measureHttp({ ...options, durationS: 2 }); // warm-up, outside the window
  const before = await counters(databaseUrl, redis);
  const from = nowUs();
  const result = await measureHttp({ ...options, warmupS: 0, durationS: SECONDS });
  const to = nowUs();
  const after = await counters(databaseUrl, redis);
  redis?.disconnect();
  await server.stop();
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (file === undefined) throw new Error(`no profile written in ${dir}`);
  const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Profile;
  // Only the measured window's samples, divided by the requests of that window.
  const requests = result.requests;
  const { totals, top } = summarise(profile, from, to);
  const busy = [...totals].filter(([c]) => c !== 'idle').reduce((a, [, us]) => a + us, 0);
  console.log(`\n### ${route.label} — ${result.requests_per_sec} req/s, ${Math.round(busy / requests)} µs CPU/req (profile), p99 ${result.p99_ms} ms`);
  if (databaseUrl !== undefined || redisUrl !== undefined) {
    const n = Math.max(1, result.requests);
    console.log(`per request: ${((after.xacts - before.xacts) / n).toFixed(3)} database transactions, ${((after.commands - before.commands) / n).toFixed(3)} Redis commands`);
  }
  console.log('| where | µs/req | share |\n|---|---:|---:|');
  for (const [category, us] of [...totals].filter(([c]) => c !== 'idle').sort((a, b) => b[1] - a[1])) {
    if (us / busy < 0.005) continue;
    console.log(`| ${category} | ${(us / requests).toFixed(1)} | ${((100 * us) / busy).toFixed(1)} % |`);
  }
  if (process.env.PROFILE_TOP === '1') {
    console.log('\ntop functions (self time):');
    for (const [name, us] of top) console.log(`  ${(us / requests).toFixed(1).padStart(7)} µs/req  ${name}`);
  }
}

const ROUTES: RouteCase[] = [
  { label: 'hello-world (bare Fastify)', script: ['bench/lib/hello-world.ts'], path: '/', auth: false, status: 200 },
  { label: 'GET /health/live', path: '/health/live', auth: false, status: 200 },
  { label: 'GET /v1/me', path: '/v1/me', auth: true, status: 200 },
  { label: 'GET /v1/portfolios', path: '/v1/portfolios', auth: true, status: 200 },
  { label: 'GET /v1/portfolios/:id/holdings (50 tx, warm)', path: '/v1/portfolios/:id/holdings', auth: true, status: 200 },
  { label: 'POST /v1/auth/login (unknown property → 400)', path: '/v1/auth/login', method: 'POST', body: '{"bench_unknown_property":true}', auth: false, status: 400 },
];

const only = process.env.PROFILE_ROUTES?.split(',');
const routes = ROUTES.filter((r) => only === undefined || only.some((o) => r.label.includes(o)));
const databaseUrl = process.env.BENCH_DATABASE_URL;
const redisUrl = process.env.BENCH_REDIS_URL;
if (databaseUrl !== undefined && redisUrl !== undefined) {
  await withScratchDatabase(databaseUrl, async (scratch) => {
    console.log(`## PostgreSQL + Redis (${SECONDS} s per route)`);
    for (const route of routes) await profileRoute(route, { DATABASE_URL: scratch, REDIS_URL: redisUrl }, scratch, redisUrl);
  });
} else {
  console.log(`## PGlite (${SECONDS} s per route)`);
  for (const route of routes) await profileRoute(route, {}, undefined, undefined);
}
