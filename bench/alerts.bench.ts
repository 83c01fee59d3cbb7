// Alert evaluation at scale: 100,000 active price alerts over 1,000 symbols in a real
// database (PGlite in memory; PostgreSQL too when BENCH_DATABASE_URL or TEST_DATABASE_URL
// is set), the real alerts service fed quote ticks (a random walk per symbol) for
// BENCH_DURATION_S seconds (default 10), fed as the bus feeds them (not awaiting each
// tick's storage). Rows: (a) a random walk where few ticks cross (the common case) and
// (b) the firing path (most ticks cross), each with ticks/s until everything is stored,
// CPU µs per tick, events/s and p50/p99 tick → stored event (event + delivery job
// committed, queueing included); and the index alone.
// Target (issue 16): ≥ 10,000 ticks/s with 100,000 alerts, p99 tick → stored event < 20 ms.
import { randomBytes, randomUUID } from 'node:crypto';
import { Decimal } from 'decimal.js';
import type { BenchContext } from './lib/context.ts';
import { loadConfig } from '../src/config.ts';
import { migrate } from '../src/platform/db/migrations.ts';
import { createLogger } from '../src/platform/logger.ts';
import { createPubSub } from '../src/platform/pubsub.ts';
import { openRuntime } from '../src/runtime.ts';
import { createAlertsRepository } from '../src/modules/alerts/alerts.repository.ts';
import { createAlertsService, DELIVER_QUEUE } from '../src/modules/alerts/alerts.service.ts';
import { createPriceIndex } from '../src/modules/alerts/price-index.ts';
import { systemClock } from '../src/platform/clock.ts';

export const description =
  'Alert evaluation: 100,000 active price alerts over 1,000 symbols; sustained ticks per second and tick-to-stored-event latency (one process, PGlite and PostgreSQL).';

const ALERTS = Number(process.env.BENCH_ALERTS ?? 100_000);
const SYMBOLS = Number(process.env.BENCH_ALERT_SYMBOLS ?? 1000);
const RATE = Number(process.env.BENCH_ALERT_RATE ?? 10_000);
const FIRING_RATE = Number(process.env.BENCH_ALERT_FIRING_RATE ?? 1000);
const DURATION_S = Number.parseInt(process.env.BENCH_DURATION_S ?? '', 10) > 0 ? Number.parseInt(process.env.BENCH_DURATION_S ?? '', 10) : 10;
/** Which rows to measure (comma-separated: walk, unpaced, firing, index; default all), for short comparisons. */
const PHASES = new Set((process.env.BENCH_ALERT_PHASES ?? 'walk,unpaced,firing,index').split(',').map((p) => p.trim()));

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;
const r4 = (ms: number) => Math.round(ms * 1e4) / 1e4;

async function measure(ctx: BenchContext, label: string, env: Record<string, string>, schema?: string): Promise<void> {
  const config = loadConfig({ LOG_LEVEL: 'error', ...env });
  const logger = createLogger('error');
  const runtime = await openRuntime(config, logger, schema === undefined ? {} : { schema, jobsSchema: schema });
  const pubsub = createPubSub({ logger });
  try {
    await migrate(runtime.db, logger);
    const { db, jobs } = runtime;
    jobs.define({ name: DELIVER_QUEUE, handler: () => Promise.resolve() });
    await jobs.start('producer');
    const userId = randomUUID();
    await db.query(`INSERT INTO users (id, email, password_hash, role, tier, created_at, updated_at) VALUES ($1, 'bench@example.test', 'x', 'user', 'pro', now(), now())`, [userId]);
    // updated_at at millisecond precision, as the app writes it (the condition write-behind
    // matches rows by it).
    // Thresholds spread around 100 (90.00 … 110.00), half above, half below alerts,
    // every_time. Each starts with its condition at the opening price of 100 already
    // recorded (as after a restart), so the first tick of a symbol fires nothing by itself.
    ctx.log(`${label}: inserting ${ALERTS} alerts …`);
    await db.query(
      `INSERT INTO alerts (id, user_id, kind, symbol, "interval", threshold, params, mode, cooldown_seconds, status, condition_met, created_at, updated_at)
       SELECT gen_random_uuid(), $1, kind, 'S' || (g % $3), '1d', threshold, '{}', 'every_time', 0, 'active',
              CASE WHEN kind = 'price_above' THEN 100 > threshold ELSE 100 < threshold END, date_trunc('milliseconds', now()), date_trunc('milliseconds', now())
       FROM (SELECT g, CASE WHEN g % 2 = 0 THEN 'price_above' ELSE 'price_below' END AS kind, 90 + (g * 7919 % 2001) / 100.0 AS threshold
             FROM generate_series(1, $2) AS g) AS s`,
      [userId, ALERTS, SYMBOLS],
    );
    const service = createAlertsService({
      db,
      repo: createAlertsRepository(db),
      jobs,
      pubsub,
      clock: systemClock,
      logger,
      tiers: config.tiers,
      webhooks: { allowHttp: false, allowPrivate: false, timeoutMs: 1000, retries: 0 },
    });
    const loadStarted = performance.now();
    await service.start({ quoteEvent: 'bench.quote', barsEvent: 'bench.bars' });
    ctx.log(`${label}: index of ${ALERTS} alerts loaded in ${Math.round(performance.now() - loadStarted)} ms`);
    const prices = Array.from({ length: SYMBOLS }, () => new Decimal(100));
    for (let s = 0; s < SYMBOLS; s += 1) await service.onQuote({ symbol: `S${s}`, price: '100', as_of: new Date().toISOString() });

    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    let clockTick = 0;
    /**
     * Feeds ticks as the bus does (not awaiting each one's storage; the loop yields to I/O
     * every 100 ticks so the writer runs) for `seconds`; a random walk of ±`maxStep`
     * hundredths per tick. Latency of a firing tick = from onQuote to its events stored
     * (queueing behind the running round included).
     */
    const phase = async (name: string, maxStep: number, seconds: number, rate: number) => {
      const toEvent: number[] = [];
      // Ticks whose storage is still outstanding, counted rather than kept: holding every
      // tick's promise to the end of the phase (as the bus never does) made each young-
      // generation GC copy them all, pauses of 10–25 ms that showed in the p99.
      let outstanding = 0;
      let allStored: () => void = () => undefined;
      let failure: Error | undefined;
      let events = 0;
      let ticks = 0;
      ctx.log(`${label}: ${name} for ${seconds} s …`);
      const cpu0 = process.cpuUsage();
      const started = performance.now();
      const until = started + seconds * 1000;
      while (performance.now() < until) {
        // Open loop: ticks are offered at `rate` per second (0: as fast as the loop goes),
        // 100 at a time, whether or not the writer keeps up (its queueing shows in p99).
        if (rate > 0) {
          const due = started + (ticks / rate) * 1000;
          const wait = due - performance.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        }
        for (let k = 0; k < 100; k += 1) {
          const s = Math.floor(rand() * SYMBOLS);
          const step = new Decimal(Math.floor(rand() * (2 * maxStep + 1)) - maxStep).div(100);
          let next = (prices[s] as Decimal).plus(step);
          if (next.lt(85) || next.gt(115)) next = new Decimal(100);
          prices[s] = next;
          const t0 = performance.now();
          clockTick += 1;
          const p = service.onQuote({ symbol: `S${s}`, price: next.toFixed(), as_of: new Date(Date.UTC(2026, 0, 1) + clockTick).toISOString() });
          ticks += 1;
          outstanding += 1;
          p.then(
            (fired) => {
              if (fired.length > 0) {
                events += fired.length;
                toEvent.push(performance.now() - t0);
              }
            },
            (err: unknown) => (failure = err instanceof Error ? err : new Error(String(err))),
          ).finally(() => {
            outstanding -= 1;
            if (outstanding === 0) allStored();
          });
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (outstanding > 0) await new Promise<void>((resolve) => (allStored = resolve));
      if (failure !== undefined) throw failure;
      await service.flush();
      const seconds_ = (performance.now() - started) / 1000;
      const cpu = process.cpuUsage(cpu0);
      toEvent.sort((a, b) => a - b);
      ctx.record({
        name: `${label}: ${name}, ${rate > 0 ? `offered ${rate.toLocaleString('en')} ticks/s` : 'unpaced'}, ${ALERTS.toLocaleString('en')} alerts / ${SYMBOLS} symbols`,
        unit: 'ops/s',
        throughput: Math.round(ticks / seconds_),
        p50_ms: r4(pct(toEvent, 50)),
        p99_ms: r4(pct(toEvent, 99)),
        notes: `${ticks} ticks in ${seconds_.toFixed(1)} s (until every event and condition is stored); CPU ${Math.round((cpu.user + cpu.system) / ticks)} µs/tick (process, incl. the database when PGlite); ${toEvent.length} ticks fired ${events} events (${Math.round(events / seconds_)} events/s); p50/p99 = tick → stored event`,
      });
    };
    // (a) the common case: steps of ±0.00–0.05, few ticks cross a threshold; offered at
    // BENCH_ALERT_RATE ticks/s (default 10,000, the target), then as fast as possible.
    if (PHASES.has('walk')) await phase('random walk (few ticks cross)', 5, DURATION_S, RATE);
    if (PHASES.has('unpaced')) await phase('random walk (few ticks cross)', 5, Math.max(2, Math.round(DURATION_S / 2)), 0);
    // (b) the firing path: steps of ±0.00–1.00, nearly every tick crosses several thresholds.
    if (PHASES.has('firing')) await phase('firing path (most ticks cross)', 100, Math.max(2, Math.round(DURATION_S / 2)), FIRING_RATE);
    await service.stop();
    if (schema !== undefined) await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await pubsub.close();
    await runtime.close();
  }
}

/** The sorted index alone (no database): the per-tick cost of finding what a tick can cross. */
async function indexOnly(ctx: BenchContext): Promise<void> {
  const index = createPriceIndex();
  for (let a = 0; a < ALERTS; a += 1) {
    const above = a % 2 === 0;
    const threshold = new Decimal(90).plus(new Decimal((a * 7919) % 2001).div(100));
    index.add(`S${a % SYMBOLS}`, { id: String(a), kind: above ? 'price_above' : 'price_below', threshold: threshold.toFixed(), met: above ? threshold.lt(100) : threshold.gt(100) });
  }
  for (let s = 0; s < SYMBOLS; s += 1) index.tick(`S${s}`, '100');
  let k = 0;
  await ctx.op(
    'threshold index only (no database)',
    () => {
      k += 1;
      return index.tick(`S${k % SYMBOLS}`, k % 2 === 0 ? '100.01' : '100');
    },
    { iterations: 50_000, notes: `${ALERTS} alerts over ${SYMBOLS} symbols` },
  );
}

export async function run(ctx: BenchContext): Promise<void> {
  if (PHASES.has('index')) await indexOnly(ctx);
  // BENCH_ONLY_POSTGRES=1 skips the PGlite mode: the PostgreSQL rows then run in a process
  // that carries nothing of it (its heap and garbage).
  if (process.env.BENCH_ONLY_POSTGRES !== '1') await measure(ctx, 'PGlite', { DATA_DIR: 'memory' });
  const url = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
  if (url !== undefined && url !== '') await measure(ctx, 'PostgreSQL', { DATABASE_URL: url, DATABASE_POOL_MIN: '0', DATABASE_POOL_MAX: '5' }, `bench_${randomBytes(4).toString('hex')}`);
}
