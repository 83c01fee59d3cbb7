-- Deleting a user deletes everything the user owns (issue 13): portfolios (and through
-- them their transactions), transactions and idempotency keys now reference users with
-- ON DELETE CASCADE, like sessions and the watchlist already did. A write racing the
-- deletion of its user cannot leave an orphan: the foreign key refuses the row.
--
-- Rows of users that no longer exist could not be reached by anyone; they are removed
-- first so the constraints can be added.
DELETE FROM idempotency_keys k WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = k.user_id);
DELETE FROM transactions t WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = t.user_id);
DELETE FROM portfolios p WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = p.user_id);

ALTER TABLE portfolios
  ADD CONSTRAINT portfolios_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE transactions
  ADD CONSTRAINT transactions_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE idempotency_keys
  ADD CONSTRAINT idempotency_keys_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
