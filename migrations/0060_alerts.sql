-- Alerts (issue 16): a user's rules over a symbol, the events they fired, and the
-- optional per-user webhook. Thresholds and fired values are NUMERIC (FAIL-002).
-- alert_events is idempotent by (alert_id, crossing_key): a duplicated or retried tick,
-- or two instances evaluating the same tick, store one event per crossing.
CREATE TABLE alerts (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('price_above', 'price_below', 'percent_change', 'rsi_above', 'rsi_below',
    'price_crosses_bollinger_upper', 'price_crosses_bollinger_lower', 'macd_crosses_signal_up', 'macd_crosses_signal_down',
    'sma_cross_up', 'sma_cross_down')),
  symbol text NOT NULL CHECK (symbol ~ '^[A-Z0-9][A-Z0-9.\-]{0,14}$'),
  "interval" text NOT NULL CHECK ("interval" IN ('1m', '1d')),
  threshold numeric,
  params jsonb NOT NULL DEFAULT '{}',
  mode text NOT NULL CHECK (mode IN ('once', 'every_time', 'once_per_bar')),
  cooldown_seconds integer NOT NULL DEFAULT 0 CHECK (cooldown_seconds >= 0),
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'triggered')),
  -- Whether the level condition held at the last evaluation (NULL: never evaluated).
  condition_met boolean,
  -- Bar-driven rules: the evaluator's JSON state and the last bar it consumed.
  state jsonb,
  last_bar_ts timestamptz,
  last_fired_at timestamptz,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE INDEX alerts_user_created_idx ON alerts (user_id, created_at, id);
CREATE INDEX alerts_active_symbol_idx ON alerts (symbol) WHERE status = 'active';

CREATE TABLE alert_events (
  id uuid PRIMARY KEY,
  alert_id uuid NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
  user_id uuid NOT NULL,
  kind text NOT NULL,
  symbol text NOT NULL,
  -- What fired it: `tick:<as_of>` or `bar:<bar start>`; one event per alert and key.
  crossing_key text NOT NULL,
  fired_at timestamptz NOT NULL,
  value numeric NOT NULL,
  threshold numeric,
  message text NOT NULL,
  UNIQUE (alert_id, crossing_key)
);
CREATE INDEX alert_events_user_fired_idx ON alert_events (user_id, fired_at, id);
CREATE INDEX alert_events_alert_fired_idx ON alert_events (alert_id, fired_at, id);

CREATE TABLE alert_webhooks (
  user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  url text NOT NULL,
  -- HMAC-SHA256 key for the X-FinanceHub-Signature header; shown once when set.
  secret text NOT NULL,
  created_at timestamptz NOT NULL
);
