-- Company news (issue 16): one row per (symbol, article). Deduplicated by the provider's
-- id and by the article URL. Headlines and summaries are plain text; sentiment is an
-- exact decimal in [-1, 1] (FAIL-002: never a float).
CREATE TABLE news_items (
  id uuid PRIMARY KEY,
  symbol text NOT NULL CHECK (symbol ~ '^[A-Z0-9][A-Z0-9.\-]{0,14}$'),
  provider text NOT NULL,
  provider_id text NOT NULL,
  headline text NOT NULL,
  summary text NOT NULL,
  source text,
  url text CHECK (url IS NULL OR url ~ '^https?://'),
  image_url text CHECK (image_url IS NULL OR image_url ~ '^https?://'),
  published_at timestamptz NOT NULL,
  sentiment numeric NOT NULL CHECK (sentiment BETWEEN -1 AND 1),
  fetched_at timestamptz NOT NULL,
  UNIQUE (symbol, provider, provider_id)
);
CREATE UNIQUE INDEX news_items_symbol_url_idx ON news_items (symbol, url) WHERE url IS NOT NULL;
CREATE INDEX news_items_symbol_published_idx ON news_items (symbol, published_at DESC, id);
