// SQL for the daily API request counts (migrations/0110). Every value is a bound parameter.
import type { Queryable } from '../../platform/db/index.ts';

export interface DailyUsageStore {
  /** Adds `count` requests to the user's day and returns the day's new total. */
  add: (userId: string, day: string, count: number) => Promise<number>;
  /** The day's total so far (0 when none). */
  get: (userId: string, day: string) => Promise<number>;
}

export function createDailyUsageRepository(db: Queryable): DailyUsageStore {
  return {
    add: async (userId, day, count) => {
      const { rows } = await db.query<{ requests: string }>(
        `INSERT INTO api_request_usage (user_id, day, requests) VALUES ($1, $2, $3)
         ON CONFLICT (user_id, day) DO UPDATE SET requests = api_request_usage.requests + EXCLUDED.requests
         RETURNING requests::text AS requests`,
        [userId, day, count],
      );
      return Number(rows[0]?.requests ?? count);
    },
    get: async (userId, day) => {
      const { rows } = await db.query<{ requests: string }>('SELECT requests::text AS requests FROM api_request_usage WHERE user_id = $1 AND day = $2', [userId, day]);
      return Number(rows[0]?.requests ?? 0);
    },
  };
}
