// A tick or bars event the bus delivers after the alerts service stopped (the unsubscribe
// does not recall a message already on its way) is not evaluated: nothing is queued, and
// no write is tried on a database that the process has closed meanwhile.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { CONDITION_FLUSH_MS } from '../../../src/modules/alerts/alerts.service.ts';
import { openAlertsInstance } from '../../helpers/alerts-service.ts';

describe('the alerts service after stop()', () => {
  it('a tick or bars event that arrives after stop() is not evaluated; nothing is written once the database is closed', async () => {
    const a = await openAlertsInstance();
    let closed = false;
    try {
      await a.service.create({ userId: a.userId, tier: 'pro' }, { kind: 'price_above', symbol: 'STOP', interval: '1d', threshold: '50', mode: 'every_time', cooldown_seconds: 0 });
      assert.deepEqual(await a.service.onQuote({ symbol: 'STOP', price: '49', as_of: new Date().toISOString() }), []);
      await a.close();
      closed = true;
      const late = a.service.onQuote({ symbol: 'STOP', price: '60', as_of: new Date().toISOString() });
      assert.deepEqual(await late, [], 'a crossing tick after stop() fires nothing');
      assert.deepEqual(await a.service.onBars('STOP', '1d'), []);
      await sleep(CONDITION_FLUSH_MS * 3);
      assert.deepEqual(a.logs.events('alert_write_failed'), [], 'no write was tried on the closed database');
    } finally {
      if (!closed) await a.close();
    }
  });
});
