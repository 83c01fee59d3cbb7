// The purge job: expired sessions (with their refresh tokens), emailed codes past their
// expiry, security events and daily request counts past their retention are deleted;
// live sessions, live codes, recent events and recent counts stay.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createUser, type CreatedUser } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';
import { waitFor } from '../../helpers/wait.ts';

describe('scheduled purge', () => {
  let t: TestApp;
  let user: CreatedUser;
  before(async () => {
    t = await buildTestApp({ worker: true, env: { SECURITY_EVENTS_RETENTION_DAYS: '30', REQUEST_USAGE_RETENTION_DAYS: '60', JOBS_POLL_INTERVAL_MS: '500', ALERTS_TICK_SECONDS: '0', SCHEDULES_ENABLED: 'true' } });
    user = await createUser(t);
  });
  after(() => t.close());

  it('purges expired sessions with their refresh tokens, security events and request counts past retention, and nothing else', async () => {
    const day = 86_400_000;
    const now = Date.now();
    const old = randomUUID();
    await t.db.query(`INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at) VALUES ($1, $2, $3, $3, $4)`, [old, user.userId, new Date(now - 40 * day), new Date(now - 2 * day)]);
    await t.db.query(`INSERT INTO refresh_tokens (id, session_id, token_hash, issued_at) VALUES ($1, $2, $3, $4)`, [randomUUID(), old, randomUUID(), new Date(now - 40 * day)]);
    await t.db.query(`INSERT INTO security_events (occurred_at, event) VALUES ($1, 'login_failed'), ($2, 'login_failed')`, [new Date(now - 31 * day), new Date(now - 29 * day)]);
    const token = (hash: string, expires: Date) =>
      t.db.query(`INSERT INTO email_tokens (token_hash, job_id, user_id, purpose, email, created_at, expires_at) VALUES ($1, $1, $2, 'password_reset', $3, $4, $5)`, [hash, user.userId, user.email, new Date(now - 3 * day), expires]);
    await token('expired-code', new Date(now - 2 * day));
    await token('live-code', new Date(now + day));
    const before = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM security_events');
    const utcDay = (daysAgo: number) => new Date(now - daysAgo * day).toISOString().slice(0, 10);
    for (const daysAgo of [61, 60, 59, 0]) {
      await t.db.query('INSERT INTO api_request_usage (user_id, day, requests) VALUES ($1, $2, 5) ON CONFLICT (user_id, day) DO NOTHING', [user.userId, utcDay(daysAgo)]);
    }

    await t.jobs.enqueue(undefined, 'maintenance.purge', {});
    await waitFor('the purge job', async () => (t.logs.events('maintenance_purged').length > 0 ? true : (await Promise.resolve(undefined))));

    assert.equal((await t.db.query('SELECT 1 FROM sessions WHERE id = $1', [old])).rows.length, 0, 'expired session purged');
    assert.equal((await t.db.query('SELECT 1 FROM refresh_tokens WHERE session_id = $1', [old])).rows.length, 0, 'its refresh tokens with it');
    assert.equal((await t.db.query('SELECT 1 FROM sessions WHERE id = $1', [user.sessionId])).rows.length, 1, 'the live session stays');
    const afterCount = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM security_events');
    assert.equal(afterCount.rows[0]?.n, (before.rows[0]?.n ?? 0) - 1, 'only the event past retention is gone');
    assert.deepEqual((await t.db.query<{ token_hash: string }>('SELECT token_hash FROM email_tokens')).rows.map((r) => r.token_hash), ['live-code'], 'only the emailed code past its expiry is gone');
    const days = await t.db.query<{ day: string }>("SELECT to_char(day, 'YYYY-MM-DD') AS day FROM api_request_usage WHERE user_id = $1 ORDER BY day", [user.userId]);
    assert.deepEqual(days.rows.map((r) => r.day), [utcDay(60), utcDay(59), utcDay(0)], 'only the counts of days before the retention are gone');
    const line = t.logs.events('maintenance_purged')[0];
    assert.equal(line?.sessions, 1);
    assert.equal(line?.securityEvents, 1);
    assert.equal(line?.emailTokens, 1);
    assert.equal(line?.requestUsage, 1);
    // The schedule is registered once, in the database (pg-boss cron: one runner for all instances).
    const schedule = await t.jobs.boss().getSchedule('maintenance.purge');
    assert.equal(schedule?.cron, '17 3 * * *');
  });
});
