-- Saved CSV column mappings: what an import request says about a broker's file (preset,
-- delimiter, date format, decimal separator, header → field, ignored headers), kept per
-- user under a name so the next export from the same broker imports with `mapping=`.
-- Deleting the user deletes the mappings.
CREATE TABLE import_mappings (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
  preset text,
  delimiter text,
  date_format text,
  decimal_separator text,
  -- {"Fees & Comm": "fee", …}: header as written → import field.
  columns jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- ["Description", …]: headers deliberately not imported.
  ignored jsonb NOT NULL DEFAULT '[]'::jsonb,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  UNIQUE (user_id, name)
);
