// `npm run bench -- stalls`: the stall budget (FAIL-023). For every route of the app at its
// allowed maximum input, the longest event-loop stall it causes in the server process, read from
// the server's own monitor (`financehub_event_loop_stall_max_seconds` on /metrics: the
// longest delay since the previous scrape). Each case: scrape (resets the peak), let the
// monitor tick, send the request alone and read its whole answer, let the monitor tick,
// scrape again. Target: under 100 ms each. The figure is how late the monitor's 10 ms tick
// ran, so it may understate a stall by up to one tick period (10 ms): a verdict within 10 ms
// of the target deserves a second look. Each case also records the same peak in CPU time (`financehub_event_loop_stall_cpu_max_seconds`: the most main-thread CPU
// between two turns of the loop), which a loaded machine does not inflate; the verdict
// (under/OVER) is on the wall figure, the CPU figure says how much of it was the server's work.
//
// The route list comes from the server itself (bench/lib/route-recorder.ts records what
// Fastify registers), so a route no case drives is listed as such in the results. The
// cases live in groups (bench/lib/stalls-*.ts); a case that fails is recorded as FAILED and
// its routes count as not driven. Routes that enqueue a job are measured until the job is
// done; deletions run last, on data made for them.
//
// Modes: PGlite always; PostgreSQL (and Redis when given) when BENCH_DATABASE_URL or
// TEST_DATABASE_URL (BENCH_REDIS_URL or TEST_REDIS_URL) is set. For a short sanity run:
// BENCH_STALLS_ROWS=2000 BENCH_STALLS_REPEAT=1 (the defaults, 50,000 and 3, are the maxima);
// BENCH_ONLY_POSTGRES=1 runs the PostgreSQL mode alone.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { apiClient } from './lib/api.ts';
import type { BenchContext } from './lib/context.ts';
import { withScratchDatabase } from './lib/scratch-db.ts';
import { ROOT } from './lib/server.ts';
import { measureCases, notDriven, readRecordedRoutes, recordingServe, type Case, type CaseGroup, type StallsFixture } from './lib/stalls.ts';
import { accountCases } from './lib/stalls-account.ts';
import { marketCases } from './lib/stalls-market.ts';
import { platformCases } from './lib/stalls-platform.ts';
import { portfolioCases } from './lib/stalls-portfolios.ts';
import { templateCases } from './lib/stalls-templates.ts';

export const description =
  'Longest event-loop stall (monitorEventLoopDelay max, measured in the server process) caused by every route of the app at its allowed maximum input, one request at a time; target < 100 ms each; PGlite, and PostgreSQL (+ Redis) when BENCH_DATABASE_URL/TEST_DATABASE_URL are set.';

const ROWS = Number(process.env.BENCH_STALLS_ROWS ?? 50_000);
const REPEAT = Number(process.env.BENCH_STALLS_REPEAT ?? 3);
const HEAVY_REPEAT = Math.min(REPEAT, Number(process.env.BENCH_STALLS_HEAVY_REPEAT ?? 1));
const METRICS_TOKEN = 'stalls-bench-metrics-token-0123456789';
const ADMIN = { email: 'admin@bench.test', password: 'Bench-Admin-Passw0rd-9f3k' };
const PASSWORD = 'Fh7-bench-user-Passw0rd-q8Z';
/** The largest body the JSON import takes (IMPORT_BODY_LIMIT_BYTES' default). */
const IMPORT_LIMIT = 10_485_760;

/** The costliest columns to render (Bollinger: a square root per value), at the per-request cap with limit=5000. */
const WORST_INDICATORS = 'bbands:20:2,bbands:100:2,bbands:500:2,bbands:1000:2';

function transactionsCsv(rows: number): string {
  const lines = ['date,symbol,type,qty,price,fee,currency,fx_rate,note,amount,ratio', '2000-01-03,,deposit,,,,,,,100000000,'];
  for (let i = 1; i < rows; i++) {
    const day = new Date(Date.UTC(2000, 0, 4) + Math.floor(i / 10) * 86_400_000).toISOString().slice(0, 10);
    lines.push(i % 2 === 1 ? `${day},SYM${i % 40},buy,3,${10 + (i % 90)}.25,1,,,,,` : `${day},SYM${(i - 1) % 40},sell,1,${11 + (i % 90)}.5,,,,,,`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The server's configuration beyond the embedded defaults (PGlite, one process), and why:
 * the simulated provider (no internet; its 15 demo symbols are all a market route can
 * name), no cron schedules (their runs would land in other rows' windows), jobs polled every
 * 500 ms and never retried (the set-up's ~500 jobs finish in about a minute, and a failed
 * webhook delivery goes straight to the dead-letter queue), webhooks to a local port allowed.
 */
const SERVER_ENV = {
  METRICS_TOKEN,
  ADMIN_EMAIL: ADMIN.email,
  ADMIN_PASSWORD: ADMIN.password,
  MARKET_DATA_PROVIDER: 'simulated',
  SCHEDULES_ENABLED: 'false',
  JOBS_POLL_INTERVAL_MS: '500',
  JOBS_RETRY_LIMIT: '0',
  ALERTS_WEBHOOK_ALLOW_HTTP: 'true',
  ALERTS_WEBHOOK_ALLOW_PRIVATE: 'true',
  ACCESS_TOKEN_TTL: '3600',
  SHED_EVENT_LOOP_DELAY_MS: '0',
  LOG_LEVEL: 'warn',
};

async function runMode(ctx: BenchContext, mode: string, env: Record<string, string>): Promise<void> {
  const started = Date.now();
  const log = (message: string) => ctx.log(`${message} [${Math.round((Date.now() - started) / 1000)} s]`);
  const routesFile = path.join(os.tmpdir(), `financehub-stalls-routes-${randomUUID()}.json`);
  const server = await ctx.startServer({ script: recordingServe(), env: { ...env, ...SERVER_ENV, BENCH_ROUTES_FILE: routesFile }, startTimeoutMs: 300_000 });
  const appRoutes = readRecordedRoutes(routesFile);
  const api = apiClient(server.url);
  const email = `stalls-${randomUUID()}@bench.test`;
  const { id: userId } = await api.json<{ id: string }>('POST', '/v1/auth/register', undefined, 201, { email, password: PASSWORD });
  const admin = (await api.login(ADMIN.email, ADMIN.password)).access_token;
  // The pro tier: the largest caps (alerts, templates, sockets, portfolios) are the maxima measured.
  await api.json('PATCH', `/v1/admin/users/${userId}`, admin, 200, { tier: 'pro' });
  const token = (await api.login(email, PASSWORD)).access_token;
  const newPortfolio = async () => (await api.json<{ id: string }>('POST', '/v1/portfolios', token, 201, { name: `P ${randomUUID().slice(0, 6)}`, base_currency: 'USD' })).id;

  log(`${mode}: seeding ${ROWS} transactions and the TTRC price history …`);
  const csv = transactionsCsv(ROWS);
  const big = await newPortfolio();
  await api.json('POST', `/v1/portfolios/${big}/transactions/import`, token, 201, csv, { type: 'text/csv' });
  const old = await newPortfolio();
  await api.json('POST', `/v1/portfolios/${old}/transactions`, token, 201, { type: 'deposit', amount: '1000', executed_at: '1900-01-01' });
  const ttrc = readFileSync(path.join(ROOT, 'test/fixtures/ttrc.csv'), 'utf8');
  await api.json('POST', '/v1/admin/market/prices/TTRC/import', admin, 200, ttrc, { type: 'text/csv' });
  // The largest export document the JSON import takes: transactions trimmed until it fits.
  const exported = await api.json<{ portfolios: Array<{ name: string; transactions: unknown[] }> }>('GET', '/v1/export', token, 200);
  const source = exported.portfolios.find((p) => p.transactions.length >= ROWS) ?? exported.portfolios[0]!;
  let keep = source.transactions.length;
  let doc = '';
  for (;;) {
    doc = JSON.stringify({ format: 'financehub.export', version: 1, portfolios: [{ ...source, id: undefined, transactions: source.transactions.slice(0, keep) }] });
    if (Buffer.byteLength(doc) <= IMPORT_LIMIT - 1024) break;
    keep = Math.floor(keep * 0.9);
  }

  const fixture: StallsFixture = {
    mode,
    server,
    api,
    user: { id: userId, email, password: PASSWORD, token },
    admin,
    big,
    old,
    rows: ROWS,
    csv,
    repeat: REPEAT,
    heavyRepeat: HEAVY_REPEAT,
    metricsToken: METRICS_TOKEN,
    log,
  };
  // Portfolios the CSV import case fills; the portfolio DELETE case removes them at the end.
  const imported: string[] = [];
  let portfolioForImport = '';
  let coldRuns = 1;
  const original: Case[] = [
    { label: 'GET /health/live (baseline)', routes: ['GET /health/live'], send: () => api.call('GET', '/health/live', undefined), expect: [200] },
    {
      label: 'POST /v1/auth/register (password "1" × 256, the worst strength-check input)',
      routes: ['POST /v1/auth/register'],
      send: () => api.call('POST', '/v1/auth/register', undefined, { email: `w-${randomUUID()}@bench.test`, password: '1'.repeat(256) }),
      expect: [400, 422],
    },
    { label: 'POST /v1/auth/login (argon2id)', routes: ['POST /v1/auth/login'], send: () => api.call('POST', '/v1/auth/login', undefined, { email, password: PASSWORD }), expect: [200] },
    { label: 'GET /v1/me/quota', routes: ['GET /v1/me/quota'], send: () => api.call('GET', '/v1/me/quota', token), expect: [200] },
    { label: 'GET /v1/portfolios', routes: ['GET /v1/portfolios'], send: () => api.call('GET', '/v1/portfolios', token), expect: [200] },
    {
      label: 'POST /v1/portfolios/:id/transactions (into the large portfolio: replay check)',
      routes: ['POST /v1/portfolios/:id/transactions'],
      send: () => api.call('POST', `/v1/portfolios/${old}/transactions`, token, { type: 'deposit', amount: '1', executed_at: '2001-01-01' }),
      expect: [201],
    },
    {
      label: `POST /v1/portfolios/:id/transactions/import (${ROWS.toLocaleString('en-US')} CSV rows)`,
      routes: ['POST /v1/portfolios/:id/transactions/import'],
      prepare: async () => {
        portfolioForImport = await newPortfolio();
        imported.push(portfolioForImport);
      },
      send: () => api.call('POST', `/v1/portfolios/${portfolioForImport}/transactions/import`, token, csv, { type: 'text/csv' }),
      expect: [201],
    },
    {
      label: 'GET /v1/portfolios/:id/transactions?limit=500',
      routes: ['GET /v1/portfolios/:id/transactions'],
      send: () => api.call('GET', `/v1/portfolios/${big}/transactions?limit=500`, token),
      expect: [200],
    },
    {
      label: `GET /v1/portfolios/:id/holdings (${ROWS.toLocaleString('en-US')} transactions)`,
      routes: ['GET /v1/portfolios/:id/holdings'],
      send: () => api.call('GET', `/v1/portfolios/${big}/holdings`, token),
      expect: [200],
    },
    {
      label: `GET /v1/portfolios/:id/performance?range=max (${ROWS.toLocaleString('en-US')} transactions)`,
      routes: ['GET /v1/portfolios/:id/performance'],
      send: () => api.call('GET', `/v1/portfolios/${big}/performance?range=max`, token),
      expect: [200],
    },
    {
      label: 'GET /v1/portfolios/:id/performance?range=max (deposit on 1900-01-01)',
      routes: ['GET /v1/portfolios/:id/performance'],
      send: () => api.call('GET', `/v1/portfolios/${old}/performance?range=max`, token),
      expect: [200],
    },
    { label: 'GET /v1/dashboard', routes: ['GET /v1/dashboard'], send: () => api.call('GET', '/v1/dashboard', token), expect: [200] },
    { label: 'GET /v1/export (every portfolio)', routes: ['GET /v1/export'], send: () => api.call('GET', '/v1/export', token), expect: [200] },
    {
      label: `POST /v1/import (${(Buffer.byteLength(doc) / 1_048_576).toFixed(1)} MiB, ${keep.toLocaleString('en-US')} transactions)`,
      routes: ['POST /v1/import'],
      send: () => api.call('POST', '/v1/import', token, doc),
      expect: [201],
    },
    {
      label: 'POST /v1/admin/market/prices/:symbol/import (ttrc.csv, 5,550 bars)',
      routes: ['POST /v1/admin/market/prices/:symbol/import'],
      send: () => api.call('POST', '/v1/admin/market/prices/TTRC/import', admin, ttrc, { type: 'text/csv' }),
      expect: [200],
    },
    {
      label: 'GET /v1/market/candles/:symbol?limit=5000',
      routes: ['GET /v1/market/candles/:symbol'],
      send: () => api.call('GET', '/v1/market/candles/TTRC?interval=1d&limit=5000', token),
      expect: [200],
    },
    {
      label: 'GET /v1/market/indicators/:symbol?limit=5000 (4 Bollinger bands up to period 1000: 12 columns × 5,000 = 60,000 values, the cap; cold)',
      routes: ['GET /v1/market/indicators/:symbol'],
      // A new `to` each time: a bar series never asked before, so nothing is cached.
      send: () => api.call('GET', `/v1/market/indicators/TTRC?interval=1d&limit=5000&indicators=${WORST_INDICATORS}&to=2006-12-${String(18 + (coldRuns++ % 10)).padStart(2, '0')}`, token),
      expect: [200],
    },
    {
      label: 'GET /v1/market/indicators/:symbol?limit=5000 (same request again: cached columns)',
      routes: ['GET /v1/market/indicators/:symbol'],
      send: () => api.call('GET', `/v1/market/indicators/TTRC?interval=1d&limit=5000&indicators=${WORST_INDICATORS}&to=2006-12-18`, token),
      expect: [200],
    },
    {
      label: 'GET /v1/market/candles/:symbol?interval=1w&limit=5000',
      routes: ['GET /v1/market/candles/:symbol'],
      send: () => api.call('GET', '/v1/market/candles/TTRC?interval=1w&limit=5000', token),
      expect: [200],
    },
    { label: 'GET /openapi.json', routes: ['GET /openapi.json'], send: () => api.call('GET', '/openapi.json', undefined), expect: [200] },
  ];

  // The alerts first: they fire on the first quotes of their symbols, which later set-ups ask for.
  const groups: CaseGroup[] = [];
  for (const build of [marketCases, accountCases, (f: StallsFixture) => portfolioCases(f, imported), templateCases, platformCases]) groups.push(await build(fixture));
  log(`${mode}: waiting for the set-up's background jobs …`);
  for (const group of groups) await group.ready;

  const cases = [...original, ...groups.flatMap((g) => g.cases), ...groups.flatMap((g) => g.late ?? [])];
  log(`${mode}: measuring ${cases.length} cases over ${appRoutes.length} registered routes …`);
  const driven = await measureCases(ctx, server, { mode, repeat: REPEAT, metricsToken: METRICS_TOKEN }, cases);

  // Routes no case drove (or whose case failed), read from the server's own route table, so
  // the table never claims more than it measured and a new route shows up here by itself.
  const { missing, total, headTwins } = notDriven(appRoutes, driven);
  ctx.record({
    name: `[${mode}] routes not driven by this benchmark`,
    unit: 'ms',
    throughput: 0,
    p50_ms: 0,
    p99_ms: 0,
    notes:
      `${missing.length === 0 ? 'none' : missing.join(', ')} — of the ${total} routes the server registered; ` +
      `its ${headTwins} HEAD routes are Fastify's automatic twins of GET routes (same handler, no body) and count with their GET`,
    details: { mode, missing, registered: total },
  });
  log(`${mode}: ${total - missing.length} of ${total} routes driven${missing.length === 0 ? '' : `; not driven: ${missing.join(', ')}`}`);
  await server.stop();
}

export async function run(ctx: BenchContext): Promise<void> {
  // BENCH_ONLY_POSTGRES=1 skips the PGlite mode (as in the platform benchmark).
  if (process.env.BENCH_ONLY_POSTGRES !== '1') await runMode(ctx, 'PGlite', {});
  const databaseUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
  const redisUrl = process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL;
  if (databaseUrl === undefined || databaseUrl === '') {
    ctx.log('BENCH_DATABASE_URL/TEST_DATABASE_URL not set: PostgreSQL mode skipped');
    return;
  }
  // A database of its own next to the named one, dropped afterwards.
  await withScratchDatabase(databaseUrl, (url) => runMode(ctx, redisUrl ? 'PostgreSQL+Redis' : 'PostgreSQL', { DATABASE_URL: url, ...(redisUrl ? { REDIS_URL: redisUrl } : {}) }));
}
