// Templates and their versions (FAIL-009). A new version is written by ONE conditional
// UPDATE (`version = version + 1 … AND version = $expected`) and its history row, in the
// caller's transaction: a stale writer changes nothing, two writers can never both win.
import type { Database, Queryable } from '../../platform/db/index.ts';

export interface TemplateRow {
  id: string;
  user_id: string;
  name: string;
  description: string;
  body: string;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export interface TemplateVersionRow {
  template_id: string;
  version: number;
  name: string;
  description: string;
  body: string;
  source: 'create' | 'update' | 'restore' | 'generate';
  created_at: Date;
}

export interface TemplateChange {
  name?: string | undefined;
  description?: string | undefined;
  body?: string | undefined;
}

const COLUMNS = 'id, user_id, name, description, body, version, created_at, updated_at';
const VERSION_COLUMNS = 'template_id, version, name, description, body, source, created_at';

/**
 * The most text (name, description and body, in UTF-8 bytes) one page of templates or of
 * versions carries. A page ends at `limit` rows or at the row that would pass this, whichever
 * comes first, and always holds at least one row; `next_cursor`/`next_before` then continues
 * it. Without it, a page of 100 bodies at the 65,536-character cap was 6.5 MB, read and
 * serialized on the event loop in one go (80–140 ms on PGlite).
 */
export const PAGE_TEXT_BYTES = 1_048_576;

/**
 * The page query `inner` (its columns plus `text_bytes`, ordered by `order`, limited) with each
 * row's `fits`: the first row, and each row whose text with the rows before it stays within
 * `budget`. Bodies of rows that do not fit are not read out.
 */
function withinTextBudget(columns: string, inner: string, order: string, budget: string): string {
  const outer = columns
    .split(', ')
    .map((column) => (column === 'body' ? "CASE WHEN fits THEN body ELSE '' END AS body" : column))
    .join(', ');
  return `SELECT ${outer}, fits FROM (
            SELECT *, (sum(text_bytes) OVER running <= ${budget} OR row_number() OVER running = 1) AS fits
              FROM (${inner}) AS page WINDOW running AS (ORDER BY ${order})
          ) AS sized ORDER BY ${order}`;
}

const TEXT_BYTES = 'octet_length(name) + octet_length(description) + octet_length(body) AS text_bytes';

/** The leading rows that fit the page's text budget, at most `limit`, and whether more follow them. */
function fittingPage<T>(rows: ReadonlyArray<T & { fits: boolean }>, limit: number): { rows: T[]; more: boolean } {
  const page: T[] = [];
  for (const { fits, ...row } of rows) {
    if (!fits || page.length === limit) break;
    page.push(row as T);
  }
  return { rows: page, more: rows.length > page.length };
}

async function insertVersion(tx: Queryable, row: TemplateRow, source: TemplateVersionRow['source']): Promise<void> {
  await tx.query(
    `INSERT INTO template_versions (template_id, user_id, version, name, description, body, source, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [row.id, row.user_id, row.version, row.name, row.description, row.body, source, row.updated_at],
  );
}

export function createTemplatesRepository(db: Database) {
  return {
    /** Inserts version 1 unless the user has `cap` templates (a per-user advisory lock serialises creates). */
    create(row: Omit<TemplateRow, 'version' | 'updated_at'>, cap: number): Promise<TemplateRow | 'full'> {
      return db.transaction(async (tx) => {
        await tx.query(`SELECT pg_advisory_xact_lock(hashtext('financehub:templates:' || $1))`, [row.user_id]);
        const { rows: counted } = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM templates WHERE user_id = $1', [row.user_id]);
        if ((counted[0]?.n ?? 0) >= cap) return 'full';
        const { rows } = await tx.query<TemplateRow>(
          `INSERT INTO templates (id, user_id, name, description, body, version, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, 1, $6, $6) RETURNING ${COLUMNS}`,
          [row.id, row.user_id, row.name, row.description, row.body, row.created_at],
        );
        const created = rows[0] as TemplateRow;
        await insertVersion(tx, created, 'create');
        return created;
      });
    },

    /**
     * The new head, or `{ current }` (the version now stored; null when the template does
     * not exist for this user) when `expected` is stale. One UPDATE, then the history row.
     */
    async update(
      tx: Queryable,
      userId: string,
      id: string,
      expected: number,
      change: TemplateChange,
      source: TemplateVersionRow['source'],
      at: Date,
    ): Promise<TemplateRow | { current: number | null }> {
      const { rows } = await tx.query<TemplateRow>(
        `UPDATE templates
            SET name = COALESCE($4, name), description = COALESCE($5, description), body = COALESCE($6, body),
                version = version + 1, updated_at = $7
          WHERE id = $1 AND user_id = $2 AND version = $3
          RETURNING ${COLUMNS}`,
        [id, userId, expected, change.name ?? null, change.description ?? null, change.body ?? null, at],
      );
      const updated = rows[0];
      if (updated === undefined) {
        const { rows: now } = await tx.query<{ version: number }>('SELECT version FROM templates WHERE id = $1 AND user_id = $2', [id, userId]);
        return { current: now[0]?.version ?? null };
      }
      await insertVersion(tx, updated, source);
      return updated;
    },

    async get(q: Queryable, userId: string, id: string): Promise<TemplateRow | undefined> {
      const { rows } = await q.query<TemplateRow>(`SELECT ${COLUMNS} FROM templates WHERE id = $1 AND user_id = $2`, [id, userId]);
      return rows[0];
    },

    /** Oldest first, after `after` when given: at most `limit` templates and PAGE_TEXT_BYTES of their text. */
    async list(userId: string, limit: number, after?: { at: Date; id: string }): Promise<{ rows: TemplateRow[]; more: boolean }> {
      const { rows } = await db.query<TemplateRow & { fits: boolean }>(
        withinTextBudget(
          COLUMNS,
          `SELECT ${COLUMNS}, ${TEXT_BYTES} FROM templates WHERE user_id = $1
             AND ($2::timestamptz IS NULL OR (created_at, id) > ($2::timestamptz, $3::uuid))
           ORDER BY created_at, id LIMIT $4`,
          'created_at, id',
          '$5',
        ),
        [userId, after?.at ?? null, after?.id ?? null, limit + 1, PAGE_TEXT_BYTES],
      );
      return fittingPage(rows, limit);
    },

    async remove(userId: string, id: string): Promise<boolean> {
      const { rowCount } = await db.query('DELETE FROM templates WHERE id = $1 AND user_id = $2', [id, userId]);
      return rowCount > 0;
    },

    /** Versions newest first, below `before` when given: at most `limit` and PAGE_TEXT_BYTES of their text. */
    async versions(userId: string, id: string, limit: number, before?: number): Promise<{ rows: TemplateVersionRow[]; more: boolean }> {
      const { rows } = await db.query<TemplateVersionRow & { fits: boolean }>(
        withinTextBudget(
          VERSION_COLUMNS,
          `SELECT ${VERSION_COLUMNS}, ${TEXT_BYTES} FROM template_versions
            WHERE template_id = $1 AND user_id = $2 AND ($3::int IS NULL OR version < $3::int)
            ORDER BY version DESC LIMIT $4`,
          'version DESC',
          '$5',
        ),
        [id, userId, before ?? null, limit + 1, PAGE_TEXT_BYTES],
      );
      return fittingPage(rows, limit);
    },

    async version(q: Queryable, userId: string, id: string, version: number): Promise<TemplateVersionRow | undefined> {
      const { rows } = await q.query<TemplateVersionRow>(
        `SELECT ${VERSION_COLUMNS} FROM template_versions WHERE template_id = $1 AND user_id = $2 AND version = $3`,
        [id, userId, version],
      );
      return rows[0];
    },
  };
}

export type TemplatesRepository = ReturnType<typeof createTemplatesRepository>;
