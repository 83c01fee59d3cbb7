// SQL for market data: bars, candles bucketed with date_bin, latest quotes, instruments
// and watchlists. Every value is a bound parameter; the candle interval picks one of a
// fixed set of bucket widths (never text from the request). NUMERIC arrives as strings.
import type { Database, Queryable } from '../../platform/db/index.ts';
import type { Bar, BarInterval } from './providers/provider.ts';

export type CandleInterval = '1m' | '5m' | '15m' | '1h' | '1d' | '1w';
export const CANDLE_INTERVALS: readonly CandleInterval[] = ['1m', '5m', '15m', '1h', '1d', '1w'];
export type StoragePath = 'timescaledb' | 'plain';

/** Bucket widths (bound as interval parameters) and the stored bars each is built from. */
const BUCKETS: Record<CandleInterval, { width: string; from: 'minute' | 'daily'; ms: number }> = {
  '1m': { width: '1 minute', from: 'minute', ms: 60_000 },
  '5m': { width: '5 minutes', from: 'minute', ms: 300_000 },
  '15m': { width: '15 minutes', from: 'minute', ms: 900_000 },
  '1h': { width: '1 hour', from: 'minute', ms: 3_600_000 },
  '1d': { width: '1 day', from: 'daily', ms: 86_400_000 },
  '1w': { width: '7 days', from: 'daily', ms: 7 * 86_400_000 },
};

export function intervalMs(interval: CandleInterval): number {
  return BUCKETS[interval].ms;
}

/** Buckets are aligned to a Monday 00:00 UTC, so weeks run Monday–Sunday and days are UTC days. */
export const BUCKET_ORIGIN = '2000-01-03T00:00:00Z';

/** Rows per INSERT: nine array parameters carry a whole batch, whatever its size. */
export const IMPORT_BATCH_ROWS = 5000;

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

/** First/last by time within a bucket; works on every PostgreSQL (no extension). For small inputs (days into weeks). */
const OHLCV = `(array_agg(open ORDER BY ts))[1] AS open, max(high) AS high, min(low) AS low,
  (array_agg(close ORDER BY ts DESC))[1] AS close, sum(volume) AS volume`;

/**
 * Minute bars bucketed by `width` (a SQL expression of type interval). The aggregate keeps
 * only the first and last timestamps of each bucket; open and close are then two
 * primary-key lookups per bucket, which is several times cheaper over a million bars
 * than sorting every bucket's prices. The lookups are scalar subqueries, so they stay
 * per-bucket index probes whatever the planner estimates (a join, on a freshly imported
 * table without statistics, was planned as a nested loop over the whole symbol).
 * $1 symbol, $2 origin, $3 from, $4 to.
 */
const minuteBuckets = (width: string, tail = '') => `
  SELECT b.ts,
    (SELECT o.open FROM price_bars o WHERE o.symbol = $1 AND o."interval" = '1m' AND o.ts = b.first_ts) AS open,
    b.high, b.low,
    (SELECT c.close FROM price_bars c WHERE c.symbol = $1 AND c."interval" = '1m' AND c.ts = b.last_ts) AS close,
    b.volume
  FROM (
    SELECT date_bin(${width}, ts, $2::timestamptz) AS ts, min(ts) AS first_ts, max(ts) AS last_ts,
      max(high) AS high, min(low) AS low, sum(volume) AS volume
    FROM price_bars
    WHERE symbol = $1 AND "interval" = '1m' AND ts >= date_bin(${width}, $3::timestamptz, $2::timestamptz) AND ts < $4
    GROUP BY 1 ${tail}) b`;

export function createMarketRepository(db: Database, options: { storagePath: () => StoragePath } = { storagePath: () => 'plain' }) {
  /** Idempotent on (symbol, interval, ts): new rows are inserted, changed ones updated, equal ones left alone. */
  const upsertBars = async (
    q: Queryable,
    symbol: string,
    interval: BarInterval,
    bars: readonly Bar[],
    source: string,
  ): Promise<{ inserted: number; updated: number }> => {
    let inserted = 0;
    let updated = 0;
    for (let start = 0; start < bars.length; start += IMPORT_BATCH_ROWS) {
      const batch = bars.slice(start, start + IMPORT_BATCH_ROWS);
      const { rows } = await q.query<{ inserted: boolean }>(
        `INSERT INTO price_bars (symbol, "interval", ts, open, high, low, close, volume, source)
         SELECT $1, $2, t.ts, t.open, t.high, t.low, t.close, t.volume, $3
         FROM unnest($4::timestamptz[], $5::numeric[], $6::numeric[], $7::numeric[], $8::numeric[], $9::numeric[])
           AS t(ts, open, high, low, close, volume)
         ON CONFLICT (symbol, "interval", ts) DO UPDATE SET
           open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close,
           volume = EXCLUDED.volume, source = EXCLUDED.source
         WHERE (price_bars.open, price_bars.high, price_bars.low, price_bars.close, price_bars.volume, price_bars.source)
           IS DISTINCT FROM (EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close, EXCLUDED.volume, EXCLUDED.source)
         RETURNING (xmax = 0) AS inserted`,
        [
          symbol,
          interval,
          source,
          batch.map((b) => b.ts.toISOString()),
          batch.map((b) => b.open),
          batch.map((b) => b.high),
          batch.map((b) => b.low),
          batch.map((b) => b.close),
          batch.map((b) => b.volume),
        ],
      );
      for (const row of rows) {
        if (row.inserted) inserted++;
        else updated++;
      }
    }
    return { inserted, updated };
  };

  /** The daily series: stored 1d bars, plus days that only have minute bars, bucketed. */
  const dailySource = (minuteView: boolean) =>
    minuteView
      ? // TimescaleDB: the continuous aggregate already holds days built from minutes.
        `stored AS (
           SELECT ts, open, high, low, close, volume FROM price_bars
           WHERE symbol = $1 AND "interval" = '1d' AND ts >= $3 AND ts < $4),
         minute AS (
           SELECT bucket AS ts, open, high, low, close, volume FROM price_bars_1d_from_1m
           WHERE symbol = $1 AND bucket >= $3 AND bucket < $4),`
      : `stored AS (
           SELECT ts, open, high, low, close, volume FROM price_bars
           WHERE symbol = $1 AND "interval" = '1d' AND ts >= $3 AND ts < $4),
         minute AS (${minuteBuckets(`INTERVAL '1 day'`)}),`;

  /**
   * Candles of `interval` with bucket start in [from aligned down, to), the latest
   * `limit` of them, oldest first. Minute-based intervals bucket 1m bars; 1d takes stored
   * daily bars (or days built from minutes where none is stored); 1w buckets that series.
   */
  const candles = async (symbol: string, interval: CandleInterval, from: Date, to: Date, limit: number): Promise<CandleRow[]> => {
    const bucket = BUCKETS[interval];
    const timescale = options.storagePath() === 'timescaledb';
    let sql: string;
    let params: unknown[];
    if (bucket.from === 'minute') {
      const fromView = timescale && interval === '1h';
      sql = fromView
        ? `SELECT bucket AS ts, open, high, low, close, volume FROM price_bars_1h
           WHERE symbol = $1 AND bucket >= date_bin('1 hour', $3::timestamptz, $2::timestamptz) AND bucket < $4
           ORDER BY bucket DESC LIMIT $5`
        : `${minuteBuckets('$5::interval', 'ORDER BY 1 DESC LIMIT $6')} ORDER BY b.ts DESC`;
      params = fromView ? [symbol, BUCKET_ORIGIN, from, to, limit] : [symbol, BUCKET_ORIGIN, from, to, bucket.width, limit];
    } else {
      const daily = `WITH ${dailySource(timescale)}
        daily AS (
          SELECT * FROM stored
          UNION ALL
          SELECT m.* FROM minute m WHERE NOT EXISTS (SELECT 1 FROM stored s WHERE s.ts = m.ts))`;
      sql =
        interval === '1d'
          ? `${daily} SELECT ts, open, high, low, close, volume FROM daily ORDER BY ts DESC LIMIT $5`
          : `${daily} SELECT date_bin('7 days', ts, $2::timestamptz) AS ts, ${OHLCV}
             FROM daily GROUP BY 1 ORDER BY 1 DESC LIMIT $5`;
      // Align `from` to the bucket so the first candle is complete.
      params = [symbol, BUCKET_ORIGIN, alignDown(from, bucket.ms), to, limit];
    }
    const { rows } = await db.query<CandleRow>(sql, params);
    return rows.reverse();
  };

  return {
    upsertBars: (symbol: string, interval: BarInterval, bars: readonly Bar[], source: string) =>
      db.transaction((tx) => upsertBars(tx, symbol, interval, bars, source)),
    upsertBarsIn: upsertBars,
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
