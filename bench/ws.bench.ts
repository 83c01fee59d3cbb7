// `npm run bench -- ws`: the real-time gateway under fan-out load. The real server runs as
// a child process; a second child (bench/ws-load.ts) opens N authenticated sockets and
// subscribes them; this process publishes quotes on the event bus's Redis channel, as
// another instance's market module would, 10 rounds a second, each round one quote per
// symbol with `as_of` = the publish time, so the load generator measures delivery latency
// from publish to receipt. Needs Redis (REDIS_URL, default redis://127.0.0.1:6379); the
// two-instance run needs BENCH_WS_DATABASE_URL (PostgreSQL: both instances must share users
// and sessions; the run works in a schema of its own, dropped afterwards).
//   BENCH_WS_SIZES=1000,5000,10000  sockets on one symbol, one instance
//   BENCH_WS_SPREAD=10000:500       sockets:symbols, one instance and (with BENCH_WS_DATABASE_URL) two
//   BENCH_WS_SECONDS=30             publishing time per run
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { cacheKey } from '../src/platform/cache-keys.ts';
import type { BenchContext } from './lib/context.ts';
import { ROOT } from './lib/server.ts';

export const description =
  'WebSocket fan-out: N authenticated sockets subscribed to quotes, 10 quote rounds/s published on the event bus; delivery latency publish→receipt (p50/p99/max), messages lost, server RSS per connection and CPU.';

const SOCKETS_PER_USER = 100;
const PASSWORD = 'Fh7-bench-ws-Password-2026!';

interface LoadReport {
  received: number;
  other: number;
  closed_early: number;
  per_socket_min: number;
  per_socket_max: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
}

function procStat(pid: number): { cpuSeconds: number; rssBytes: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { cpuSeconds: ticks / 100, rssBytes: rssKb * 1024 };
}

function request(child: ChildProcess, message: unknown, answer: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const onMessage = (raw: unknown) => {
      const m = raw as { type: string; error?: string };
      if (m.type === 'failed') {
        child.off('message', onMessage);
        reject(new Error(m.error));
      } else if (m.type === answer) {
        child.off('message', onMessage);
        resolve(m);
      }
    };
    child.on('message', onMessage);
    child.send(message as object);
  });
}

async function tokensFor(base: string, users: number): Promise<string[]> {
  const tokens: string[] = [];
  const stamp = Date.now();
  for (let i = 0; i < users; i++) {
    const email = `ws-bench-${stamp}-${i}@example.test`;
    const reg = await fetch(`${base}/v1/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: PASSWORD }) });
    if (reg.status !== 201) throw new Error(`register: ${reg.status} ${await reg.text()}`);
    const login = await fetch(`${base}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: PASSWORD }) });
    if (login.status !== 200) throw new Error(`login: ${login.status} ${await login.text()}`);
    tokens.push(((await login.json()) as { access_token: string }).access_token);
  }
  return tokens;
}

export async function run(ctx: BenchContext): Promise<void> {
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const seconds = Number(process.env.BENCH_WS_SECONDS ?? 30);
  const sizes = (process.env.BENCH_WS_SIZES ?? '1000,5000,10000').split(',').filter(Boolean).map(Number).filter((n) => n > 0);
  const [spreadSockets, spreadSymbols] = (process.env.BENCH_WS_SPREAD ?? '10000:500').split(':').map(Number);
  const publisher = new Redis(redisUrl);
  const channel = cacheKey('event', 'market.quote');
  const env = {
    REDIS_URL: redisUrl,
    MARKET_DATA_PROVIDER: 'none',
    LOG_LEVEL: 'warn',
    ACCESS_TOKEN_TTL: '3600',
    FREE_WS_CONNECTIONS: String(SOCKETS_PER_USER),
    SHED_EVENT_LOOP_DELAY_MS: '0',
    // Every socket comes from 127.0.0.1: lift the per-address connection cap (a guard
    // against one client hoarding sockets) above the largest run.
    MAX_CONNECTIONS: '30000',
    MAX_CONNECTIONS_PER_IP: '25000',
  };

  const runOnce = async (label: string, sockets: number, symbolCount: number, instances: number, extraEnv: Record<string, string> = {}) => {
    const servers = [];
    for (let i = 0; i < instances; i++) servers.push(await ctx.startServer({ env: { ...env, ...extraEnv }, startTimeoutMs: 180_000 }));
    const first = servers[0];
    if (first === undefined) return;
    const symbols = Array.from({ length: symbolCount }, (_, i) => `WSB${i}`);
    ctx.log(`${label}: registering ${Math.ceil(sockets / SOCKETS_PER_USER)} users …`);
    const tokens = await tokensFor(first.url, Math.ceil(sockets / SOCKETS_PER_USER));
    const load = fork(path.join(ROOT, 'bench/ws-load.ts'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    try {
      const before = servers.map((s) => procStat(s.pid));
      ctx.log(`${label}: opening ${sockets} sockets …`);
      const ready = await request(load, { type: 'open', urls: servers.map((s) => `${s.url.replace('http', 'ws')}/v1/ws`), tokens, sockets, symbols, concurrency: 50 }, 'ready');
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const opened = servers.map((s) => procStat(s.pid));
      ctx.log(`${label}: ${String(ready.sockets)} sockets in ${String(ready.open_ms)} ms; publishing for ${seconds} s …`);
      const rounds = seconds * 10;
      const startedAt = Date.now();
      for (let round = 0; round < rounds; round++) {
        const due = startedAt + round * 100;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        const pipeline = publisher.pipeline();
        const asOf = new Date().toISOString();
        for (const symbol of symbols) pipeline.publish(channel, JSON.stringify({ symbol, price: `${100 + (round % 100)}.25`, previous_close: null, as_of: asOf, source: 'bench' }));
        await pipeline.exec();
      }
      const publishSeconds = (Date.now() - startedAt) / 1000;
      const expected = rounds * sockets;
      // Messages still in flight are late, not lost: wait until all arrived, or nothing more
      // arrives for 3 s (at most 120 s).
      const drainStart = Date.now();
      let last = -1;
      let stableSince = Date.now();
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        const { received } = (await request(load, { type: 'count' }, 'count')) as { received: number };
        if (received >= expected) break;
        if (received !== last) {
          last = received;
          stableSince = Date.now();
        } else if (Date.now() - stableSince > 3000) break;
        if (Date.now() - drainStart > 120_000) break;
      }
      const drainMs = Date.now() - drainStart;
      const after = servers.map((s) => procStat(s.pid));
      const report = (await request(load, { type: 'report' }, 'report')) as unknown as LoadReport;
      const lost = expected - report.received;
      const cpu = after.reduce((sum, a, i) => sum + a.cpuSeconds - (opened[i]?.cpuSeconds ?? 0), 0);
      const rss = opened.reduce((sum, o, i) => sum + o.rssBytes - (before[i]?.rssBytes ?? 0), 0);
      const cpuPercent = Math.round((cpu / (publishSeconds + drainMs / 1000)) * 100);
      const load1 = Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
      const notes = [
        `${sockets} sockets, ${symbolCount} symbol(s), ${instances} instance(s), ${seconds} s`,
        `max ${report.max_ms} ms`,
        `lost ${lost} of ${expected}`,
        `server RSS +${Math.round(rss / sockets / 102.4) / 10} KiB/socket`,
        `server CPU ${cpuPercent}% of one core`,
        `sockets opened in ${String(ready.open_ms)} ms`,
        `last delivery ${drainMs} ms after the last publish`,
        `${report.closed_early} sockets closed early`,
        `load average ${load1} at the end`,
      ].join('; ');
      ctx.record({
        name: label,
        unit: 'msg/s',
        throughput: Math.round(report.received / publishSeconds),
        p50_ms: report.p50_ms,
        p99_ms: report.p99_ms,
        notes,
        details: { ...report, expected, lost, drain_ms: drainMs, load_average_end: load1, sockets, symbols: symbolCount, instances, seconds, rss_bytes_per_socket: rss / sockets, cpu_seconds: cpu, open_ms: ready.open_ms },
      });
      ctx.log(`${label}: p50 ${report.p50_ms} ms, p99 ${report.p99_ms} ms, ${notes}`);
    } finally {
      load.send({ type: 'exit' });
      for (const s of servers) await s.stop();
    }
  };

  try {
    for (const n of sizes) await runOnce(`${n} sockets, 1 symbol, 1 instance`, n, 1, 1);
    if (spreadSockets !== undefined && spreadSymbols !== undefined && spreadSockets > 0) {
      await runOnce(`${spreadSockets} sockets, ${spreadSymbols} symbols, 1 instance`, spreadSockets, spreadSymbols, 1);
      const databaseUrl = process.env.BENCH_WS_DATABASE_URL;
      if (databaseUrl === undefined) ctx.log('two-instance run skipped: set BENCH_WS_DATABASE_URL so both instances share users and sessions');
      else {
        const schema = `bench_ws_${process.pid}`;
        const admin = new pg.Client({ connectionString: databaseUrl });
        await admin.connect();
        await admin.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
        try {
          const url = new URL(databaseUrl);
          url.searchParams.set('options', `-c search_path=${schema}`);
          await runOnce(`${spreadSockets} sockets, ${spreadSymbols} symbols, 2 instances (Redis)`, spreadSockets, spreadSymbols, 2, { DATABASE_URL: url.toString() });
        } finally {
          await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
          await admin.end();
        }
      }
    }
  } finally {
    publisher.disconnect();
  }
}
