-- Each sort key of a portfolio's transaction list (GET /v1/portfolios/:id/transactions) is an
-- index walk, forwards or backwards, so a page costs about its own rows. executed_at uses
-- transactions_portfolio_replay_idx; without these, a page sorted by another key read and
-- sorted every row of the portfolio (up to the tier's cap) on each request.
CREATE INDEX transactions_list_created_idx ON transactions (portfolio_id, created_at, seq);
CREATE INDEX transactions_list_symbol_idx ON transactions (portfolio_id, (COALESCE(symbol, '')), seq);
CREATE INDEX transactions_list_type_idx ON transactions (portfolio_id, type, seq);
