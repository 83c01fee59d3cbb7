-- A counter bumped in the same database transaction as every change to a portfolio's
-- transactions. Holdings are still computed from the transactions; the revision only lets
-- a process reuse the replay it computed for the same revision (any instance, any time:
-- a changed portfolio has a new revision, so a reused replay is never stale).
ALTER TABLE portfolios ADD COLUMN revision bigint NOT NULL DEFAULT 0;
