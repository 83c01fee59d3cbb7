-- Which time ranges of a symbol's history have been asked of the history provider (or
-- imported), per stored resolution: a candle request fills exactly the parts of its range
-- not covered here, before and after what is stored, so the answer never depends on the
-- order of earlier requests. Ranges are half-open [range_start, range_end) and kept
-- merged (no two rows of a symbol and interval overlap or touch). A range counts as
-- covered even when the provider had no bars in it (holidays, before a listing).
CREATE TABLE price_coverage (
  symbol text NOT NULL CHECK (symbol ~ '^[A-Z0-9][A-Z0-9.\-]{0,14}$'),
  "interval" text NOT NULL CHECK ("interval" IN ('1m', '1d')),
  range_start timestamptz NOT NULL,
  range_end timestamptz NOT NULL,
  PRIMARY KEY (symbol, "interval", range_start),
  CHECK (range_end > range_start)
);

-- One history fill per (symbol, interval) at a time across every instance sharing the
-- database: a lease row with an expiry, taken with one INSERT … ON CONFLICT statement, so
-- no connection or transaction is held while the provider is asked.
CREATE TABLE price_fill_leases (
  symbol text NOT NULL,
  "interval" text NOT NULL,
  holder text NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (symbol, "interval")
);
