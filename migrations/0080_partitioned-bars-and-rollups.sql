-- Time-series storage at scale.
--
-- Raw bars: price_bars is partitioned by interval, then by time: one-minute bars in
-- monthly partitions (price_bars_1m_pYYYYMM), daily bars in yearly ones
-- (price_bars_1d_pYYYY). A query on (symbol, interval, ts range) touches only the
-- partitions of that range, and retention drops whole partitions. Partitions are
-- created ahead by the market module's maintenance and on demand before bars are
-- written (market/partitions.ts); there is no default partition, so a row never lands
-- where retention or pruning cannot see it.
--
-- Rollups: price_rollups holds 5-minute, 1-hour and 1-day candles built from the
-- one-minute bars, kept current in the same transaction as every write of minute bars
-- (only the buckets the write touched are recomputed), so candle requests for coarse
-- intervals read a few rows instead of aggregating raw minutes. Exact: NUMERIC
-- throughout; open is the first minute's open, close the last minute's close.
--
-- When the TimescaleDB extension is available, price_bars stays a plain table: the
-- market module turns it into a hypertable with continuous aggregates at start-up
-- (market/storage.ts), and price_rollups stays empty.

CREATE TABLE price_rollups (
  symbol text NOT NULL CHECK (symbol ~ '^[A-Z0-9][A-Z0-9.\-]{0,14}$'),
  width text NOT NULL CHECK (width IN ('5m', '1h', '1d')),
  bucket timestamptz NOT NULL,
  open numeric NOT NULL,
  high numeric NOT NULL,
  low numeric NOT NULL,
  close numeric NOT NULL,
  volume numeric NOT NULL,
  -- The minute bars the bucket was built from: first and last timestamp, how many.
  first_ts timestamptz NOT NULL,
  last_ts timestamptz NOT NULL,
  bars integer NOT NULL CHECK (bars > 0),
  PRIMARY KEY (symbol, width, bucket)
);

DO $$
DECLARE
  r record;
BEGIN
  IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') THEN
    RETURN;
  END IF;

  ALTER TABLE price_bars RENAME TO price_bars_unpartitioned;
  ALTER INDEX price_bars_pkey RENAME TO price_bars_unpartitioned_pkey;

  CREATE TABLE price_bars (
    symbol text NOT NULL CHECK (symbol ~ '^[A-Z0-9][A-Z0-9.\-]{0,14}$'),
    "interval" text NOT NULL CHECK ("interval" IN ('1m', '1d')),
    ts timestamptz NOT NULL,
    open numeric NOT NULL CHECK (open >= 0),
    high numeric NOT NULL,
    low numeric NOT NULL CHECK (low >= 0),
    close numeric NOT NULL CHECK (close >= 0),
    volume numeric NOT NULL DEFAULT 0 CHECK (volume >= 0),
    source text NOT NULL,
    PRIMARY KEY (symbol, "interval", ts),
    CHECK (low <= open AND low <= close AND high >= open AND high >= close)
  ) PARTITION BY LIST ("interval");
  CREATE TABLE price_bars_1m PARTITION OF price_bars FOR VALUES IN ('1m') PARTITION BY RANGE (ts);
  CREATE TABLE price_bars_1d PARTITION OF price_bars FOR VALUES IN ('1d') PARTITION BY RANGE (ts);

  -- Partitions for the bars already stored, then the bars themselves.
  FOR r IN SELECT DISTINCT date_trunc('month', ts AT TIME ZONE 'UTC') AS start
           FROM price_bars_unpartitioned WHERE "interval" = '1m' LOOP
    EXECUTE format('CREATE TABLE %I PARTITION OF price_bars_1m FOR VALUES FROM (%L) TO (%L)',
      'price_bars_1m_p' || to_char(r.start, 'YYYYMM'),
      to_char(r.start, 'YYYY-MM-DD') || ' 00:00:00+00',
      to_char(r.start + interval '1 month', 'YYYY-MM-DD') || ' 00:00:00+00');
  END LOOP;
  FOR r IN SELECT DISTINCT date_trunc('year', ts AT TIME ZONE 'UTC') AS start
           FROM price_bars_unpartitioned WHERE "interval" = '1d' LOOP
    EXECUTE format('CREATE TABLE %I PARTITION OF price_bars_1d FOR VALUES FROM (%L) TO (%L)',
      'price_bars_1d_p' || to_char(r.start, 'YYYY'),
      to_char(r.start, 'YYYY-MM-DD') || ' 00:00:00+00',
      to_char(r.start + interval '1 year', 'YYYY-MM-DD') || ' 00:00:00+00');
  END LOOP;
  INSERT INTO price_bars SELECT * FROM price_bars_unpartitioned;
  DROP TABLE price_bars_unpartitioned;
END $$;

-- Rollups of the minute bars stored so far (none on a new installation).
INSERT INTO price_rollups (symbol, width, bucket, open, high, low, close, volume, first_ts, last_ts, bars)
SELECT b.symbol, w.width, b.bucket,
  (SELECT o.open FROM price_bars o WHERE o.symbol = b.symbol AND o."interval" = '1m' AND o.ts = b.first_ts),
  b.high, b.low,
  (SELECT c.close FROM price_bars c WHERE c.symbol = b.symbol AND c."interval" = '1m' AND c.ts = b.last_ts),
  b.volume, b.first_ts, b.last_ts, b.n
FROM (VALUES ('5m', interval '5 minutes'), ('1h', interval '1 hour'), ('1d', interval '1 day')) AS w(width, step)
CROSS JOIN LATERAL (
  SELECT symbol, date_bin(w.step, ts, timestamptz '2000-01-03 00:00:00+00') AS bucket,
    min(ts) AS first_ts, max(ts) AS last_ts, max(high) AS high, min(low) AS low, sum(volume) AS volume, count(*)::int AS n
  FROM price_bars WHERE "interval" = '1m'
  GROUP BY symbol, 2
) b;
