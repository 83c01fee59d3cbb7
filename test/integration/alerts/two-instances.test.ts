// Two instances on one PostgreSQL (and Redis) evaluating the same ticks store one event
// per crossing: the unique (alert, crossing key) constraint decides, not timing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createUser, type CreatedUser } from '../../helpers/auth.ts';
import { buildTestApp, usingPostgres, type TestApp } from '../../helpers/build-test-app.ts';

const skip = usingPostgres ? false : 'needs TEST_DATABASE_URL (two instances share one database)';

describe('alerts on two instances', () => {
  let t1: TestApp;
  let t2: TestApp;
  let user: CreatedUser;
  const env = { ALERTS_TICK_SECONDS: '0' };

  before(async () => {
    if (skip !== false) return;
    t1 = await buildTestApp({ env });
    user = await createUser(t1);
  });
  after(async () => {
    if (skip !== false) return;
    await t2.close();
    await t1.close();
  });

  it('two instances evaluating the same ticks fire once per crossing', { skip }, async () => {
    const res = await t1.app.inject({ method: 'POST', url: '/v1/alerts', headers: user.headers, payload: { kind: 'price_above', symbol: 'TWO', threshold: '20', mode: 'every_time' } });
    assert.equal(res.statusCode, 201);
    const alert = res.json<{ id: string }>();
    // The second instance starts after the alert exists, so it loads it from the database.
    t2 = await buildTestApp({ env, shareWith: t1 });
    const prices = ['19', '21', '19.5', '22', '18', '25'];
    for (const [i, price] of prices.entries()) {
      const message = { symbol: 'TWO', price, previous_close: null, as_of: new Date(Date.UTC(2026, 1, 2, 15, 0, i)).toISOString(), source: 'test' };
      await Promise.all([t1.pubsub.publish('market.quote', message), t2.pubsub.publish('market.quote', message)]);
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const events = await t1.app.inject({ method: 'GET', url: `/v1/alerts/${alert.id}/events`, headers: user.headers });
    assert.deepEqual(
      events.json<{ items: { value: string }[] }>().items.map((e) => e.value),
      ['21', '22', '25'],
    );
    const stored = await t1.db.query<{ n: number }>('SELECT count(*)::int AS n FROM alert_events WHERE alert_id = $1', [alert.id]);
    assert.equal(stored.rows[0]?.n, 3);
  });
});
