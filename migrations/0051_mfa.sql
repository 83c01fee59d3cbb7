-- Two-factor sign-in (TOTP, RFC 6238). The secret is stored only sealed (AES-256-GCM,
-- src/platform/secret-box.ts); enabled_at is null while enrolment awaits its first code.
-- last_step is the newest time-step a code was accepted for: a code of that step or an
-- earlier one is refused, so a code cannot be replayed within its window.
CREATE TABLE mfa_totp (
  user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  secret_sealed text NOT NULL,
  enabled_at timestamptz,
  last_step bigint,
  created_at timestamptz NOT NULL
);

-- Ten single-use recovery codes per enrolment, stored as SHA-256 hex (they are 60-bit
-- random codes, so a fast hash is enough; attempts are throttled like logins).
CREATE TABLE mfa_recovery_codes (
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  code_hash text NOT NULL,
  used_at timestamptz,
  PRIMARY KEY (user_id, code_hash)
);

-- The step between a correct password and the second factor: an opaque token (stored as
-- SHA-256 hex), short-lived, single-use, bound to the login's IP and user agent, with a
-- bounded number of attempts.
CREATE TABLE mfa_challenges (
  id uuid PRIMARY KEY,
  token_hash text NOT NULL UNIQUE,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  ip text NOT NULL,
  user_agent text,
  expires_at timestamptz NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  used_at timestamptz,
  created_at timestamptz NOT NULL
);
CREATE INDEX mfa_challenges_user_idx ON mfa_challenges (user_id);
CREATE INDEX mfa_challenges_expires_idx ON mfa_challenges (expires_at);
