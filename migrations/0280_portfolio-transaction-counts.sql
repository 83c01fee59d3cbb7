-- How many transactions, and how many splits, each portfolio holds, kept by the database in
-- the statement that changes them: a trigger per kind of write adds and subtracts the
-- changed rows, whatever path wrote them (API, imports, restores). The quota view (the
-- user's fullest portfolio) and the per-portfolio caps read these counts instead of counting
-- transactions: that read grew with every transaction the user had (about 0.3 ms per
-- thousand on PGlite, on the event loop).
ALTER TABLE portfolios
  ADD COLUMN transaction_count integer NOT NULL DEFAULT 0 CHECK (transaction_count >= 0),
  ADD COLUMN split_count integer NOT NULL DEFAULT 0 CHECK (split_count >= 0);

UPDATE portfolios p
   SET transaction_count = c.total, split_count = c.splits
  FROM (SELECT portfolio_id, count(*)::int AS total, (count(*) FILTER (WHERE type = 'split'))::int AS splits
          FROM transactions GROUP BY portfolio_id) AS c
 WHERE p.id = c.portfolio_id;

-- Inserted rows, grouped by portfolio, added to its counts.
CREATE FUNCTION portfolio_counts_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE portfolios p
     SET transaction_count = p.transaction_count + d.total, split_count = p.split_count + d.splits
    FROM (SELECT portfolio_id, count(*)::int AS total, (count(*) FILTER (WHERE type = 'split'))::int AS splits
            FROM added_rows GROUP BY portfolio_id) AS d
   WHERE p.id = d.portfolio_id;
  RETURN NULL;
END
$$;

-- A deleted row, taken off its portfolio's counts. Row by row, and only for deletes made
-- directly (pg_trigger_depth() = 0): the one cascade into transactions deletes them with
-- their portfolio, which keeps no counts afterwards, and a statement-level trigger would
-- collect all its rows first (a portfolio of 50,000 took 50–100 ms longer to delete).
CREATE FUNCTION portfolio_counts_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE portfolios
     SET transaction_count = transaction_count - 1, split_count = split_count - (OLD.type = 'split')::int
   WHERE id = OLD.portfolio_id;
  RETURN NULL;
END
$$;

-- An update is its new rows added and its old rows removed; the portfolio row is written
-- only where that changes a count (a type changed to or from split), so edits that keep the
-- type leave it alone.
CREATE FUNCTION portfolio_counts_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE portfolios p
     SET transaction_count = p.transaction_count + d.total, split_count = p.split_count + d.splits
    FROM (SELECT portfolio_id, sum(n)::int AS total, sum(s)::int AS splits
            FROM (SELECT portfolio_id, 1 AS n, (type = 'split')::int AS s FROM new_rows
                  UNION ALL
                  SELECT portfolio_id, -1, -(type = 'split')::int FROM old_rows) AS changes
           GROUP BY portfolio_id) AS d
   WHERE p.id = d.portfolio_id AND (d.total <> 0 OR d.splits <> 0);
  RETURN NULL;
END
$$;

CREATE TRIGGER transactions_count_inserted AFTER INSERT ON transactions
  REFERENCING NEW TABLE AS added_rows FOR EACH STATEMENT EXECUTE FUNCTION portfolio_counts_added();
CREATE TRIGGER transactions_count_deleted AFTER DELETE ON transactions
  FOR EACH ROW WHEN (pg_trigger_depth() = 0) EXECUTE FUNCTION portfolio_counts_removed();
CREATE TRIGGER transactions_count_updated AFTER UPDATE ON transactions
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION portfolio_counts_update();
