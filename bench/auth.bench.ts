// The cost of authentication (issue 3): how many logins per second argon2id allows, how
// the rest of the API fares while a login flood runs (p99 of /health/live and of an
// authenticated GET /v1/me during the flood), the p99 of a refresh (rotation in one
// transaction), and authenticated GET /v1/me throughput as a ratio to /health/live in
// the same run (token verification + session check + quota count per request).
// Rate limits are raised for bench servers (UNLIMITED_ENV): here they would only measure 429s.
import autocannon from 'autocannon';
import type { BenchContext } from './lib/context.ts';
import { defaultDurationS, measureHttp } from './lib/http.ts';

export const description =
  'Auth cost: logins/s (argon2id, OWASP minimum cost), p99 of /health/live and GET /v1/me during a login flood, refresh p99, GET /v1/me req/s as a ratio to /health/live.';

// bench/lib/server.ts already raises every rate limit and the daily quota (UNLIMITED_ENV).
const BENCH_ENV = { LOG_LEVEL: 'warn' };
const LOGIN_CONNECTIONS = 8;
const REFRESH_CONNECTIONS = 10;

interface Tokens {
  access_token: string;
  refresh_token: string;
}

/** Set-up request; a 503 (the freshly started server shedding load) is retried as Retry-After invites. */
async function post<T>(url: string, body: unknown, expect: number): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const text = await res.text();
    if (res.status === expect) return JSON.parse(text) as T;
    if (res.status !== 503 || attempt >= 30) throw new Error(`POST ${url}: expected ${expect}, got ${res.status}: ${text}`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

export async function run(ctx: BenchContext): Promise<void> {
  const server = await ctx.startServer({ env: BENCH_ENV });
  const credentials = { email: 'bench-auth@example.test', password: 'Fh7-bench-Qx9vLr2mTz8KpW' };
  await post(`${server.url}/v1/auth/register`, credentials, 201);
  const session = await post<Tokens>(`${server.url}/v1/auth/login`, credentials, 200);
  const bearer = { authorization: `Bearer ${session.access_token}` };

  const live = await ctx.http('GET /health/live', { url: `${server.url}/health/live`, expectStatus: 200, notes: 'baseline, no auth' });
  const me = await ctx.http('GET /v1/me (authenticated)', { url: `${server.url}/v1/me`, headers: bearer, expectStatus: 200 });
  ctx.record({
    name: 'GET /v1/me ÷ GET /health/live',
    unit: 'ratio',
    throughput: Math.round((me.requests_per_sec / live.requests_per_sec) * 1000) / 1000,
    p50_ms: me.p50_ms,
    p99_ms: me.p99_ms,
    notes:
      'ratio of the two throughputs above, same run (the cost of auth per request: JWT verify, revocation and user check, daily quota count, the /v1/me user read); p50/p99 columns are GET /v1/me',
  });

  const loginRequest = {
    url: `${server.url}/v1/auth/login`,
    method: 'POST' as const,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(credentials),
    expectStatus: 200,
    connections: LOGIN_CONNECTIONS,
  };
  await ctx.http('POST /v1/auth/login', { ...loginRequest, notes: 'correct password; bounded by argon2id (m=19456 KiB, t=2, p=1)' });

  // Other requests while logins flood the server, with argon2 behind its default bulkhead
  // and, on a second server in the same run, with ARGON2_MAX_CONCURRENT=4 (libuv's whole
  // thread pool: what an unbounded server does), so the two compare.
  await measureDuringFlood(ctx, server.url, bearer, credentials, '');
  const unbounded = await ctx.startServer({ env: { ...BENCH_ENV, ARGON2_MAX_CONCURRENT: '4' } });
  await post(`${unbounded.url}/v1/auth/register`, credentials, 201);
  const unboundedSession = await post<Tokens>(`${unbounded.url}/v1/auth/login`, credentials, 200);
  await measureDuringFlood(ctx, unbounded.url, { authorization: `Bearer ${unboundedSession.access_token}` }, credentials, ' [ARGON2_MAX_CONCURRENT=4]');

  const measured = defaultDurationS();
  // Refresh: every call rotates its token, so tokens circulate through a pool: a request
  // takes one, its response returns the successor. autocannon resets a connection's
  // context between requests and may build a request it never sends, hence the spare
  // sessions.
  const tokens: string[] = [];
  for (let i = 0; i < 3 * REFRESH_CONNECTIONS; i++) tokens.push((await post<Tokens>(`${server.url}/v1/auth/login`, credentials, 200)).refresh_token);
  ctx.log('measuring POST /v1/auth/refresh …');
  const refresh = await autocannon({
    url: `${server.url}/v1/auth/refresh`,
    connections: REFRESH_CONNECTIONS,
    duration: measured,
    requests: [
      {
        method: 'POST',
        setupRequest: (request) => {
          const token = tokens.shift();
          if (token === undefined) throw new Error('refresh token pool ran dry');
          return { ...request, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refresh_token: token }) };
        },
        onResponse: (status, body) => {
          if (status === 200) tokens.push((JSON.parse(body) as Tokens).refresh_token);
        },
      },
    ],
  });
  const statuses = Object.fromEntries(Object.entries(refresh.statusCodeStats ?? {}).map(([status, stat]) => [status, stat.count ?? 0]));
  const wrong = Object.keys(statuses).filter((status) => status !== '200');
  if (wrong.length > 0 || refresh.errors > 0) throw new Error(`refresh: expected only 200, got ${JSON.stringify(statuses)} and ${refresh.errors} errors`);
  ctx.record({
    name: 'POST /v1/auth/refresh (rotation)',
    unit: 'req/s',
    throughput: Math.round(refresh.requests.average),
    p50_ms: refresh.latency.p50,
    p99_ms: refresh.latency.p99,
    notes: `${REFRESH_CONNECTIONS} connections (one session each), ${measured} s, no warm-up; each call consumes the token and mints a successor in one transaction`,
  });
}

/** p99 of /health/live and GET /v1/me while LOGIN_CONNECTIONS connections log in; the flood is a row of its own. */
async function measureDuringFlood(
  ctx: BenchContext,
  base: string,
  bearer: { authorization: string },
  credentials: { email: string; password: string },
  suffix: string,
): Promise<void> {
  const loginRequest = {
    url: `${base}/v1/auth/login`,
    method: 'POST' as const,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(credentials),
    expectStatus: 200,
    connections: LOGIN_CONNECTIONS,
  };
  // The flood runs through the whole measurement (its warm-up included).
  const measured = defaultDurationS();
  for (const [label, url, headers] of [
    [`GET /health/live during login flood${suffix}`, `${base}/health/live`, {}],
    [`GET /v1/me during login flood${suffix}`, `${base}/v1/me`, bearer],
  ] as const) {
    const [flood] = await Promise.all([
      measureHttp({ ...loginRequest, warmupS: 0, durationS: measured + 2 }),
      ctx.http(label, { url, headers, expectStatus: 200, connections: 2, notes: `2 connections, while ${LOGIN_CONNECTIONS} connections log in` }),
    ]);
    ctx.record({
      name: `  POST /v1/auth/login (the flood, with ${label.split(' during')[0] ?? ''})${suffix}`,
      unit: 'req/s',
      throughput: flood.requests_per_sec,
      p50_ms: flood.p50_ms,
      p99_ms: flood.p99_ms,
      notes: `${flood.connections} connections, ${flood.duration_s} s; statuses ${JSON.stringify(flood.statuses)}`,
    });
  }
}
