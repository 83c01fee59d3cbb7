-- Portfolios and their transactions (issue 4). Every amount, price, quantity and rate is
-- NUMERIC without a declared scale, so a value is stored exactly as entered ("0.1" stays
-- 0.1, "0.0000000001" survives) and comes back to the application as a string (FAIL-002).
-- Holdings, lots, cash and P&L are not stored: they are recomputed from the transactions
-- on every read, so an edit or delete can never leave derived state stale.
CREATE TABLE portfolios (
  id uuid PRIMARY KEY,
  -- Owner; every query filters on it (another user's portfolio answers 404).
  user_id uuid NOT NULL,
  name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
  base_currency text NOT NULL CHECK (base_currency ~ '^[A-Z]{3}$'),
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE INDEX portfolios_user_created_idx ON portfolios (user_id, created_at, id);

CREATE TABLE transactions (
  id uuid PRIMARY KEY,
  portfolio_id uuid NOT NULL REFERENCES portfolios (id) ON DELETE CASCADE,
  user_id uuid NOT NULL,
  -- Insertion order: breaks ties between transactions with the same executed_at, so
  -- the FIFO replay is deterministic (a buy and a sell at the same instant replay in
  -- the order they were recorded).
  seq bigint GENERATED ALWAYS AS IDENTITY,
  type text NOT NULL CHECK (type IN ('buy', 'sell', 'dividend', 'interest', 'fee', 'split', 'deposit', 'withdrawal')),
  symbol text CHECK (symbol IS NULL OR char_length(symbol) BETWEEN 1 AND 20),
  quantity numeric CHECK (quantity IS NULL OR quantity > 0),
  price numeric CHECK (price IS NULL OR price >= 0),
  amount numeric CHECK (amount IS NULL OR amount > 0),
  fee numeric NOT NULL DEFAULT 0 CHECK (fee >= 0),
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  -- Units of the portfolio's base currency per unit of `currency`; 1 when they match.
  fx_rate numeric NOT NULL CHECK (fx_rate > 0),
  ratio_numerator integer CHECK (ratio_numerator IS NULL OR ratio_numerator > 0),
  ratio_denominator integer CHECK (ratio_denominator IS NULL OR ratio_denominator > 0),
  executed_at timestamptz NOT NULL,
  note text CHECK (note IS NULL OR char_length(note) <= 500),
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  -- The shape each type must have (the service checks the same and names the field).
  CHECK (
    CASE type
      WHEN 'buy' THEN symbol IS NOT NULL AND quantity IS NOT NULL AND price IS NOT NULL AND amount IS NULL AND ratio_numerator IS NULL
      WHEN 'sell' THEN symbol IS NOT NULL AND quantity IS NOT NULL AND price IS NOT NULL AND amount IS NULL AND ratio_numerator IS NULL
      WHEN 'split' THEN symbol IS NOT NULL AND ratio_numerator IS NOT NULL AND ratio_denominator IS NOT NULL AND quantity IS NULL AND price IS NULL AND amount IS NULL
      WHEN 'dividend' THEN symbol IS NOT NULL AND amount IS NOT NULL AND quantity IS NULL AND price IS NULL AND ratio_numerator IS NULL
      WHEN 'deposit' THEN symbol IS NULL AND amount IS NOT NULL AND quantity IS NULL AND price IS NULL AND ratio_numerator IS NULL
      WHEN 'withdrawal' THEN symbol IS NULL AND amount IS NOT NULL AND quantity IS NULL AND price IS NULL AND ratio_numerator IS NULL
      ELSE amount IS NOT NULL AND quantity IS NULL AND price IS NULL AND ratio_numerator IS NULL
    END
  )
);
-- Replay order for one portfolio, and the analytics lists (type/symbol/date filters).
CREATE INDEX transactions_portfolio_replay_idx ON transactions (portfolio_id, executed_at, seq);
CREATE INDEX transactions_user_idx ON transactions (user_id, executed_at);

-- Idempotency-Key (per user): the first successful result of a POST, replayed on repeat.
CREATE TABLE idempotency_keys (
  user_id uuid NOT NULL,
  key text NOT NULL,
  -- SHA-256 of method, route, target and body: the same key with another request is refused.
  request_hash text NOT NULL,
  status_code integer,
  response jsonb,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
