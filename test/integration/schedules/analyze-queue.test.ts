// ANALYZE after bulk price writes is queued at most once: the `maintenance.analyze` queue
// (pg-boss policy `short`, one singleton key) never holds more than one waiting job,
// however many bulk writes arrive, at once or in a row; while one runs, one more waits
// (a write during the ANALYZE is analysed by the next). The writes are real CSV imports
// through the admin API, each past ANALYZE_AFTER_ROWS; this app works no queue, so the
// jobs stay where the writes left them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ANALYZE_QUEUE } from '../../../src/modules/maintenance/maintenance.jobs.ts';
import { createUser, type CreatedUser } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';

describe('the ANALYZE queue', () => {
  let t: TestApp;
  let admin: CreatedUser;
  let imported = 0;

  before(async () => {
    t = await buildTestApp({ env: { MARKET_DATA_PROVIDER: 'none', ANALYZE_AFTER_ROWS: '5' } });
    admin = await createUser(t, { role: 'admin' });
  });
  after(() => t.close());

  /** A bulk write past the threshold: ten new daily bars of a new symbol. */
  const bulkWrite = async () => {
    imported += 1;
    const csv = ['Date,Open,High,Low,Close,Volume', ...Array.from({ length: 10 }, (_, i) => `2021-02-${String(i + 1).padStart(2, '0')},1,2,0.5,1.5,10`)].join('\n');
    const res = await t.app.inject({
      method: 'POST',
      url: `/v1/admin/market/prices/BULK${imported}/import`,
      headers: { ...admin.headers, 'content-type': 'text/csv' },
      payload: csv,
    });
    assert.equal(res.statusCode, 200, res.body);
  };
  const jobsBy = async (): Promise<Record<string, number>> => {
    const { rows } = await t.db.query<{ state: string; n: number }>(`SELECT state::text AS state, count(*)::int AS n FROM ${t.jobs.schema}.job WHERE name = $1 GROUP BY state`, [
      ANALYZE_QUEUE,
    ]);
    return Object.fromEntries(rows.map((r) => [r.state, r.n]));
  };
  const waiting = async () => {
    const by = await jobsBy();
    return (by.created ?? 0) + (by.retry ?? 0);
  };

  it('many bulk writes, at once and in a row, leave one waiting ANALYZE; while it runs, one more waits and no third', async () => {
    await Promise.all(Array.from({ length: 12 }, () => bulkWrite()));
    for (let i = 0; i < 5; i += 1) await bulkWrite();
    assert.deepEqual(await jobsBy(), { created: 1 }, 'seventeen bulk writes: one waiting job');

    // A worker takes it: it is running, and the next writes queue one more, not more.
    const taken = await t.jobs.boss().fetch(ANALYZE_QUEUE);
    assert.equal(taken.length, 1);
    assert.deepEqual(await jobsBy(), { active: 1 });
    await Promise.all(Array.from({ length: 8 }, () => bulkWrite()));
    for (let i = 0; i < 3; i += 1) await bulkWrite();
    assert.equal(await waiting(), 1, 'writes during the ANALYZE: one waiting job');
    assert.deepEqual(await jobsBy(), { active: 1, created: 1 });
  });
});
