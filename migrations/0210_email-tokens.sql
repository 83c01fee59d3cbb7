-- Optional email (SMTP_URL): the verified address, and single-use, short-lived tokens
-- for verifying an address and for resetting a password. Only the token's SHA-256 (hex)
-- is stored; the token itself exists only in the email. `job_id` is the mail job that
-- made the token: a retried job replaces its own token (the previous email's token stops
-- working), so one request never leaves two live tokens.
ALTER TABLE users ADD COLUMN email_verified_at timestamptz;

CREATE TABLE email_tokens (
  token_hash text PRIMARY KEY,
  job_id text NOT NULL UNIQUE,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  purpose text NOT NULL CHECK (purpose IN ('verify_email', 'password_reset')),
  -- The address the token was sent to: verifying it verifies that address only.
  email text NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at timestamptz
);

CREATE INDEX email_tokens_user_idx ON email_tokens (user_id, purpose);
