// A schedule runs once across instances: two apps on one PostgreSQL, both working the
// queues and both registering the same cron schedule, run each occurrence of it exactly
// once, while every cron pass of either instance (one a second here) finds it due again.
// PGlite is one process's database, so two instances cannot share it: PostgreSQL only.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PURGE_QUEUE } from '../../../src/modules/maintenance/maintenance.jobs.ts';
import { CACHE_WARM_QUEUE, DAILY_CANDLES_QUEUE, NEWS_REFRESH_QUEUE, QUOTE_REFRESH_QUEUE } from '../../../src/modules/schedules/schedules.jobs.ts';
import { buildTestApp, usingPostgres, type TestApp } from '../../helpers/build-test-app.ts';
import { waitFor } from '../../helpers/wait.ts';

const SKIP = usingPostgres ? false : 'needs PostgreSQL (TEST_DATABASE_URL): two instances cannot share one PGlite database';
const EVENT = 'schedule_daily_candles_filled';

describe('schedules across instances', () => {
  let a: TestApp | undefined;
  let b: TestApp | undefined;
  /** The one occurrence of the schedule in this test: the start of a minute, due for 60 s from then. */
  let occurrence: Date;

  before(async () => {
    if (SKIP !== false) return;
    // This minute when enough of it is left for the passes below, else the next one.
    const now = new Date();
    occurrence = new Date(Math.floor(now.getTime() / 60_000) * 60_000 + (now.getUTCSeconds() > 48 ? 60_000 : 0));
    const env = {
      SCHEDULES_ENABLED: 'true',
      // Once a day, at the chosen minute.
      DAILY_CANDLES_CRON: `${occurrence.getUTCMinutes()} ${occurrence.getUTCHours()} * * *`,
      JOBS_CRON_MONITOR_SECONDS: '1',
      JOBS_POLL_INTERVAL_MS: '500',
      ALERTS_TICK_SECONDS: '0',
    };
    a = await buildTestApp({ worker: true, env });
    b = await buildTestApp({ worker: true, env, shareWith: a });
  });
  after(async () => {
    await b?.close();
    await a?.close();
  });

  it('two instances on one PostgreSQL run an occurrence of a schedule once, however many cron passes find it due', { skip: SKIP }, async () => {
    assert.ok(a !== undefined && b !== undefined);
    const apps = [a, b];
    const runs = () => apps.reduce((n, t) => n + t.logs.events(EVENT).length, 0);
    await waitFor('both workers', () => Promise.resolve(apps.every((t) => t.logs.events('jobs_worker_started').length > 0) ? true : undefined));
    await waitFor('the scheduled job', () => Promise.resolve(runs() > 0 ? true : undefined), 90_000);

    // Three more cron passes (each stamps version.cron_on), all while the occurrence is still due.
    const schema = a.jobs.schema;
    const cronOn = async () => String((await a?.db.query<{ at: Date | null }>(`SELECT cron_on AS at FROM ${schema}.version`))?.rows[0]?.at?.getTime());
    const seen = new Set([await cronOn()]);
    await waitFor('three more cron passes', async () => {
      seen.add(await cronOn());
      return seen.size > 3 ? true : undefined;
    });
    assert.ok(Date.now() < occurrence.getTime() + 60_000, 'the passes ran while the occurrence was due');

    const jobs = await a.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.job WHERE name = $1`, [DAILY_CANDLES_QUEUE]);
    assert.equal(jobs.rows[0]?.n, 1, 'one job for the occurrence');
    assert.equal(runs(), 1, 'run once, by one of the two instances');
    const schedules = await a.jobs.boss().getSchedules(DAILY_CANDLES_QUEUE);
    assert.equal(schedules.length, 1, 'both instances registered the same schedule');
  });

  it('the schedules are registered from the configuration, and a worker started with SCHEDULES_ENABLED=false removes them', { skip: SKIP }, async () => {
    assert.ok(a !== undefined);
    const crons = async () => Object.fromEntries((await a?.jobs.boss().getSchedules())?.map((row) => [row.name, row.cron]) ?? []);
    assert.deepEqual(await crons(), {
      [QUOTE_REFRESH_QUEUE]: '* * * * *',
      [DAILY_CANDLES_QUEUE]: `${occurrence.getUTCMinutes()} ${occurrence.getUTCHours()} * * *`,
      [NEWS_REFRESH_QUEUE]: '*/15 * * * *',
      [CACHE_WARM_QUEUE]: '2-59/5 * * * *',
      [PURGE_QUEUE]: '17 3 * * *',
    });
    const off = await buildTestApp({ worker: true, shareWith: a, env: { SCHEDULES_ENABLED: 'false', ALERTS_TICK_SECONDS: '0' } });
    try {
      await waitFor('the worker without schedules', () => Promise.resolve(off.logs.events('jobs_worker_started').length > 0 ? true : undefined));
      assert.deepEqual(await crons(), {});
    } finally {
      await off.close();
    }
  });
});
