// A rule change reloads the symbol's rules on the instance that made it before the request
// returns, and tells the others through the bus. The instance hears its own message too; it
// skips it rather than reading the same rules a second time.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { ALERTS_CHANGED } from '../../../src/modules/alerts/alerts.service.ts';
import { openAlertsInstance } from '../../helpers/alerts-service.ts';
import { waitFor } from '../../helpers/wait.ts';

describe('alert rule reloads', () => {
  it('a create, update and delete each reload the rules once; a change message from another instance reloads them', async () => {
    const reads: string[] = [];
    const a = await openAlertsInstance({
      wrapRepo: (repo) => ({
        ...repo,
        activeTickAlerts: (symbol?: string) => {
          if (symbol !== undefined) reads.push(symbol);
          return repo.activeTickAlerts(symbol);
        },
      }),
    });
    try {
      const user = { userId: a.userId, tier: 'pro' as const };
      const rule = await a.service.create(user, { kind: 'price_above', symbol: 'RELD', interval: '1d', threshold: '50', mode: 'every_time', cooldown_seconds: 0 });
      await a.service.update(a.userId, rule.id, { threshold: '55' });
      await a.service.remove(a.userId, rule.id);
      // The bus delivers on a later turn: long enough for an echo to have arrived.
      await sleep(100);
      assert.deepEqual(reads, ['RELD', 'RELD', 'RELD']);

      await a.pubsub.publish(ALERTS_CHANGED, { symbol: 'RELD', origin: 'another instance' });
      await waitFor('the other instance’s change reloaded the rules', () => Promise.resolve(reads.length === 4 ? true : undefined));
      assert.deepEqual(reads, ['RELD', 'RELD', 'RELD', 'RELD']);
    } finally {
      await a.close();
    }
  });
});
