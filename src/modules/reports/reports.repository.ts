// Reports: one row per request, written with its render job in one transaction; the job
// fills the output exactly once (`WHERE status = 'queued'`), so a retried job is harmless.
import type { Database, Queryable } from '../../platform/db/index.ts';
import { timeOrderSql, type TimeOrder } from '../../platform/http/cursor.ts';

export interface ReportRow {
  id: string;
  user_id: string;
  template_id: string;
  template_version: number;
  portfolio_id: string;
  status: 'queued' | 'done' | 'failed';
  output_md: string | null;
  output_html: string | null;
  note: string | null;
  created_at: Date;
  finished_at: Date | null;
}

/** A report without its output: what a list shows. */
export type ReportSummary = Omit<ReportRow, 'output_md' | 'output_html'>;

const SUMMARY_COLUMNS = 'id, user_id, template_id, template_version, portfolio_id, status, note, created_at, finished_at';
const COLUMNS = `${SUMMARY_COLUMNS}, output_md, output_html`;

export function createReportsRepository(db: Database) {
  return {
    async insert(tx: Queryable, row: Pick<ReportRow, 'id' | 'user_id' | 'template_id' | 'template_version' | 'portfolio_id' | 'created_at'>): Promise<ReportRow> {
      const { rows } = await tx.query<ReportRow>(
        `INSERT INTO reports (id, user_id, template_id, template_version, portfolio_id, status, created_at)
         VALUES ($1, $2, $3, $4, $5, 'queued', $6) RETURNING ${COLUMNS}`,
        [row.id, row.user_id, row.template_id, row.template_version, row.portfolio_id, row.created_at],
      );
      return rows[0] as ReportRow;
    },
    async get(userId: string, id: string): Promise<ReportRow | undefined> {
      const { rows } = await db.query<ReportRow>(`SELECT ${COLUMNS} FROM reports WHERE id = $1 AND user_id = $2`, [id, userId]);
      return rows[0];
    },
    async byId(id: string): Promise<ReportRow | undefined> {
      const { rows } = await db.query<ReportRow>(`SELECT ${COLUMNS} FROM reports WHERE id = $1`, [id]);
      return rows[0];
    },
    /**
     * A page of the user's reports, of one template when `templateId` is given (an index
     * serves either), without their output: a report's Markdown and HTML may be megabytes
     * each (RENDERED_MAX_CHARS), and a page of 100 would read them all.
     */
    async list(userId: string, limit: number, after: { at: Date; id: string } | undefined, order: TimeOrder, templateId?: string): Promise<ReportSummary[]> {
      const { after: beyond, direction } = timeOrderSql(order);
      const ofTemplate = templateId === undefined ? '' : 'AND template_id = $5';
      const { rows } = await db.query<ReportSummary>(
        `SELECT ${SUMMARY_COLUMNS} FROM reports WHERE user_id = $1 ${ofTemplate}
           AND ($2::timestamptz IS NULL OR (created_at, id) ${beyond} ($2::timestamptz, $3::uuid))
         ORDER BY created_at ${direction}, id ${direction} LIMIT $4`,
        [userId, after?.at ?? null, after?.id ?? null, limit, ...(templateId === undefined ? [] : [templateId])],
      );
      return rows;
    },
    /** Stores the outcome once; a second (retried) run finds the report finished and changes nothing. */
    async finish(id: string, outcome: { status: 'done' | 'failed'; md: string | null; html: string | null; note: string | null }, at: Date): Promise<void> {
      await db.query(
        `UPDATE reports SET status = $2, output_md = $3, output_html = $4, note = $5, finished_at = $6 WHERE id = $1 AND status = 'queued'`,
        [id, outcome.status, outcome.md, outcome.html, outcome.note, at],
      );
    },
    /** The user's most recent alert events on these symbols (read-only view of the alerts module's table). */
    async recentAlertEvents(userId: string, symbols: string[], limit: number) {
      if (symbols.length === 0) return [];
      const { rows } = await db.query<{ symbol: string; kind: string; fired_at: Date; value: string; threshold: string | null; message: string }>(
        `SELECT symbol, kind, fired_at, value::text AS value, threshold::text AS threshold, message FROM alert_events
          WHERE user_id = $1 AND symbol = ANY($2::text[]) ORDER BY fired_at DESC, id DESC LIMIT $3`,
        [userId, symbols, limit],
      );
      return rows.map((r) => ({ ...r, fired_at: r.fired_at.toISOString() }));
    },
  };
}

export type ReportsRepository = ReturnType<typeof createReportsRepository>;
