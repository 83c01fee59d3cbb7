// SQL for the daily API request counts (migrations/0110). Every value is a bound parameter.
import type { Queryable } from '../../platform/db/index.ts';

export interface DailyUsageStore {
  /**
   * Adds requests to one or more users' days in one statement and returns the new totals
   * by `userId:day`. Counts of users deleted meanwhile are dropped, not an error: they must
   * not stop the others being recorded.
   */
  addMany: (counts: ReadonlyArray<{ userId: string; day: string; count: number }>) => Promise<Map<string, number>>;
  /** The day's total so far (0 when none). */
  get: (userId: string, day: string) => Promise<number>;
}

export function createDailyUsageRepository(db: Queryable): DailyUsageStore {
  return {
    addMany: async (counts) => {
      const { rows } = await db.query<{ user_id: string; day: string; requests: string }>(
        `INSERT INTO api_request_usage (user_id, day, requests)
         SELECT c.user_id, c.day, c.requests
           FROM unnest($1::uuid[], $2::date[], $3::bigint[]) AS c (user_id, day, requests)
           JOIN users ON users.id = c.user_id
         ON CONFLICT (user_id, day) DO UPDATE SET requests = api_request_usage.requests + EXCLUDED.requests
         RETURNING user_id::text AS user_id, day::text AS day, requests::text AS requests`,
        [counts.map((c) => c.userId), counts.map((c) => c.day), counts.map((c) => c.count)],
      );
      return new Map(rows.map((row) => [`${row.user_id}:${row.day}`, Number(row.requests)]));
    },
    get: async (userId, day) => {
      const { rows } = await db.query<{ requests: string }>('SELECT requests::text AS requests FROM api_request_usage WHERE user_id = $1 AND day = $2', [userId, day]);
      return Number(rows[0]?.requests ?? 0);
    },
  };
}
