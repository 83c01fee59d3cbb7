// Reads of the dead-letter queue straight from pg-boss's job table (pg-boss is pinned to
// one version, so its columns are known): keyset pages filtered by source queue, which
// pg-boss's own findJobs cannot do. Keys are compared at millisecond precision, the
// precision of the cursor's timestamp (PostgreSQL stores microseconds). Writes (re-drive, delete) go through pg-boss.
import type { Queryable } from '../../platform/db/index.ts';
import { DEAD_LETTER_QUEUE } from '../../platform/jobs/index.ts';

export interface DeadLetterRow {
  id: string;
  source_name: string | null;
  source_id: string | null;
  data: { payload?: unknown; request_id?: unknown } | null;
  source_retry_count: number | null;
  source_output: unknown;
  created_on: Date;
  source_created_on: Date | null;
}

const COLUMNS = 'id::text AS id, source_name, source_id::text AS source_id, data, source_retry_count, source_output, created_on, source_created_on';

export function createDeadLetterRepository(db: Queryable, schema: string) {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid jobs schema ${schema}`);
  const table = `${schema}.job`;
  return {
    async list(options: { limit: number; queue?: string; after?: { at: Date; id: string } }): Promise<DeadLetterRow[]> {
      const { rows } = await db.query<DeadLetterRow>(
        `SELECT ${COLUMNS} FROM ${table}
          WHERE name = $1 AND state = 'created'
            AND ($2::text IS NULL OR source_name = $2)
            AND ($3::timestamptz IS NULL OR (date_trunc('milliseconds', created_on), id) > ($3::timestamptz, $4::uuid))
          ORDER BY date_trunc('milliseconds', created_on), id
          LIMIT $5`,
        [DEAD_LETTER_QUEUE, options.queue ?? null, options.after?.at ?? null, options.after?.id ?? null, options.limit],
      );
      return rows;
    },
    async get(id: string): Promise<DeadLetterRow | undefined> {
      const { rows } = await db.query<DeadLetterRow>(`SELECT ${COLUMNS} FROM ${table} WHERE name = $1 AND state = 'created' AND id = $2::uuid`, [
        DEAD_LETTER_QUEUE,
        id,
      ]);
      return rows[0];
    },
    /** Dead letters per source queue (metrics). */
    async countBySource(): Promise<{ source_name: string | null; count: number }[]> {
      const { rows } = await db.query<{ source_name: string | null; count: number }>(
        `SELECT source_name, count(*)::int AS count FROM ${table} WHERE name = $1 AND state = 'created' GROUP BY source_name`,
        [DEAD_LETTER_QUEUE],
      );
      return rows;
    },
    /** Ids of the dead letters of one source queue, or of all (purge). */
    async ids(queue: string | undefined): Promise<string[]> {
      const { rows } = await db.query<{ id: string }>(
        `SELECT id::text AS id FROM ${table} WHERE name = $1 AND state = 'created' AND ($2::text IS NULL OR source_name = $2)`,
        [DEAD_LETTER_QUEUE, queue ?? null],
      );
      return rows.map((r) => r.id);
    },
  };
}

export type DeadLetterRepository = ReturnType<typeof createDeadLetterRepository>;
