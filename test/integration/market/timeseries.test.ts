// Time-series storage (migrations/0080, market/partitions.ts, market/rollups.ts), on
// PGlite and, with TEST_DATABASE_URL, on PostgreSQL: rollups always equal a date_bin
// aggregation of the raw minute bars, late corrections included; candle queries for
// coarse intervals read the rollups and prune partitions; retention drops whole
// partitions; the TimescaleDB statements are checked as text (CI has no TimescaleDB).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Decimal } from 'decimal.js';
import fc from 'fast-check';
import { createMarket, timescaleStatements, type MarketService, type PartitionManager } from '../../../src/modules/market/index.ts';
import { candleSql } from '../../../src/modules/market/market.repository.ts';
import { partitionFor, partitionsBetween } from '../../../src/modules/market/partitions.ts';
import type { Bar } from '../../../src/modules/market/providers/provider.ts';
import { loadConfig } from '../../../src/config.ts';
import { openDatabase } from '../../../src/platform/db/index.ts';
import { loadMigrations, migrate } from '../../../src/platform/db/migrations.ts';
import { createLogger } from '../../../src/platform/logger.ts';
import { buildTestApp, testEnv, usingPostgres, type TestApp } from '../../helpers/build-test-app.ts';

const ORIGIN = Date.parse('2000-01-03T00:00:00Z');
const WIDTHS = { '5m': 300_000, '1h': 3_600_000, '1d': 86_400_000 } as const;

interface Candle {
  ts: string;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
}

/** The expected candles, computed in the test from the bars alone (not by the code under test). */
function aggregate(bars: ReadonlyMap<number, Bar>, width: number): Candle[] {
  const buckets = new Map<number, Bar[]>();
  for (const bar of bars.values()) {
    const start = bar.ts.getTime() - ((((bar.ts.getTime() - ORIGIN) % width) + width) % width);
    const list = buckets.get(start) ?? [];
    list.push(bar);
    buckets.set(start, list);
  }
  return [...buckets.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([start, list]) => {
      list.sort((a, b) => a.ts.getTime() - b.ts.getTime());
      const first = list[0] as Bar;
      const last = list[list.length - 1] as Bar;
      return {
        ts: new Date(start).toISOString(),
        open: new Decimal(first.open).toString(),
        high: Decimal.max(...list.map((b) => b.high)).toString(),
        low: Decimal.min(...list.map((b) => b.low)).toString(),
        close: new Decimal(last.close).toString(),
        volume: list.reduce((sum, b) => sum.plus(b.volume), new Decimal(0)).toString(),
      };
    });
}

const normalise = (rows: Array<Record<string, unknown>>): Candle[] =>
  rows.map((r) => ({
    ts: (r.ts as Date).toISOString(),
    open: new Decimal(r.open as string).toString(),
    high: new Decimal(r.high as string).toString(),
    low: new Decimal(r.low as string).toString(),
    close: new Decimal(r.close as string).toString(),
    volume: new Decimal(r.volume as string).toString(),
  }));

const price = fc.tuple(fc.integer({ min: 1, max: 99_999 }), fc.integer({ min: 0, max: 9999 })).map(([i, f]) => `${i}.${String(f).padStart(4, '0')}`);

/** One minute bar at minute `minute` after `base`, with a consistent low ≤ open, close ≤ high. */
const barAt = (base: number) =>
  fc.record({ minute: fc.integer({ min: 0, max: 3 * 1440 }), a: price, b: price, c: price, d: price, volume: fc.integer({ min: 0, max: 1_000_000 }) }).map((r) => {
    const sorted = [r.a, r.b, r.c, r.d].sort((x, y) => new Decimal(x).cmp(y));
    return {
      ts: new Date(base + r.minute * 60_000),
      low: sorted[0] as string,
      open: sorted[1] as string,
      close: sorted[2] as string,
      high: sorted[3] as string,
      volume: String(r.volume),
    } satisfies Bar;
  });

describe('time-series storage: partitions and rollups', () => {
  let t: TestApp;
  let service: MarketService;
  let partitions: PartitionManager;
  let close: () => Promise<void>;
  const now = new Date('2026-11-20T12:00:00Z');

  before(async () => {
    t = await buildTestApp();
    const market = await createMarket({
      config: { ...t.config, marketDataProvider: 'none', marketHistoryProvider: 'none', barsRetention1mDays: 90 },
      logger: createLogger('silent'),
      db: t.db,
      clock: { now: () => now },
    });
    ({ service, partitions, close } = market);
  });
  after(async () => {
    await close();
    await t.close();
  });

  it('partitions: minutes by month and days by year, created ahead at start', async () => {
    assert.deepEqual(partitionFor('1m', new Date('2026-02-28T23:59:00Z')), {
      name: 'price_bars_1m_p202602',
      interval: '1m',
      from: new Date('2026-02-01T00:00:00Z'),
      to: new Date('2026-03-01T00:00:00Z'),
    });
    assert.equal(partitionFor('1d', new Date('1999-12-31T00:00:00Z')).name, 'price_bars_1d_p1999');
    assert.deepEqual(
      partitionsBetween('1m', new Date('2025-12-15T00:00:00Z'), new Date('2026-02-01T00:00:00Z')).map((p) => p.name),
      ['price_bars_1m_p202512', 'price_bars_1m_p202601', 'price_bars_1m_p202602'],
    );
    const names = (await partitions.list()).map((p) => p.name);
    for (const expected of ['price_bars_1m_p202611', 'price_bars_1m_p202612', 'price_bars_1m_p202701', 'price_bars_1d_p2026', 'price_bars_1d_p2028']) {
      assert.ok(names.includes(expected), `${expected} exists (${names.join(', ')})`);
    }
  });

  it('property: 5m, 1h and 1d rollups equal a date_bin aggregation of the raw minute bars, with late corrections', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(barAt(Date.parse('2026-10-30T22:00:00Z')), { minLength: 1, maxLength: 60 }), fc.array(fc.nat(), { maxLength: 3 }), async (bars, corrections) => {
        const symbol = `RP${run++}`;
        const stored = new Map<number, Bar>();
        for (const bar of bars) stored.set(bar.ts.getTime(), bar);
        const unique = [...stored.values()];
        // Written in two imports, the second one late and out of order, then corrections
        // of existing bars arrive (a changed close, high and volume).
        const half = Math.ceil(unique.length / 2);
        for (const part of [unique.slice(half).reverse(), unique.slice(0, half)]) {
          if (part.length > 0) await service.importCsv(symbol, csvOf(part));
        }
        for (const pick of corrections) {
          const target = unique[pick % unique.length] as Bar;
          const corrected: Bar = { ...target, close: target.high, volume: String(Number(target.volume) + 7) };
          stored.set(corrected.ts.getTime(), corrected);
          await service.importCsv(symbol, csvOf([corrected]));
        }
        for (const [width, ms] of Object.entries(WIDTHS)) {
          const { rows } = await t.db.query(
            `SELECT bucket AS ts, open, high, low, close, volume FROM price_rollups WHERE symbol = $1 AND width = $2 ORDER BY bucket`,
            [symbol, width],
          );
          assert.deepEqual(normalise(rows), aggregate(stored, ms), `${width} rollup of ${symbol}`);
        }
        // And the raw-bar date_bin aggregation in SQL agrees with both.
        const { rows: binned } = await t.db.query(
          `SELECT date_bin('1 hour', ts, timestamptz '2000-01-03') AS ts, (array_agg(open ORDER BY ts))[1] AS open, max(high) AS high,
             min(low) AS low, (array_agg(close ORDER BY ts DESC))[1] AS close, sum(volume) AS volume
           FROM price_bars WHERE symbol = $1 AND "interval" = '1m' GROUP BY 1 ORDER BY 1`,
          [symbol],
        );
        assert.deepEqual(normalise(binned), aggregate(stored, WIDTHS['1h']));
      }),
      { numRuns: 25 },
    );
  });

  it('candles for 5m, 15m, 1h and 1d come from the rollups and equal the aggregation of the raw bars', async () => {
    const bars: Bar[] = [];
    for (let i = 0; i < 3 * 1440; i += 7) {
      const p = (1000 + ((i * 37) % 500)).toString();
      bars.push({ ts: new Date(Date.parse('2026-11-02T00:00:00Z') + i * 60_000), open: p, high: `${p}.5`, low: `${Number(p) - 1}`, close: `${p}.25`, volume: String(i) });
    }
    await service.importCsv('RC', csvOf(bars));
    const stored = new Map(bars.map((b) => [b.ts.getTime(), b]));
    const from = new Date('2026-11-02T00:00:00Z');
    const to = new Date('2026-11-05T00:00:00Z');
    for (const [interval, ms] of [['5m', 300_000], ['15m', 900_000], ['1h', 3_600_000], ['1d', 86_400_000]] as const) {
      const candles = await service.candles('RC', interval, { from, to, limit: 10_000 });
      assert.deepEqual(normalise(candles as unknown as Array<Record<string, unknown>>), aggregate(stored, ms), interval);
    }
    // The 1h and 1d plans read price_rollups, never the raw minute bars.
    for (const interval of ['5m', '1h', '1d'] as const) {
      const plan = await explain(t, candleSql('partitioned', interval), ['RC', from, to, 100]);
      assert.match(plan, /price_rollups/, `${interval} reads the rollup`);
      assert.doesNotMatch(plan, /price_bars_1m/, `${interval} does not touch raw minute bars`);
    }
  });

  it('a query on a time range prunes the partitions outside it (EXPLAIN)', async () => {
    await service.importCsv('PR', csvOf([bar('2026-09-10T10:00:00Z'), bar('2026-10-10T10:00:00Z'), bar('2026-11-10T10:00:00Z')]));
    const plan = await explain(t, candleSql('partitioned', '1m'), ['PR', new Date('2026-10-01T00:00:00Z'), new Date('2026-10-31T00:00:00Z'), 100]);
    assert.match(plan, /price_bars_1m_p202610/);
    assert.doesNotMatch(plan, /price_bars_1m_p202609|price_bars_1m_p202611|price_bars_1d/);
  });

  it('a bar of a month with no partition yet gets one on demand', async () => {
    const before = (await partitions.list()).map((p) => p.name);
    assert.ok(!before.includes('price_bars_1m_p202608'));
    await service.importCsv('OD', csvOf([bar('2026-08-31T23:59:00Z')]));
    assert.ok((await partitions.list()).some((p) => p.name === 'price_bars_1m_p202608'));
    const { rows } = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM price_bars_1m_p202608 WHERE symbol = 'OD'`);
    assert.equal(rows[0]?.n, 1);
  });

  it('retention drops whole partitions past BARS_RETENTION_1M_DAYS and refuses bars older than it; rollups stay', async () => {
    // 90 days before 2026-11-20: partitions ending on or before 2026-08-22 go.
    await service.importCsv('RT', csvOf([bar('2026-08-20T10:00:00Z'), bar('2026-09-20T10:00:00Z')]));
    const result = await partitions.maintain(new Date('2026-11-20T12:00:00Z'), { retentionDays: { '1m': 90, '1d': 0 } });
    assert.ok(!result.dropped.includes('price_bars_1m_p202609'));
    const { rows: kept } = await t.db.query<{ ts: Date }>(`SELECT ts FROM price_bars WHERE symbol = 'RT' ORDER BY ts`);
    assert.deepEqual(kept.map((r) => r.ts.toISOString()), ['2026-08-20T10:00:00.000Z', '2026-09-20T10:00:00.000Z']);
    const later = await partitions.maintain(new Date('2026-12-01T00:00:00Z'), { retentionDays: { '1m': 90, '1d': 0 } });
    assert.ok(later.dropped.includes('price_bars_1m_p202608'), `dropped ${later.dropped.join(', ')}`);
    const { rows: left } = await t.db.query<{ ts: Date }>(`SELECT ts FROM price_bars WHERE symbol = 'RT' ORDER BY ts`);
    assert.deepEqual(left.map((r) => r.ts.toISOString()), ['2026-09-20T10:00:00.000Z']);
    // The candles built from the dropped minutes are kept.
    const { rows: daily } = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM price_rollups WHERE symbol = 'RT' AND width = '1d'`);
    assert.equal(daily[0]?.n, 2);
    // Bars from a partition that would be dropped at once are refused, all or nothing.
    await assert.rejects(service.importCsv('RT', csvOf([bar('2026-07-01T10:00:00Z'), bar('2026-11-01T10:00:00Z')])), (err: Error & { code?: string }) => err.code === 'outside_retention');
    const { rows: after } = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM price_bars WHERE symbol = 'RT'`);
    assert.equal(after[0]?.n, 1);
  });
});

describe('upgrading a database whose bars predate partitioning', () => {
  it('the migration moves every stored bar into its partition and builds the rollups of the minute bars', async () => {
    const config = loadConfig(testEnv());
    const logger = createLogger('silent');
    const schema = `t_${randomBytes(6).toString('hex')}`;
    const db = await openDatabase(config, logger, usingPostgres ? { schema } : {});
    try {
      const all = loadMigrations();
      await migrate(db, logger, all.filter((m) => m.version < 80));
      await db.query(
        `INSERT INTO price_bars (symbol, "interval", ts, open, high, low, close, volume, source) VALUES
           ('UP', '1d', '1999-12-31', 1, 2, 1, 2, 10, 'csv'), ('UP', '1d', '2000-01-03', 2, 3, 2, 3, 10, 'csv'),
           ('UP', '1m', '2026-01-31T23:59:00Z', 5, 6, 4, 5.5, 1, 'csv'), ('UP', '1m', '2026-02-01T00:00:00Z', 5.5, 7, 5, 6, 2, 'csv'),
           ('UP', '1m', '2026-02-01T00:04:00Z', 6, 6, 3, 4, 3, 'csv')`,
      );
      await migrate(db, logger, all);
      const { rows } = await db.query<{ partition: string; n: number }>(
        `SELECT tableoid::regclass::text AS partition, count(*)::int AS n FROM price_bars WHERE symbol = 'UP' GROUP BY 1 ORDER BY 1`,
      );
      assert.deepEqual(rows.map((r) => [r.partition.replace(/^.*\./, ''), r.n]), [
        ['price_bars_1d_p1999', 1],
        ['price_bars_1d_p2000', 1],
        ['price_bars_1m_p202601', 1],
        ['price_bars_1m_p202602', 2],
      ]);
      const { rows: rollups } = await db.query(`SELECT bucket AS ts, open, high, low, close, volume FROM price_rollups WHERE symbol = 'UP' AND width = '5m' ORDER BY bucket`);
      assert.deepEqual(normalise(rollups), [
        { ts: '2026-01-31T23:55:00.000Z', open: '5', high: '6', low: '4', close: '5.5', volume: '1' },
        { ts: '2026-02-01T00:00:00.000Z', open: '5.5', high: '7', low: '3', close: '4', volume: '5' },
      ]);
    } finally {
      if (usingPostgres) await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await db.close();
    }
  });
});

describe('TimescaleDB statements (checked as text: CI has no TimescaleDB)', () => {
  it('a hypertable, one continuous aggregate per rollup width with first/last by time and a refresh policy, retention when set', () => {
    const statements = timescaleStatements({ retentionDays: 30 });
    assert.equal(statements[0], 'CREATE EXTENSION IF NOT EXISTS timescaledb');
    assert.match(statements[1] ?? '', /create_hypertable\('price_bars', 'ts'/);
    for (const [view, step] of [['price_bars_5m', '5 minutes'], ['price_bars_1h', '1 hour'], ['price_bars_1d_from_1m', '1 day']]) {
      const create = statements.find((s) => s.includes(`CREATE MATERIALIZED VIEW IF NOT EXISTS ${view} `));
      assert.ok(create !== undefined, view);
      assert.match(create, new RegExp(`time_bucket\\(INTERVAL '${step}', ts, TIMESTAMPTZ '2000-01-03 00:00:00\\+00'\\)`));
      assert.match(create, /first\(open, ts\) AS open, max\(high\) AS high, min\(low\) AS low, last\(close, ts\) AS close, sum\(volume\) AS volume/);
      assert.match(create, /WHERE "interval" = '1m'/);
      assert.ok(statements.some((s) => s.includes(`add_continuous_aggregate_policy('${view}'`)));
    }
    assert.match(statements.at(-1) ?? '', /add_retention_policy\('price_bars', drop_after => INTERVAL '30 days'/);
    assert.ok(!timescaleStatements({ retentionDays: 0 }).some((s) => s.includes('add_retention_policy')));
  });

  it('candle queries on TimescaleDB read the continuous aggregates, with the same columns', () => {
    assert.match(candleSql('timescaledb', '1h'), /FROM price_bars_1h WHERE symbol = \$1/);
    assert.match(candleSql('timescaledb', '15m'), /FROM price_bars_5m WHERE symbol = \$1/);
    assert.match(candleSql('timescaledb', '1d'), /FROM price_bars_1d_from_1m WHERE symbol = \$1/);
    assert.doesNotMatch(candleSql('timescaledb', '1h'), /price_rollups/);
  });
});

function bar(iso: string): Bar {
  return { ts: new Date(iso), open: '10', high: '11', low: '9', close: '10.5', volume: '100' };
}

function csvOf(bars: readonly Bar[]): string {
  return ['Date,Open,High,Low,Close,Volume', ...bars.map((b) => `${b.ts.toISOString()},${b.open},${b.high},${b.low},${b.close},${b.volume}`)].join('\n');
}

async function explain(t: TestApp, sql: string, params: unknown[]): Promise<string> {
  const { rows } = await t.db.query<Record<string, string>>(`EXPLAIN ${sql}`, params);
  return rows.map((r) => Object.values(r).join(' ')).join('\n');
}
