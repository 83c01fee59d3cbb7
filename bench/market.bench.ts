// Market data storage, in process (no HTTP): CSV import throughput (parse, check and
// write, multi-row INSERT … ON CONFLICT) and the time to bucket 1,000,000 one-minute bars
// into daily (and weekly, hourly) candles with date_bin — on PGlite and, when
// BENCH_DATABASE_URL (or TEST_DATABASE_URL) names a PostgreSQL database, on PostgreSQL
// too (in a schema of its own, dropped afterwards).
//
// Run with the others (`npm run bench -- market`). BENCH_MARKET_MINUTE_BARS changes the
// size of the candle series (default 1,000,000); BENCH_MARKET_CSV_ROWS the generated
// import (default 100,000 one-minute rows).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../src/config.ts';
import { createMarket, createMarketRepository } from '../src/modules/market/index.ts';
import { openDatabase, type Database } from '../src/platform/db/index.ts';
import { migrate } from '../src/platform/db/migrations.ts';
import { createLogger } from '../src/platform/logger.ts';
import type { BenchContext } from './lib/context.ts';
import { ROOT } from './lib/server.ts';

export const description =
  'Market storage: CSV price import (rows/s: parse, check, multi-row upsert; fresh and idempotent re-import) and daily/weekly/hourly candles ' +
  'bucketed with date_bin from 1,000,000 one-minute bars, on PGlite and (with BENCH_DATABASE_URL or TEST_DATABASE_URL) PostgreSQL.';

const MINUTE_BARS = Number(process.env.BENCH_MARKET_MINUTE_BARS ?? 1_000_000);
const CSV_ROWS = Number(process.env.BENCH_MARKET_CSV_ROWS ?? 100_000);
const TTRC = readFileSync(path.join(ROOT, 'test/fixtures/ttrc.csv'), 'utf8');
const logger = createLogger('warn');
const clock = { now: () => new Date('2026-01-01T00:00:00Z') };

/** A minute-bar CSV with a deterministic walk in whole cents (no floats). */
function minuteCsv(rows: number): string {
  const lines = ['Date,Open,High,Low,Close,Volume'];
  let cents = 10_000;
  let seed = 42;
  const start = Date.UTC(2024, 0, 1);
  const money = (c: number) => `${(c - (c % 100)) / 100}.${String(c % 100).padStart(2, '0')}`;
  for (let i = 0; i < rows; i++) {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    const next = Math.max(100, cents + (seed % 21) - 10);
    const high = Math.max(cents, next) + (seed % 5);
    const low = Math.max(1, Math.min(cents, next) - (seed % 7));
    lines.push(`${new Date(start + i * 60_000).toISOString()},${money(cents)},${money(high)},${money(low)},${money(next)},${seed % 10_000}`);
    cents = next;
  }
  return `${lines.join('\n')}\n`;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}

async function benchDatabase(ctx: BenchContext, label: string, db: Database, csv: string): Promise<void> {
  await migrate(db, logger);
  const config = loadConfig({ DATA_DIR: 'memory', MARKET_DATA_PROVIDER: 'none', LOG_LEVEL: 'warn' });
  const market = await createMarket({ config, logger, db, clock });
  const repo = createMarketRepository(db);
  const rowsPerSecond = (rows: number, ms: number) => Math.round((rows / ms) * 1000);
  try {
    // CSV import through the service (what the CLI and the admin route run).
    for (const [name, text, rows] of [
      ['ttrc.csv (daily)', TTRC, 5550],
      [`${CSV_ROWS.toLocaleString('en-US')}-row minute CSV`, csv, CSV_ROWS],
    ] as const) {
      const symbol = name.startsWith('ttrc') ? 'TTRC' : 'CSVMIN';
      const fresh = await timed(() => market.service.importCsv(symbol, text));
      const again = await timed(() => market.service.importCsv(symbol, text));
      if (fresh.value.inserted !== rows || again.value.unchanged !== rows) throw new Error(`${label}: unexpected import result ${JSON.stringify([fresh.value, again.value])}`);
      for (const [kind, run] of [['fresh', fresh], ['re-import (no-op)', again]] as const) {
        const rate = rowsPerSecond(rows, run.ms);
        ctx.record({
          name: `${label}: import ${name}, ${kind}`,
          unit: 'ops/s',
          throughput: rate,
          p50_ms: Math.round(run.ms),
          p99_ms: Math.round(run.ms),
          notes: `1 op = 1 row; ${rows} rows in ${Math.round(run.ms)} ms (p50/p99 = the whole import)`,
        });
        ctx.log(`${label} import ${name} ${kind}: ${rate} rows/s (${Math.round(run.ms)} ms)`);
      }
    }

    // 1,000,000 one-minute bars, written server-side (this part measures the candle query).
    const days = Math.ceil(MINUTE_BARS / 1440);
    const fill = await timed(() =>
      db.query(
        `INSERT INTO price_bars (symbol, "interval", ts, open, high, low, close, volume, source)
         SELECT 'MIN1M', '1m', $1::timestamptz + make_interval(mins => i),
           o, greatest(o, c) + 0.05, least(o, c) - 0.05, c, i % 1000, 'bench'
         FROM (SELECT i, 100 + (i % 997) / 100.0 AS o, 100 + ((i + 1) % 997) / 100.0 AS c
               FROM generate_series(0, $2::int - 1) AS i) s`,
        ['2023-01-02T00:00:00Z', MINUTE_BARS],
      ),
    );
    ctx.log(`${label}: wrote ${MINUTE_BARS} minute bars in ${Math.round(fill.ms)} ms`);
    const from = new Date('2023-01-02T00:00:00Z');
    const to = new Date(from.getTime() + (days + 1) * 86_400_000);
    for (const [interval, limit, expect] of [
      ['1d', 5000, days],
      ['1w', 5000, Math.ceil(days / 7) + 1],
      ['1h', 5000, Math.floor(MINUTE_BARS / 60)],
    ] as const) {
      const check = await repo.candles('MIN1M', interval, from, to, limit);
      if (check.length < Math.min(expect, limit) - 1) throw new Error(`${label}: ${interval} gave ${check.length} candles`);
      // One untimed call, then three timed ones; the figure is the time to aggregate.
      await repo.candles('MIN1M', interval, from, to, limit);
      const times: number[] = [];
      for (let i = 0; i < 3; i++) times.push((await timed(() => repo.candles('MIN1M', interval, from, to, limit))).ms);
      times.sort((a, b) => a - b);
      const median = times[1] ?? 0;
      const bars = interval === '1h' ? Math.min(MINUTE_BARS, check.length * 60) : MINUTE_BARS;
      ctx.record({
        name: `${label}: ${interval} candles from ${MINUTE_BARS.toLocaleString('en-US')} minute bars`,
        unit: 'ops/s',
        throughput: Math.round((bars / median) * 1000),
        p50_ms: Math.round(median),
        p99_ms: Math.round(times[2] ?? 0),
        notes: `1 op = 1 minute bar aggregated; ${check.length} candles per call${interval === '1h' ? ' (the latest 5,000 hours)' : ''}; p50/p99 = median/max of 3 calls`,
      });
      ctx.log(`${label}: ${interval} candles: ${Math.round(median)} ms (${check.length} candles)`);
    }
  } finally {
    await market.close();
  }
}

export async function run(ctx: BenchContext): Promise<void> {
  const csv = minuteCsv(CSV_ROWS);
  const pglite = await openDatabase({ ...loadConfig({ DATA_DIR: 'memory' }), databaseUrl: undefined, slowQueryMs: 600_000 }, logger);
  try {
    await benchDatabase(ctx, 'PGlite', pglite, csv);
  } finally {
    await pglite.close();
  }
  const url = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
  if (url === undefined || url === '') {
    ctx.log('PostgreSQL skipped: set BENCH_DATABASE_URL (or TEST_DATABASE_URL)');
    return;
  }
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const pg = await openDatabase(
    { ...loadConfig({ DATA_DIR: 'memory', DATABASE_URL: url }), databaseStatementTimeoutMs: 600_000, slowQueryMs: 600_000 },
    logger,
    schema,
  );
  try {
    await benchDatabase(ctx, 'PostgreSQL', pg, csv);
  } finally {
    await pg.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pg.close();
  }
}
