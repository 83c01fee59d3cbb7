-- Accounts, sessions (one per login: a refresh-token family), refresh tokens (stored only
-- as SHA-256 hashes), security events and JWT signing keys. Times are written by the
-- application from its injected clock, so expiry is testable; defaults are a fallback.

CREATE TABLE users (
  id uuid PRIMARY KEY,
  -- Normalised (trimmed, lower-case) by the service; the CHECK keeps it that way.
  email text NOT NULL CHECK (email = lower(email) AND email = btrim(email)),
  password_hash text NOT NULL,
  role text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
  tier text NOT NULL DEFAULT 'free' CHECK (tier IN ('free', 'pro')),
  disabled boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE INDEX users_created_idx ON users (created_at, id);

CREATE TABLE sessions (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL,
  last_used_at timestamptz NOT NULL,
  -- Absolute lifetime (REFRESH_TOKEN_TTL); the idle timeout is checked against last_used_at.
  expires_at timestamptz NOT NULL,
  user_agent text,
  ip text,
  revoked_at timestamptz,
  revoke_reason text
);
CREATE INDEX sessions_user_idx ON sessions (user_id, created_at DESC);

CREATE TABLE refresh_tokens (
  id uuid PRIMARY KEY,
  session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  -- Hex SHA-256 of the opaque token; the token itself is never stored.
  token_hash text NOT NULL,
  parent_id uuid REFERENCES refresh_tokens (id) ON DELETE SET NULL,
  issued_at timestamptz NOT NULL,
  used_at timestamptz,
  revoked_at timestamptz,
  successor_id uuid
);
CREATE UNIQUE INDEX refresh_tokens_hash_key ON refresh_tokens (token_hash);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

CREATE TABLE security_events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  occurred_at timestamptz NOT NULL DEFAULT now(),
  user_id uuid REFERENCES users (id) ON DELETE SET NULL,
  ip text,
  user_agent text,
  event text NOT NULL,
  request_id text,
  -- Never a password or token: the service passes only ids, reasons and counts.
  details jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX security_events_time_idx ON security_events (occurred_at DESC, id DESC);
CREATE INDEX security_events_user_idx ON security_events (user_id, occurred_at DESC);
CREATE INDEX security_events_event_idx ON security_events (event, occurred_at DESC);

-- Signing keys generated on first start or by `financehub keys rotate`. The newest
-- unretired key signs; a retired key keeps verifying until tokens it signed have expired.
CREATE TABLE jwt_keys (
  kid text PRIMARY KEY,
  alg text NOT NULL,
  private_jwk jsonb NOT NULL,
  public_jwk jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  retired_at timestamptz
);
