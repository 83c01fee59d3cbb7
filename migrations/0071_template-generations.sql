-- Generated template bodies (POST /v1/templates/generate): one row per request, written with
-- its job. The job writes through the same versioned UPDATE as a user edit; when the
-- expected version is stale it records `conflict` (with the version it lost to), never
-- overwriting silently.
CREATE TABLE template_generations (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  template_id uuid,
  expected_version integer,
  name text NOT NULL,
  sections text[] NOT NULL,
  status text NOT NULL CHECK (status IN ('queued', 'done', 'conflict', 'failed')),
  result_version integer,
  current_version integer,
  note text,
  created_at timestamptz NOT NULL,
  finished_at timestamptz
);
CREATE INDEX template_generations_user_idx ON template_generations (user_id, created_at, id);
