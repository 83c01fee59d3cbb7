-- The daily API request count per user and UTC day (FAIL-007), kept in the database so
-- that it survives Redis and process restarts: a user over the quota stays over. Each
-- instance counts locally and adds its count here in batches (docs/limits.md gives the
-- bound on over-use this allows). Deleting the user deletes their counts.
CREATE TABLE api_request_usage (
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  day date NOT NULL,
  requests bigint NOT NULL CHECK (requests >= 0),
  PRIMARY KEY (user_id, day)
);
