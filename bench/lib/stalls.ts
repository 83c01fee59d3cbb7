// The measuring half of the stall benchmark (bench/stalls.bench.ts): one case is one row,
// a request (or a WebSocket session) sent alone while the server's own stall monitor
// watches, and the list of the app's routes no case drove.
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Api, BenchUser } from './api.ts';
import type { BenchContext } from './context.ts';
import type { RecordedRoute } from './route-recorder.ts';
import { BIN, ROOT, type BenchServer } from './server.ts';

export const TARGET_MS = 100;

/** What a case's request answered: a fetch Response, or the outcome of a WebSocket session. */
export interface Answer {
  status: number;
  text: () => Promise<string>;
}

export interface Case {
  label: string;
  /** The app routes this case drives, in Fastify's form: `GET /v1/portfolios/:id`, `OPTIONS *`. */
  routes: string[];
  /** Sends the request; its answer is read whole inside the measured window. */
  send: () => Promise<Answer>;
  expect: number[];
  /** Runs before each repetition (not measured), e.g. a fresh portfolio. */
  prepare?: () => void | Promise<void>;
  /**
   * Runs after the answer, still inside the measured window: the work the request left
   * behind (the job it enqueued), so its stall is counted on this row.
   */
  settle?: (body: string) => void | Promise<void>;
  /** Repetitions, when fewer than BENCH_STALLS_REPEAT make sense (an input that exists once). */
  repeat?: number;
  /** Runs once after the last repetition, failed or not (not measured): ends what `prepare` left open. */
  after?: () => void | Promise<void>;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The server's longest stall since the previous scrape: wall time and main-thread CPU time, ms. */
async function stallMs(server: BenchServer, metricsToken: string): Promise<{ wall: number; cpu: number }> {
  const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
  const text = await res.text();
  const wall = /^financehub_event_loop_stall_max_seconds ([0-9.e+-]+)$/m.exec(text);
  const cpu = /^financehub_event_loop_stall_cpu_max_seconds ([0-9.e+-]+)$/m.exec(text);
  if (res.status !== 200 || wall === null || cpu === null) throw new Error(`/metrics answered ${res.status} without the stall gauges`);
  return { wall: Number(wall[1]) * 1000, cpu: Number(cpu[1]) * 1000 };
}

const round = (ms: number) => Math.round(ms * 10) / 10;

/** An error's message with its causes (fetch's "fetch failed" says why only in `cause`). */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause === undefined ? '' : ` (${describe(err.cause)})`;
  const code = (err as { code?: unknown }).code;
  return `${err.message}${typeof code === 'string' ? ` [${code}]` : ''}${cause}`;
}

/** `value`, or an error naming what an earlier case should have left behind. */
export function needed(value: string, what: string): string {
  if (value === '') throw new Error(`no ${what}: the case that makes it did not succeed`);
  return value;
}

/**
 * Measures each case in order and records one row per case. A case that fails (an
 * unexpected status, a broken preparation) is recorded as FAILED with the reason and the
 * run goes on; its routes then count as not driven. Returns the routes driven successfully.
 */
export async function measureCases(
  ctx: BenchContext,
  server: BenchServer,
  options: { mode: string; repeat: number; metricsToken: string },
  cases: Case[],
): Promise<Set<string>> {
  const { mode, metricsToken } = options;
  const driven = new Set<string>();
  for (const c of cases) {
    const repeat = Math.min(options.repeat, c.repeat ?? options.repeat);
    const stalls: number[] = [];
    const cpuStalls: number[] = [];
    const statuses = new Set<number>();
    const started = Date.now();
    try {
      for (let r = 0; r < repeat; r++) {
        await c.prepare?.();
        await stallMs(server, metricsToken);
        await sleep(50); // the monitor drops its first sample after a reset
        const res = await c.send();
        const body = await res.text();
        statuses.add(res.status);
        if (!c.expect.includes(res.status)) throw new Error(`answered ${res.status}, expected ${c.expect.join(' or ')}: ${body.slice(0, 300)}`);
        await c.settle?.(body);
        await sleep(50);
        const stall = await stallMs(server, metricsToken);
        stalls.push(stall.wall);
        cpuStalls.push(stall.cpu);
      }
    } catch (err) {
      const reason = describe(err).replaceAll('|', '/').replaceAll('\n', ' ');
      ctx.record({ name: `[${mode}] ${c.label}`, unit: 'ms', throughput: 0, p50_ms: 0, p99_ms: 0, notes: `FAILED: ${reason}`, details: { mode, routes: c.routes } });
      ctx.log(`${mode} ${c.label}: FAILED: ${reason}`);
      continue;
    } finally {
      await c.after?.();
    }
    for (const route of c.routes) driven.add(route);
    stalls.sort((a, b) => a - b);
    const worstCpu = round(Math.max(...cpuStalls));
    const worst = round(stalls.at(-1)!);
    const median = round(stalls[Math.floor(stalls.length / 2)]!);
    ctx.record({
      name: `[${mode}] ${c.label}`,
      unit: 'ms',
      throughput: worst,
      p50_ms: median,
      p99_ms: worst,
      notes: `${worst < TARGET_MS ? 'under' : 'OVER'} the ${TARGET_MS} ms target; longest stall of ${repeat} request(s), ${worstCpu} ms of it CPU; status ${[...statuses].join('/')}`,
      details: { mode, routes: c.routes, stalls_ms: stalls, cpu_stalls_ms: cpuStalls, statuses: [...statuses] },
    });
    ctx.log(`${mode} ${c.label}: longest stall ${worst} ms (median ${median} ms; longest CPU ${worstCpu} ms; ${((Date.now() - started) / 1000).toFixed(1)} s with preparation)`);
  }
  return driven;
}

/** `financehub serve` with the route recorder preloaded (ServerOptions.script); it writes to BENCH_ROUTES_FILE. */
export function recordingServe(): string[] {
  return ['--import', path.join(ROOT, 'bench/lib/route-recorder.ts'), BIN, 'serve'];
}

/** The routes the server registered (bench/lib/route-recorder.ts wrote them to `file`, removed here). */
export function readRecordedRoutes(file: string): RecordedRoute[] {
  const routes = JSON.parse(readFileSync(file, 'utf8')) as RecordedRoute[];
  rmSync(file, { force: true });
  if (!Array.isArray(routes) || routes.length === 0) throw new Error(`${file} lists no routes: was the server started with the route recorder?`);
  return routes;
}

/**
 * The app's routes no successful case drove, as `METHOD url`. A HEAD route counts as
 * driven with the GET of the same URL: Fastify adds one to every GET route, and it runs
 * the GET's handler and hooks, only without sending the body.
 */
export function notDriven(appRoutes: RecordedRoute[], driven: ReadonlySet<string>): { missing: string[]; total: number; headTwins: number } {
  const keys = [...new Set(appRoutes.map((r) => `${r.method} ${r.url}`))];
  const gets = new Set(appRoutes.filter((r) => r.method === 'GET').map((r) => r.url));
  const headTwins = appRoutes.filter((r) => r.method === 'HEAD' && gets.has(r.url)).length;
  const missing = keys.filter((key) => {
    if (driven.has(key)) return false;
    const [method, url] = key.split(' ', 2) as [string, string];
    return !(method === 'HEAD' && gets.has(url) && driven.has(`GET ${url}`));
  });
  return { missing, total: keys.length, headTwins };
}

/** What the stall benchmark has set up on one server, shared by the groups of cases. */
export interface StallsFixture {
  mode: string;
  server: BenchServer;
  api: Api;
  /** The main user (pro tier: the largest caps) and their access token. */
  user: BenchUser;
  /** An admin's access token. */
  admin: string;
  /** The portfolio of `rows` transactions (deposits, buys and sells of SYM0 … SYM39). */
  big: string;
  /** A portfolio whose only early transaction is a deposit on 1900-01-01. */
  old: string;
  rows: number;
  /** The CSV that seeded `big` (rows lines). */
  csv: string;
  repeat: number;
  /**
   * Repetitions of the added cases whose one request or preparation takes seconds to tens
   * of seconds at the defaults (a read or write of the whole large portfolio, a render, a
   * template's versions), so the run stays within its time budget.
   */
  heavyRepeat: number;
  metricsToken: string;
  log: (message: string) => void;
}

/** One area's cases: `cases` run in the main pass, `late` after every group's (they delete what others read). */
export interface CaseGroup {
  cases: Case[];
  late?: Case[];
  /** Background work the set-up started (jobs, alert firings) that must finish before measuring. */
  ready?: Promise<void>;
}
