// Market data storage, in process (no HTTP), on PGlite and, when BENCH_DATABASE_URL (or
// TEST_DATABASE_URL) names a PostgreSQL database, on PostgreSQL too (in a schema of its
// own, dropped afterwards):
//   * CSV import through the service (the admin route): rows/s with the 5m/1h/1d rollups
//     maintained in the same transaction, fresh and as an idempotent re-import;
//   * the streamed import of `financehub import prices` (COPY on PostgreSQL): rows/s and
//     the process's peak memory over a generated minute-bar file of
//     BENCH_MARKET_IMPORT_ROWS rows (default 1,000,000; the committed PostgreSQL figure
//     was also taken at 10,000,000);
//   * daily, weekly, hourly and 15-minute candles for one symbol over ten years of
//     trading sessions (~1,000,000 minute bars: 390 a weekday), with the table holding
//     BENCH_MARKET_TOTAL_BARS minute bars in all (other symbols alongside; default
//     1,000,000 on PGlite and 10,000,000 on PostgreSQL).
//
// Run with the others (`npm run bench -- market`).
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { loadConfig } from '../src/config.ts';
import { createMarket, createMarketRepository } from '../src/modules/market/index.ts';
import { refreshRollupRange } from '../src/modules/market/rollups.ts';
import { openDatabase, type Database } from '../src/platform/db/index.ts';
import { migrate } from '../src/platform/db/migrations.ts';
import { createLogger } from '../src/platform/logger.ts';
import type { BenchContext } from './lib/context.ts';
import { ROOT } from './lib/server.ts';

export const description =
  'Market storage: CSV price import with rollups maintained (rows/s), streamed import of a large minute-bar file (rows/s, peak RSS), ' +
  'and 1d/1w/1h/15m candles over ten years of minute bars read from the rollups, on PGlite and (with BENCH_DATABASE_URL or TEST_DATABASE_URL) PostgreSQL.';

const CSV_ROWS = Number(process.env.BENCH_MARKET_CSV_ROWS ?? 100_000);
const IMPORT_ROWS = Number(process.env.BENCH_MARKET_IMPORT_ROWS ?? 1_000_000);
const TTRC = readFileSync(path.join(ROOT, 'test/fixtures/ttrc.csv'), 'utf8');
const logger = createLogger('warn');
const clock = { now: () => new Date('2026-01-01T00:00:00Z') };
const SESSION_MINUTES = 390;
/** Years of sessions for the candle series (10 by default; smaller for a quick check). */
const YEARS = Number(process.env.BENCH_MARKET_YEARS ?? 10);

/** One deterministic minute bar line per call, in whole cents (no floats). */
function barLines() {
  let cents = 10_000;
  let seed = 42;
  const money = (c: number) => `${(c - (c % 100)) / 100}.${String(c % 100).padStart(2, '0')}`;
  return (ts: number): string => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    const next = Math.max(100, cents + (seed % 21) - 10);
    const high = Math.max(cents, next) + (seed % 5);
    const low = Math.max(1, Math.min(cents, next) - (seed % 7));
    const line = `${new Date(ts).toISOString()},${money(cents)},${money(high)},${money(low)},${money(next)},${seed % 10_000}`;
    cents = next;
    return line;
  };
}

/** A minute-bar CSV of consecutive minutes. */
function minuteCsv(rows: number): string {
  const line = barLines();
  const lines = ['Date,Open,High,Low,Close,Volume'];
  const start = Date.UTC(2024, 0, 1);
  for (let i = 0; i < rows; i++) lines.push(line(start + i * 60_000));
  return `${lines.join('\n')}\n`;
}

/** A large minute-bar file written in pieces (never whole in memory). */
async function writeMinuteFile(file: string, rows: number): Promise<void> {
  const out = createWriteStream(file);
  const line = barLines();
  // Minute after minute, ending by the bench clock's day (imports refuse dates past it).
  const start = Math.min(Date.UTC(2015, 0, 1), clock.now().getTime() - rows * 60_000);
  out.write('Date,Open,High,Low,Close,Volume\n');
  let chunk = '';
  for (let i = 0; i < rows; i++) {
    chunk += `${line(start + i * 60_000)}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}

async function benchDatabase(ctx: BenchContext, label: string, db: Database, csv: string, bigFile: string, totalBars: number): Promise<void> {
  await migrate(db, logger);
  const config = loadConfig({ DATA_DIR: 'memory', MARKET_DATA_PROVIDER: 'none', LOG_LEVEL: 'warn' });
  const market = await createMarket({ config, logger, db, clock });
  const repo = createMarketRepository(db, { storagePath: () => market.storagePath });
  const rowsPerSecond = (rows: number, ms: number) => Math.round((rows / ms) * 1000);
  try {
    // CSV import through the service (the admin route), rollups maintained per batch.
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
          notes: `1 op = 1 row, rollups maintained; ${rows} rows in ${Math.round(run.ms)} ms (p50/p99 = the whole import)`,
        });
        ctx.log(`${label} import ${name} ${kind}: ${rate} rows/s (${Math.round(run.ms)} ms)`);
      }
    }

    // The streamed import (`financehub import prices`), with the process's peak memory.
    global.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 50);
    const streamed = await timed(() => market.service.importCsvStream('BIGIMPORT', () => createReadStream(bigFile)));
    clearInterval(sampler);
    if (streamed.value.inserted !== IMPORT_ROWS) throw new Error(`${label}: streamed import gave ${JSON.stringify(streamed.value)}`);
    const rate = rowsPerSecond(IMPORT_ROWS, streamed.ms);
    ctx.record({
      name: `${label}: streamed import of ${IMPORT_ROWS.toLocaleString('en-US')} minute bars (financehub import prices)`,
      unit: 'ops/s',
      throughput: rate,
      p50_ms: Math.round(streamed.ms),
      p99_ms: Math.round(streamed.ms),
      notes: `1 op = 1 row (checked, written${db.kind === 'postgres' ? ' by COPY' : ''}, rollups rebuilt); peak RSS ${Math.round(peak / 2 ** 20)} MiB, ${Math.round((peak - baseline) / 2 ** 20)} MiB above the process before it`,
    });
    ctx.log(`${label}: streamed import ${rate} rows/s, peak RSS ${Math.round(peak / 2 ** 20)} MiB (+${Math.round((peak - baseline) / 2 ** 20)} MiB)`);

    // Ten years of trading sessions for MIN1M (390 minutes a weekday), other symbols
    // alongside up to totalBars, written server-side; then the rollups built.
    const sessionStart = Date.UTC(2015, 0, 5, 14, 30);
    const weekdays: number[] = [];
    for (let d = 0; d < Math.round(YEARS * 365.25); d++) {
      const day = sessionStart + d * 86_400_000;
      const dow = new Date(day).getUTCDay();
      if (dow !== 0 && dow !== 6) weekdays.push(day);
    }
    const perSymbol = weekdays.length * SESSION_MINUTES;
    const symbols = Math.max(1, Math.round(totalBars / perSymbol));
    const from = new Date(Date.UTC(2015, 0, 5));
    const to = new Date(from.getTime() + (Math.round(YEARS * 365.25) + 1) * 86_400_000);
    await market.partitions.ensure('1m', [from, to, ...Array.from({ length: Math.ceil(YEARS * 12) + 1 }, (_, i) => new Date(Date.UTC(2015, i, 1)))]);
    const fill = await timed(async () => {
      for (let s = 0; s < symbols; s++) {
        const symbol = s === 0 ? 'MIN1M' : `OTHER${s}`;
        await db.query(
          `INSERT INTO price_bars (symbol, "interval", ts, open, high, low, close, volume, source)
           SELECT $1, '1m', d + make_interval(mins => m), o, greatest(o, c) + 0.05, least(o, c) - 0.05, c, m, 'bench'
           FROM unnest($2::timestamptz[]) WITH ORDINALITY AS days(d, n)
           CROSS JOIN LATERAL generate_series(0, ${SESSION_MINUTES - 1}) AS m
           CROSS JOIN LATERAL (SELECT 100 + ((n * 390 + m) % 997) / 100.0 AS o, 100 + ((n * 390 + m + 1) % 997) / 100.0 AS c) p`,
          [symbol, weekdays.map((d) => new Date(d).toISOString())],
        );
        await db.transaction((tx) => refreshRollupRange(tx, symbol, from, to));
      }
    });
    const total = symbols * perSymbol;
    ctx.log(`${label}: wrote ${total.toLocaleString('en-US')} minute bars (${symbols} symbols) with rollups in ${Math.round(fill.ms)} ms`);
    ctx.record({
      name: `${label}: server-side write of ${total.toLocaleString('en-US')} minute bars + rollup build`,
      unit: 'ops/s',
      throughput: rowsPerSecond(total, fill.ms),
      p50_ms: Math.round(fill.ms),
      p99_ms: Math.round(fill.ms),
      notes: `1 op = 1 minute bar (INSERT … SELECT generate_series, then refreshRollupRange a month per statement)`,
    });
    for (const [interval, limit, expect] of [
      ['1d', 5000, weekdays.length],
      ['1w', 5000, Math.floor(YEARS * 52)],
      ['1h', 5000, Math.min(5000, weekdays.length * 7)],
      ['15m', 5000, Math.min(5000, weekdays.length * 26)],
    ] as const) {
      const check = await repo.candles('MIN1M', interval, from, to, limit);
      if (check.length < expect - 2) throw new Error(`${label}: ${interval} gave ${check.length} candles, expected about ${expect}`);
      // One untimed call, then nine timed ones.
      const times: number[] = [];
      for (let i = 0; i < 9; i++) times.push((await timed(() => repo.candles('MIN1M', interval, from, to, limit))).ms);
      times.sort((a, b) => a - b);
      const median = times[4] ?? 0;
      ctx.record({
        name: `${label}: ${interval} candles over ${YEARS} years (${perSymbol.toLocaleString('en-US')} minute bars of the symbol, ${total.toLocaleString('en-US')} stored)`,
        unit: 'ops/s',
        throughput: Math.round(1000 / median),
        p50_ms: Math.round(median * 10) / 10,
        p99_ms: Math.round((times[8] ?? 0) * 10) / 10,
        notes: `1 op = 1 candle request (${check.length} candles); p50/p99 = median/max of 9 calls`,
      });
      ctx.log(`${label}: ${interval} candles: ${median.toFixed(1)} ms (${check.length} candles)`);
    }
  } finally {
    await market.close();
  }
}

export async function run(ctx: BenchContext): Promise<void> {
  const csv = minuteCsv(CSV_ROWS);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fh-bench-market-'));
  const bigFile = path.join(dir, 'minutes.csv');
  try {
    await writeMinuteFile(bigFile, IMPORT_ROWS);
    // BENCH_MARKET_ONLY_POSTGRES=1 skips PGlite (for the 10,000,000-bar import on PostgreSQL).
    if (process.env.BENCH_MARKET_ONLY_POSTGRES !== '1') {
      const pglite = await openDatabase({ ...loadConfig({ DATA_DIR: 'memory' }), databaseUrl: undefined, slowQueryMs: 600_000 }, logger);
      try {
        await benchDatabase(ctx, 'PGlite', pglite, csv, bigFile, Number(process.env.BENCH_MARKET_TOTAL_BARS ?? 1_000_000));
      } finally {
        await pglite.close();
      }
    }
    const url = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
    if (url === undefined || url === '') {
      ctx.log('PostgreSQL skipped: set BENCH_DATABASE_URL (or TEST_DATABASE_URL)');
      return;
    }
    const schema = `bench_${randomBytes(4).toString('hex')}`;
    const pg = await openDatabase(
      { ...loadConfig({ DATA_DIR: 'memory', DATABASE_URL: url }), databaseStatementTimeoutMs: 3_600_000, slowQueryMs: 600_000 },
      logger,
      { schema },
    );
    try {
      await benchDatabase(ctx, 'PostgreSQL', pg, csv, bigFile, Number(process.env.BENCH_MARKET_TOTAL_BARS ?? 10_000_000));
    } finally {
      await pg.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await pg.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
