// SQL for market data: bars (partitioned by time, market/partitions.ts) with their
// rollups (market/rollups.ts), candles, latest quotes, instruments and watchlists. Every value is a bound parameter; the candle interval picks one of a
// fixed set of bucket widths (never text from the request). NUMERIC arrives as strings.
import type { Database, Queryable } from '../../platform/db/index.ts';
import type { Bar, BarInterval } from './providers/provider.ts';
import { AppError } from '../../platform/errors.ts';
import { isPastRetention, partitionsBetween, type PartitionManager } from './partitions.ts';
import { refreshRollupRange, refreshRollups, type RollupWidth } from './rollups.ts';

export type CandleInterval = '1m' | '5m' | '15m' | '1h' | '1d' | '1w';
export const CANDLE_INTERVALS: readonly CandleInterval[] = ['1m', '5m', '15m', '1h', '1d', '1w'];
export type StoragePath = 'partitioned' | 'timescaledb' | 'plain';

/** The TimescaleDB continuous aggregate that stands in for each rollup width (market/storage.ts). */
export const CONTINUOUS_AGGREGATE: Record<RollupWidth, string> = {
  '5m': 'price_bars_5m',
  '1h': 'price_bars_1h',
  '1d': 'price_bars_1d_from_1m',
};

/** Bucket widths of each candle interval. */
const BUCKETS: Record<CandleInterval, { ms: number }> = {
  '1m': { ms: 60_000 },
  '5m': { ms: 300_000 },
  '15m': { ms: 900_000 },
  '1h': { ms: 3_600_000 },
  '1d': { ms: 86_400_000 },
  '1w': { ms: 7 * 86_400_000 },
};

export function intervalMs(interval: CandleInterval): number {
  return BUCKETS[interval].ms;
}

/** Buckets are aligned to a Monday 00:00 UTC, so weeks run Monday–Sunday and days are UTC days. */
export const BUCKET_ORIGIN = '2000-01-03T00:00:00Z';

/** Rows per INSERT: nine array parameters carry a whole batch, whatever its size. */
export const IMPORT_BATCH_ROWS = 5000;
/**
 * Rows per INSERT on PGlite, where a statement runs on the main thread: 5,000 daily bars
 * in one held the event loop for ~115 ms (a first candle request that fills 20 years);
 * 500 cost about a tenth of that, with a turn of the loop after each (FAIL-023).
 */
export const PGLITE_BATCH_ROWS = 500;

export interface CandleRow {
  ts: Date;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
}

export interface QuoteRow {
  symbol: string;
  price: string;
  previous_close: string | null;
  as_of: Date;
  source: string;
}

export interface LatestBarRow {
  symbol: string;
  ts: Date;
  interval: BarInterval;
  close: string;
  previous_close: string | null;
  source: string;
}

export interface InstrumentRow {
  symbol: string;
  name: string | null;
  type: string | null;
  exchange: string | null;
  currency: string | null;
  source: string;
}

export interface WatchlistRow {
  symbol: string;
  added_at: Date;
}

/** First/last by time within a bucket; for small inputs (5-minute rollups into 15 minutes, days into weeks). */
const OHLCV = `(array_agg(open ORDER BY ts))[1] AS open, max(high) AS high, min(low) AS low,
  (array_agg(close ORDER BY ts DESC))[1] AS close, sum(volume) AS volume`;

/**
 * The rows of one rollup width for symbol $1, as (ts, open, high, low, close, volume):
 * the incrementally maintained price_rollups table, or on TimescaleDB its continuous
 * aggregate. The width is one of a fixed set, never text from a request.
 */
export function rollupSource(path: StoragePath, width: RollupWidth): string {
  if (path === 'timescaledb') {
    return `SELECT bucket AS ts, open, high, low, close, volume FROM ${CONTINUOUS_AGGREGATE[width]} WHERE symbol = $1`;
  }
  return `SELECT bucket AS ts, open, high, low, close, volume FROM price_rollups WHERE symbol = $1 AND width = '${width}'`;
}

/**
 * The SQL of a candle request for symbol $1, bucket start in [$2, $3), newest $4 first.
 * Every candle is a whole bucket: 1m reads the raw bars, 5m and 1h read their rollup,
 * 15m groups 5-minute rollups, 1d takes stored daily bars and, for days with none,
 * the daily rollup of minutes; 1w groups that daily series.
 */
export function candleSql(path: StoragePath, interval: CandleInterval): string {
  switch (interval) {
    case '1m':
      return `SELECT ts, open, high, low, close, volume FROM price_bars
        WHERE symbol = $1 AND "interval" = '1m' AND ts >= $2 AND ts < $3 ORDER BY ts DESC LIMIT $4`;
    case '5m':
    case '1h':
      return `SELECT * FROM (${rollupSource(path, interval)}) r WHERE ts >= $2 AND ts < $3 ORDER BY ts DESC LIMIT $4`;
    case '15m':
      return `SELECT date_bin('15 minutes', ts, timestamptz '${BUCKET_ORIGIN}') AS ts, ${OHLCV}
        FROM (${rollupSource(path, '5m')}) r
        WHERE ts >= $2 AND ts < $3::timestamptz + interval '10 minutes'
          AND date_bin('15 minutes', ts, timestamptz '${BUCKET_ORIGIN}') < $3
        GROUP BY 1 ORDER BY 1 DESC LIMIT $4`;
    case '1d':
    case '1w': {
      // A week straddling `to` still gets all of its days.
      const end = interval === '1d' ? '$3' : `$3::timestamptz + interval '6 days'`;
      const daily = `WITH stored AS (
          SELECT ts, open, high, low, close, volume FROM price_bars
          WHERE symbol = $1 AND "interval" = '1d' AND ts >= $2 AND ts < ${end}),
        minute AS (SELECT * FROM (${rollupSource(path, '1d')}) r WHERE ts >= $2 AND ts < ${end}),
        daily AS (
          SELECT * FROM stored
          UNION ALL
          SELECT m.* FROM minute m WHERE NOT EXISTS (SELECT 1 FROM stored s WHERE s.ts = m.ts))`;
      return interval === '1d'
        ? `${daily} SELECT ts, open, high, low, close, volume FROM daily ORDER BY ts DESC LIMIT $4`
        : `${daily} SELECT date_bin('7 days', ts, timestamptz '${BUCKET_ORIGIN}') AS ts, ${OHLCV}
           FROM daily WHERE date_bin('7 days', ts, timestamptz '${BUCKET_ORIGIN}') < $3 GROUP BY 1 ORDER BY 1 DESC LIMIT $4`;
    }
  }
}

export interface MarketRepositoryOptions {
  storagePath: () => StoragePath;
  /** Creates the time partitions bars are written to (a no-op unless partitioned). */
  partitions?: Pick<PartitionManager, 'ensure'>;
  /** Days each interval's bars are kept (0: forever) and the clock they are measured on. */
  retentionDays?: Record<BarInterval, number>;
  now?: () => Date;
}

export function createMarketRepository(db: Database, options: MarketRepositoryOptions = { storagePath: () => 'partitioned' }) {
  const retention = options.retentionDays ?? { '1m': 0, '1d': 0 };
  const batchRows = db.kind === 'pglite' ? PGLITE_BATCH_ROWS : IMPORT_BATCH_ROWS;
  const now = options.now ?? (() => new Date());
  /** Bars whose partition lies wholly past the retention horizon are not stored. */
  const retained = (interval: BarInterval, bars: readonly Bar[]): readonly Bar[] => {
    if (retention[interval] <= 0) return bars;
    const at = now();
    return bars.filter((b) => !isPastRetention(interval, b.ts, at, retention[interval]));
  };
  /** Partitions first, in their own short transaction; then the bars in the caller's. */
  const write = async (symbol: string, interval: BarInterval, bars: readonly Bar[], source: string) => {
    if (retained(interval, bars).length !== bars.length) {
      throw new AppError(422, 'outside_retention', 'Unprocessable content', {
        detail: `${interval} bars are kept for ${retention[interval]} days; bars older than that are not stored, and nothing was imported`,
      });
    }
    await options.partitions?.ensure(interval, bars.map((b) => b.ts));
    return db.transaction((tx) => upsertBars(tx, symbol, interval, bars, source));
  };
  /** Idempotent on (symbol, interval, ts): new rows are inserted, changed ones updated, equal ones left alone. */
  const upsertBars = async (
    q: Queryable,
    symbol: string,
    interval: BarInterval,
    bars: readonly Bar[],
    source: string,
    what: { rollups: boolean } = { rollups: true },
  ): Promise<{ inserted: number; updated: number }> => {
    let inserted = 0;
    let updated = 0;
    const maintainRollups = what.rollups && interval === '1m' && options.storagePath() !== 'timescaledb';
    for (let start = 0; start < bars.length; start += batchRows) {
      const batch = bars.slice(start, start + batchRows);
      const times = batch.map((b) => b.ts.toISOString());
      // How many of the batch exist already: every other row is an insert. (A partitioned
      // table cannot report xmax in RETURNING, which would tell inserts from updates.)
      const before = await q.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM price_bars WHERE symbol = $1 AND "interval" = $2 AND ts = ANY($3::timestamptz[])`,
        [symbol, interval, times],
      );
      const { rows } = await q.query<{ ts: Date }>(
        `INSERT INTO price_bars (symbol, "interval", ts, open, high, low, close, volume, source)
         SELECT $1, $2, t.ts, t.open, t.high, t.low, t.close, t.volume, $3
         FROM unnest($4::timestamptz[], $5::numeric[], $6::numeric[], $7::numeric[], $8::numeric[], $9::numeric[])
           AS t(ts, open, high, low, close, volume)
         ON CONFLICT (symbol, "interval", ts) DO UPDATE SET
           open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close,
           volume = EXCLUDED.volume, source = EXCLUDED.source
         WHERE (price_bars.open, price_bars.high, price_bars.low, price_bars.close, price_bars.volume, price_bars.source)
           IS DISTINCT FROM (EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close, EXCLUDED.volume, EXCLUDED.source)
         RETURNING ts`,
        [
          symbol,
          interval,
          source,
          times,
          batch.map((b) => b.open),
          batch.map((b) => b.high),
          batch.map((b) => b.low),
          batch.map((b) => b.close),
          batch.map((b) => b.volume),
        ],
      );
      const batchInserted = batch.length - (before.rows[0]?.n ?? 0);
      inserted += batchInserted;
      updated += rows.length - batchInserted;
      // Minute bars feed the rollups: the buckets of the rows that changed are recomputed
      // in this same transaction, so a reader never sees bars without their candles.
      if (maintainRollups && rows.length > 0) await refreshRollups(q, symbol, rows.map((r) => r.ts.getTime()));
    }
    return { inserted, updated };
  };

  /**
   * Candles of `interval` with bucket start in [from aligned down, to), the latest
   * `limit` of them, oldest first (see candleSql).
   */
  const candles = async (symbol: string, interval: CandleInterval, from: Date, to: Date, limit: number): Promise<CandleRow[]> => {
    const { rows } = await db.query<CandleRow>(candleSql(options.storagePath(), interval), [symbol, alignDown(from, BUCKETS[interval].ms), to, limit]);
    return rows.reverse();
  };

  /**
   * A streamed import (all or none): bars arrive in batches and are never all in memory.
   * On PostgreSQL they are copied (COPY … FROM STDIN) into a temporary table and merged
   * into price_bars one partition's range at a time; on PGlite they are upserted batch by
   * batch. Either way the rollups of the imported range are rebuilt in the same transaction.
   */
  const importStream = async (
    symbol: string,
    file: { interval: BarInterval; first: Date; last: Date },
    batches: AsyncIterable<readonly Bar[]>,
    source: string,
    onWritten?: (rows: number) => void,
  ): Promise<{ inserted: number; updated: number }> => {
    const { interval, first, last } = file;
    if (retained(interval, [{ ts: first, open: '0', high: '0', low: '0', close: '0', volume: '0' }]).length === 0) {
      throw new AppError(422, 'outside_retention', 'Unprocessable content', {
        detail: `${interval} bars are kept for ${retention[interval]} days; the file starts before that, and nothing was imported`,
      });
    }
    const ranges = partitionsBetween(interval, first, last);
    await options.partitions?.ensure(interval, ranges.map((p) => p.from));
    const maintainRollups = interval === '1m' && options.storagePath() !== 'timescaledb';
    return db.transaction(async (tx) => {
      let inserted = 0;
      let updated = 0;
      let written = 0;
      if (tx.copyFrom === undefined) {
        for await (const batch of batches) {
          const counts = await upsertBars(tx, symbol, interval, batch, source, { rollups: false });
          inserted += counts.inserted;
          updated += counts.updated;
          written += batch.length;
          onWritten?.(written);
        }
      } else {
        await tx.query(
          `CREATE TEMP TABLE import_bars (ts timestamptz NOT NULL, open numeric NOT NULL, high numeric NOT NULL,
             low numeric NOT NULL, close numeric NOT NULL, volume numeric NOT NULL) ON COMMIT DROP`,
        );
        // Validated values only (ISO timestamps, plain decimals): nothing to escape.
        async function* lines(): AsyncGenerator<string> {
          for await (const batch of batches) {
            let chunk = '';
            for (const b of batch) chunk += `${b.ts.toISOString()}\t${b.open}\t${b.high}\t${b.low}\t${b.close}\t${b.volume}\n`;
            written += batch.length;
            onWritten?.(written);
            yield chunk;
          }
        }
        await tx.copyFrom('COPY import_bars (ts, open, high, low, close, volume) FROM STDIN', lines());
        await tx.query('CREATE INDEX ON import_bars (ts)');
        await tx.query('ANALYZE import_bars');
        for (const p of ranges) {
          const range = [symbol, interval, p.from, p.to];
          const { rows } = await tx.query<{ rows: number; existing: number }>(
            `SELECT count(*)::int AS rows, count(b.ts)::int AS existing FROM import_bars i
               LEFT JOIN price_bars b ON b.symbol = $1 AND b."interval" = $2 AND b.ts = i.ts
             WHERE i.ts >= $3 AND i.ts < $4`,
            range,
          );
          const { rowCount } = await tx.query(
            `INSERT INTO price_bars (symbol, "interval", ts, open, high, low, close, volume, source)
             SELECT $1, $2, i.ts, i.open, i.high, i.low, i.close, i.volume, $5 FROM import_bars i WHERE i.ts >= $3 AND i.ts < $4
             ON CONFLICT (symbol, "interval", ts) DO UPDATE SET
               open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close,
               volume = EXCLUDED.volume, source = EXCLUDED.source
             WHERE (price_bars.open, price_bars.high, price_bars.low, price_bars.close, price_bars.volume, price_bars.source)
               IS DISTINCT FROM (EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close, EXCLUDED.volume, EXCLUDED.source)`,
            [...range, source],
          );
          const fresh = (rows[0]?.rows ?? 0) - (rows[0]?.existing ?? 0);
          inserted += fresh;
          updated += rowCount - fresh;
        }
      }
      if (maintainRollups && inserted + updated > 0) {
        const day = 86_400_000;
        await refreshRollupRange(tx, symbol, new Date(first.getTime() - (first.getTime() % day)), new Date(last.getTime() - (last.getTime() % day) + day));
      }
      return { inserted, updated };
    });
  };

  return {
    importStream,
    /** Writes bars (all or none) after creating their partitions; 422 for bars past retention. */
    upsertBars: write,
    /** The bars still inside their interval's retention (provider fills store only these). */
    retained,
    candles,

    async latestBarTs(symbol: string, interval: BarInterval): Promise<Date | null> {
      const { rows } = await db.query<{ ts: Date | null }>(
        `SELECT max(ts) AS ts FROM price_bars WHERE symbol = $1 AND "interval" = $2`,
        [symbol, interval],
      );
      return rows[0]?.ts ?? null;
    },

    async countBars(symbol: string, interval: BarInterval): Promise<number> {
      const { rows } = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM price_bars WHERE symbol = $1 AND "interval" = $2`,
        [symbol, interval],
      );
      return rows[0]?.n ?? 0;
    },

    async latestQuotes(symbols: readonly string[]): Promise<QuoteRow[]> {
      if (symbols.length === 0) return [];
      const { rows } = await db.query<QuoteRow>(
        'SELECT symbol, price, previous_close, as_of, source FROM quotes WHERE symbol = ANY($1::text[])',
        [symbols],
      );
      return rows;
    },

    /** Keeps the newest quote: an older one arriving late never overwrites it. */
    async saveQuote(quote: QuoteRow): Promise<void> {
      await db.query(
        `INSERT INTO quotes (symbol, price, previous_close, as_of, source, updated_at)
         VALUES ($1, $2, $3, $4, $5, now())
         ON CONFLICT (symbol) DO UPDATE SET price = EXCLUDED.price, previous_close = EXCLUDED.previous_close,
           as_of = EXCLUDED.as_of, source = EXCLUDED.source, updated_at = now()
         WHERE quotes.as_of <= EXCLUDED.as_of`,
        [quote.symbol, quote.price, quote.previous_close, quote.as_of, quote.source],
      );
    },

    /** The newest stored bar per symbol and the daily close before its day (quotes without a provider). */
    async latestBars(symbols: readonly string[]): Promise<LatestBarRow[]> {
      if (symbols.length === 0) return [];
      const { rows } = await db.query<LatestBarRow>(
        `SELECT s.symbol, b.ts, b."interval" AS interval, b.close, b.source,
           (SELECT p.close FROM price_bars p
             WHERE p.symbol = s.symbol AND p."interval" = '1d' AND p.ts < date_bin('1 day', b.ts, $2::timestamptz)
             ORDER BY p.ts DESC LIMIT 1) AS previous_close
         FROM unnest($1::text[]) AS s(symbol)
         CROSS JOIN LATERAL (
           SELECT ts, "interval", close, source FROM price_bars WHERE symbol = s.symbol ORDER BY ts DESC LIMIT 1
         ) b`,
        [symbols, BUCKET_ORIGIN],
      );
      return rows;
    },

    async dailyCloses(symbols: readonly string[], from: Date, to: Date): Promise<Array<{ symbol: string; ts: Date; close: string }>> {
      if (symbols.length === 0) return [];
      const { rows } = await db.query<{ symbol: string; ts: Date; close: string }>(
        `SELECT symbol, ts, close FROM price_bars
         WHERE symbol = ANY($1::text[]) AND "interval" = '1d' AND ts >= $2 AND ts <= $3
         ORDER BY symbol, ts`,
        [symbols, from, to],
      );
      return rows;
    },

    async saveInstruments(items: readonly InstrumentRow[]): Promise<void> {
      if (items.length === 0) return;
      await db.query(
        `INSERT INTO instruments (symbol, name, type, exchange, currency, source, updated_at)
         SELECT * , now() FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
         ON CONFLICT (symbol) DO UPDATE SET
           name = COALESCE(EXCLUDED.name, instruments.name), type = COALESCE(EXCLUDED.type, instruments.type),
           exchange = COALESCE(EXCLUDED.exchange, instruments.exchange),
           currency = COALESCE(EXCLUDED.currency, instruments.currency), source = EXCLUDED.source, updated_at = now()`,
        [
          items.map((i) => i.symbol),
          items.map((i) => i.name),
          items.map((i) => i.type),
          items.map((i) => i.exchange),
          items.map((i) => i.currency),
          items.map((i) => i.source),
        ],
      );
    },

    /** Instruments whose symbol starts with, or whose name contains, the query (LIKE wildcards escaped). */
    async searchInstruments(query: string, limit: number): Promise<InstrumentRow[]> {
      const escaped = query.replace(/[\\%_]/g, (c) => `\\${c}`);
      const { rows } = await db.query<InstrumentRow>(
        `SELECT symbol, name, type, exchange, currency, source FROM instruments
         WHERE symbol LIKE $1 || '%' OR name ILIKE '%' || $2 || '%'
         ORDER BY (symbol = $3) DESC, symbol LIMIT $4`,
        [escaped.toUpperCase(), escaped, query.toUpperCase(), limit],
      );
      return rows;
    },

    async watchlist(userId: string): Promise<WatchlistRow[]> {
      const { rows } = await db.query<WatchlistRow>(
        'SELECT symbol, added_at FROM watchlist WHERE user_id = $1 ORDER BY added_at, symbol',
        [userId],
      );
      return rows;
    },

    /** Symbols on anybody's watchlist, the most watched first (ties by symbol); at most `limit`. */
    async mostWatched(limit: number): Promise<string[]> {
      const { rows } = await db.query<{ symbol: string }>(
        'SELECT symbol FROM watchlist GROUP BY symbol ORDER BY count(*) DESC, symbol LIMIT $1',
        [limit],
      );
      return rows.map((r) => r.symbol);
    },

    async watchlistCount(userId: string): Promise<number> {
      const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM watchlist WHERE user_id = $1', [userId]);
      return rows[0]?.n ?? 0;
    },

    /**
     * Adds a symbol unless the list already holds `cap` symbols. A per-user advisory lock
     * serialises concurrent adds, so parallel requests cannot overshoot the cap.
     */
    addToWatchlist(userId: string, symbol: string, cap: number, at: Date): Promise<{ outcome: 'added' | 'exists' | 'full'; row?: WatchlistRow }> {
      return db.transaction(async (tx) => {
        await tx.query(`SELECT pg_advisory_xact_lock(hashtext('financehub:watchlist:' || $1))`, [userId]);
        const existing = await tx.query<WatchlistRow>('SELECT symbol, added_at FROM watchlist WHERE user_id = $1 AND symbol = $2', [userId, symbol]);
        if (existing.rows[0] !== undefined) return { outcome: 'exists', row: existing.rows[0] };
        const { rows } = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM watchlist WHERE user_id = $1', [userId]);
        if ((rows[0]?.n ?? 0) >= cap) return { outcome: 'full' };
        const inserted = await tx.query<WatchlistRow>(
          'INSERT INTO watchlist (user_id, symbol, added_at) VALUES ($1, $2, $3) RETURNING symbol, added_at',
          [userId, symbol, at],
        );
        return { outcome: 'added', ...(inserted.rows[0] === undefined ? {} : { row: inserted.rows[0] }) };
      });
    },

    async removeFromWatchlist(userId: string, symbol: string): Promise<boolean> {
      const { rowCount } = await db.query('DELETE FROM watchlist WHERE user_id = $1 AND symbol = $2', [userId, symbol]);
      return rowCount > 0;
    },

    /** Every watched symbol (live-quote subscriptions). */
    async watchedSymbols(): Promise<string[]> {
      const { rows } = await db.query<{ symbol: string }>('SELECT DISTINCT symbol FROM watchlist ORDER BY symbol');
      return rows.map((r) => r.symbol);
    },
  };
}

export type MarketRepository = ReturnType<typeof createMarketRepository>;

function alignDown(date: Date, ms: number): Date {
  const origin = Date.parse(BUCKET_ORIGIN);
  const offset = (((date.getTime() - origin) % ms) + ms) % ms;
  return new Date(date.getTime() - offset);
}
