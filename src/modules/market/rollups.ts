// Rollups of one-minute bars (price_rollups, migrations/0080): 5-minute, 1-hour and
// 1-day candles kept current in the transaction that writes the minute bars. Only the
// buckets a write touched are recomputed, each from the level below it (5m from the
// minute bars, 1h from 5m, 1d from 1h), so a late or corrected minute bar rewrites
// exactly its three buckets. Every value stays NUMERIC: open is the open of the
// earliest minute, close the close of the latest, high/low the extremes, volume the sum.
import type { Queryable } from '../../platform/db/index.ts';

export type RollupWidth = '5m' | '1h' | '1d';
export const ROLLUP_WIDTHS: readonly RollupWidth[] = ['5m', '1h', '1d'];

/** Bucket width in ms and as a PostgreSQL interval; all align to BUCKET_ORIGIN (a Monday, 00:00 UTC). */
export const ROLLUP_STEP: Record<RollupWidth, { ms: number; sql: string }> = {
  '5m': { ms: 300_000, sql: '5 minutes' },
  '1h': { ms: 3_600_000, sql: '1 hour' },
  '1d': { ms: 86_400_000, sql: '1 day' },
};

const ORIGIN_MS = Date.parse('2000-01-03T00:00:00Z');

export function bucketStart(ts: number, ms: number): number {
  return ts - ((((ts - ORIGIN_MS) % ms) + ms) % ms);
}

/** The distinct buckets of `width` that the timestamps fall in, ascending. */
export function touchedBuckets(timestamps: readonly number[], width: RollupWidth): number[] {
  const ms = ROLLUP_STEP[width].ms;
  const set = new Set<number>();
  for (const ts of timestamps) set.add(bucketStart(ts, ms));
  return [...set].sort((a, b) => a - b);
}

/**
 * Recomputes the given buckets of `width` for `symbol` from the level below. A bucket
 * with no rows left below it is deleted. $1 symbol, $2 width, $3 step, $4 buckets,
 * $5 lowest bucket, $6 end of the highest bucket.
 */
const REFRESH: Record<RollupWidth, string> = {
  '5m': `
    SELECT date_bin($3::interval, ts, timestamptz '2000-01-03 00:00:00+00') AS bucket,
      min(ts) AS first_ts, max(ts) AS last_ts, max(high) AS high, min(low) AS low, sum(volume) AS volume, count(*)::int AS n
    FROM price_bars
    WHERE symbol = $1 AND "interval" = '1m' AND ts >= $5 AND ts < $6
      AND date_bin($3::interval, ts, timestamptz '2000-01-03 00:00:00+00') = ANY($4::timestamptz[])
    GROUP BY 1`,
  '1h': '',
  '1d': '',
};

function fromLower(lower: RollupWidth): string {
  return `
    SELECT date_bin($3::interval, bucket, timestamptz '2000-01-03 00:00:00+00') AS bucket,
      min(first_ts) AS first_ts, max(last_ts) AS last_ts, max(high) AS high, min(low) AS low, sum(volume) AS volume, sum(bars)::int AS n
    FROM price_rollups
    WHERE symbol = $1 AND width = '${lower}' AND bucket >= $5 AND bucket < $6
      AND date_bin($3::interval, bucket, timestamptz '2000-01-03 00:00:00+00') = ANY($4::timestamptz[])
    GROUP BY 1`;
}
REFRESH['1h'] = fromLower('5m');
REFRESH['1d'] = fromLower('1h');

/**
 * Writes the buckets of `agg` (bucket, first_ts, last_ts, high, low, volume, n) into
 * price_rollups; open and close are the first and last minute bar of each bucket, looked
 * up by primary key. $1 symbol, $2 width.
 */
function writeRollups(agg: string): string {
  return `
    INSERT INTO price_rollups (symbol, width, bucket, open, high, low, close, volume, first_ts, last_ts, bars)
    SELECT $1, $2, agg.bucket,
      (SELECT o.open FROM price_bars o WHERE o.symbol = $1 AND o."interval" = '1m' AND o.ts = agg.first_ts),
      agg.high, agg.low,
      (SELECT c.close FROM price_bars c WHERE c.symbol = $1 AND c."interval" = '1m' AND c.ts = agg.last_ts),
      agg.volume, agg.first_ts, agg.last_ts, agg.n
    FROM ${agg}
    ON CONFLICT (symbol, width, bucket) DO UPDATE SET
      open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close, volume = EXCLUDED.volume,
      first_ts = EXCLUDED.first_ts, last_ts = EXCLUDED.last_ts, bars = EXCLUDED.bars`;
}

/** Buckets with no rows left below them are deleted; the others are rewritten. */
function upsertSql(width: RollupWidth): string {
  return `
    WITH agg AS (${REFRESH[width]}),
    gone AS (
      DELETE FROM price_rollups r
      WHERE r.symbol = $1 AND r.width = $2 AND r.bucket = ANY($4::timestamptz[])
        AND NOT EXISTS (SELECT 1 FROM agg WHERE agg.bucket = r.bucket))
    ${writeRollups('agg')}`;
}
const UPSERT: Record<RollupWidth, string> = { '5m': upsertSql('5m'), '1h': upsertSql('1h'), '1d': upsertSql('1d') };

/**
 * The same refresh for every bucket in [$4, $5) — a bulk import's range, taken a month
 * at a time so each statement stays short. Ranges start on a midnight, so they hold
 * whole buckets of every width; imports only add or change bars, so no bucket empties.
 */
function rangeSql(width: RollupWidth): string {
  const source =
    width === '5m'
      ? `SELECT date_bin($3::interval, ts, timestamptz '2000-01-03 00:00:00+00') AS bucket,
           min(ts) AS first_ts, max(ts) AS last_ts, max(high) AS high, min(low) AS low, sum(volume) AS volume, count(*)::int AS n
         FROM price_bars WHERE symbol = $1 AND "interval" = '1m' AND ts >= $4 AND ts < $5 GROUP BY 1`
      : `SELECT date_bin($3::interval, bucket, timestamptz '2000-01-03 00:00:00+00') AS bucket,
           min(first_ts) AS first_ts, max(last_ts) AS last_ts, max(high) AS high, min(low) AS low, sum(volume) AS volume, sum(bars)::int AS n
         FROM price_rollups WHERE symbol = $1 AND width = '${width === '1h' ? '5m' : '1h'}' AND bucket >= $4 AND bucket < $5 GROUP BY 1`;
  return writeRollups(`(${source}) agg`);
}
const RANGE: Record<RollupWidth, string> = { '5m': rangeSql('5m'), '1h': rangeSql('1h'), '1d': rangeSql('1d') };

/** Rebuilds every rollup of `symbol` in [from, to) (UTC midnights), one calendar month per statement. */
export async function refreshRollupRange(q: Queryable, symbol: string, from: Date, to: Date): Promise<void> {
  for (let start = from; start.getTime() < to.getTime(); ) {
    const next = new Date(Math.min(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1), to.getTime()));
    for (const width of ROLLUP_WIDTHS) await q.query(RANGE[width], [symbol, width, ROLLUP_STEP[width].sql, start.toISOString(), next.toISOString()]);
    start = next;
  }
}

/** Brings every rollup of `symbol` up to date for minute bars written at `timestamps` (ms). */
export async function refreshRollups(q: Queryable, symbol: string, timestamps: readonly number[]): Promise<void> {
  if (timestamps.length === 0) return;
  for (const width of ROLLUP_WIDTHS) {
    const buckets = touchedBuckets(timestamps, width);
    const first = buckets[0];
    const last = buckets[buckets.length - 1];
    if (first === undefined || last === undefined) continue;
    await q.query(UPSERT[width], [
      symbol,
      width,
      ROLLUP_STEP[width].sql,
      buckets.map((b) => new Date(b).toISOString()),
      new Date(first).toISOString(),
      new Date(last + ROLLUP_STEP[width].ms).toISOString(),
    ]);
  }
}
