// Scheduled housekeeping (pg-boss cron: one runner across all instances): purges expired
// sessions (their refresh tokens go with them, ON DELETE CASCADE), emailed codes a day
// past their expiry, security events older than SECURITY_EVENTS_RETENTION_DAYS and daily
// API request counts older than REQUEST_USAGE_RETENTION_DAYS, which otherwise grow
// without bound (one row per user and active day). Deletes
// run in bounded batches so one run never holds long locks; the job is idempotent.
import type { Clock } from '../../platform/clock.ts';
import type { Database } from '../../platform/db/index.ts';
import type { JobQueue } from '../../platform/jobs/index.ts';

export const PURGE_QUEUE = 'maintenance.purge';
const BATCH = 5000;
/** An expired session is kept a day (support, audits), a revoked one a week. */
const EXPIRED_GRACE_MS = 86_400_000;
const REVOKED_GRACE_MS = 7 * 86_400_000;

interface PurgeDeps {
  db: Database;
  clock: Clock;
  securityEventsRetentionDays: number;
  requestUsageRetentionDays: number;
}

export function createPurge(deps: PurgeDeps) {
  const { db, clock } = deps;
  const drain = async (sql: string, params: unknown[]): Promise<number> => {
    let total = 0;
    for (;;) {
      const { rowCount } = await db.query(sql, params);
      total += rowCount;
      if (rowCount < BATCH) return total;
    }
  };
  return async (): Promise<{ sessions: number; emailTokens: number; securityEvents: number; requestUsage: number }> => {
    const now = clock.now().getTime();
    const sessions = await drain(
      `DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE expires_at < $1 OR revoked_at < $2 LIMIT ${BATCH})`,
      [new Date(now - EXPIRED_GRACE_MS), new Date(now - REVOKED_GRACE_MS)],
    );
    const securityEvents = await drain(`DELETE FROM security_events WHERE id IN (SELECT id FROM security_events WHERE occurred_at < $1 LIMIT ${BATCH})`, [
      new Date(now - deps.securityEventsRetentionDays * 86_400_000),
    ]);
    const emailTokens = await drain(
      `DELETE FROM email_tokens WHERE token_hash IN (SELECT token_hash FROM email_tokens WHERE expires_at < $1 LIMIT ${BATCH})`,
      [new Date(now - EXPIRED_GRACE_MS)],
    );
    // Days are UTC dates, as the quota counts them.
    const firstKeptDay = new Date(now - deps.requestUsageRetentionDays * 86_400_000).toISOString().slice(0, 10);
    const requestUsage = await drain(
      `DELETE FROM api_request_usage WHERE (user_id, day) IN (SELECT user_id, day FROM api_request_usage WHERE day < $1 LIMIT ${BATCH})`,
      [firstKeptDay],
    );
    return { sessions, emailTokens, securityEvents, requestUsage };
  };
}

/** `purgeCron` undefined: the queue is defined but not scheduled (SCHEDULES_ENABLED=false). */
export function defineMaintenanceJobs(jobs: JobQueue, deps: PurgeDeps & { purgeCron: string | undefined }): void {
  const purge = createPurge(deps);
  jobs.define({
    name: PURGE_QUEUE,
    ...(deps.purgeCron === undefined ? {} : { cron: deps.purgeCron }),
    async handler(_payload, context) {
      const purged = await purge();
      context.logger.info({ event: 'maintenance_purged', ...purged }, 'purged expired sessions, codes, old security events and old request counts');
    },
  });
}

// ANALYZE after bulk price writes: a large import or history fill changes price_bars'
// statistics enough that the planner would keep choosing plans for the old table. The
// writer enqueues one job (one waits at a time: imports in a row queue one ANALYZE), which runs
// off the request path on a worker. Only tables named here can be analysed.
export const ANALYZE_QUEUE = 'maintenance.analyze';
const ANALYZED_TABLES = new Set(['price_bars']);

export function defineAnalyzeJob(jobs: JobQueue, deps: { db: Database }): void {
  jobs.define<{ table: string }>({
    name: ANALYZE_QUEUE,
    // Writes in a row queue one ANALYZE; one arriving while it runs queues the next.
    policy: 'short',
    retryLimit: 2,
    async handler(payload, context) {
      if (!ANALYZED_TABLES.has(payload.table)) throw new Error(`ANALYZE of ${String(payload.table).slice(0, 40)} is not allowed`);
      await deps.db.exec(`ANALYZE ${payload.table}`);
      context.logger.info({ event: 'table_analyzed', table: payload.table }, `analyzed ${payload.table}`);
    },
  });
}

/** The market module's bulk-write hook: enqueues ANALYZE of price_bars once a write reaches `threshold` rows. */
export function analyzeAfterBulkWrite(jobs: JobQueue, threshold: number): (rows: number) => Promise<void> {
  return async (rows) => {
    if (rows < threshold || !jobs.started()) return;
    await jobs.enqueue(undefined, ANALYZE_QUEUE, { table: 'price_bars' }, { singletonKey: 'price_bars' });
  };
}
