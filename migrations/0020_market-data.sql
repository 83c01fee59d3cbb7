-- Market data: instruments, price bars (OHLCV as NUMERIC, FAIL-002), the latest quote per
-- symbol and users' watchlists. Plain tables that run on PGlite and PostgreSQL alike;
-- when the TimescaleDB extension is available, the market module turns price_bars into a
-- hypertable with continuous aggregates at start-up (see market/storage.ts) and logs
-- which path it took (`event: "timeseries_storage"`, FAIL-003). Candles for coarser
-- intervals are bucketed from these rows with date_bin.

CREATE TABLE instruments (
  symbol text PRIMARY KEY CHECK (symbol ~ '^[A-Z0-9][A-Z0-9.\-]{0,14}$'),
  name text,
  type text,
  exchange text,
  currency text,
  source text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Stored resolutions are the sources of every candle: 1m (intraday) and 1d (daily).
-- The primary key is the index every candle query uses (symbol, interval, ts range),
-- and what makes imports idempotent.
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
);

CREATE TABLE quotes (
  symbol text PRIMARY KEY CHECK (symbol ~ '^[A-Z0-9][A-Z0-9.\-]{0,14}$'),
  price numeric NOT NULL CHECK (price >= 0),
  previous_close numeric,
  as_of timestamptz NOT NULL,
  source text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE watchlist (
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  symbol text NOT NULL CHECK (symbol ~ '^[A-Z0-9][A-Z0-9.\-]{0,14}$'),
  added_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, symbol)
);
-- Which users watch a symbol (live-quote subscriptions, alerts).
CREATE INDEX watchlist_symbol_idx ON watchlist (symbol);
