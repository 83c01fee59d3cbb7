-- Analysis templates with every version kept (FAIL-009), and reports rendered from them.
-- templates.version only ever changes in one UPDATE that compares the expected version
-- (`SET version = version + 1 … WHERE … AND version = $n`); each new version is also a row
-- of template_versions, written in the same transaction, so history and head never disagree.
CREATE TABLE templates (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name text NOT NULL,
  description text NOT NULL DEFAULT '',
  body text NOT NULL,
  version integer NOT NULL CHECK (version >= 1),
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE INDEX templates_user_created_idx ON templates (user_id, created_at, id);

CREATE TABLE template_versions (
  template_id uuid NOT NULL REFERENCES templates (id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  version integer NOT NULL,
  name text NOT NULL,
  description text NOT NULL,
  body text NOT NULL,
  -- What made the version: create, update (PUT/PATCH) or restore (of an older version).
  source text NOT NULL CHECK (source IN ('create', 'update', 'restore', 'generate')),
  created_at timestamptz NOT NULL,
  PRIMARY KEY (template_id, version)
);

-- A report renders one template version (recorded at request time) against one portfolio.
CREATE TABLE reports (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  template_id uuid NOT NULL,
  template_version integer NOT NULL,
  portfolio_id uuid NOT NULL REFERENCES portfolios (id) ON DELETE CASCADE,
  status text NOT NULL CHECK (status IN ('queued', 'done', 'failed')),
  output_md text,
  output_html text,
  -- Why a report failed, or what the AI writer could not add (plain text).
  note text,
  created_at timestamptz NOT NULL,
  finished_at timestamptz
);
CREATE INDEX reports_user_created_idx ON reports (user_id, created_at, id);
