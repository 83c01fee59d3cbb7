// FAIL-023: past the configured heap or event-loop-delay thresholds, requests are shed
// early with 503 problem JSON and Retry-After; /health/live is never shed. No timing
// assertions: the event loop is blocked far past a low threshold.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildTestApp } from '../../helpers/build-test-app.ts';

/**
 * Resolves once the event-loop delay monitor has recorded a stall that just ended: a timer
 * started right after a stall is due against the loop's stale clock and may run before the
 * monitor's overdue one in the same timers phase; the check phase after it cannot.
 */
async function stallRecorded(): Promise<void> {
  await sleep(20);
  await new Promise((resolve) => setImmediate(resolve));
}

function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Deliberately block the event loop, as a CPU-bound request would.
  }
}

describe('load shedding', () => {
  it('FAIL-023: over the heap threshold every request but /health/live gets 503 with Retry-After', async () => {
    const t = await buildTestApp({ env: { SHED_HEAP_USED_BYTES: '1', SHED_RETRY_AFTER_SECONDS: '7' } });
    try {
      const live = await t.app.inject({ method: 'GET', url: '/health/live' });
      assert.equal(live.statusCode, 200);
      assert.deepEqual(live.json(), { status: 'ok' });
      for (const url of ['/health/ready', '/metrics', '/openapi.json', '/v1/unknown']) {
        const res = await t.app.inject({ method: 'GET', url });
        assert.equal(res.statusCode, 503, url);
        assert.equal(res.headers['retry-after'], '7');
        assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
        const body = res.json<{ code: string; requestId: string }>();
        assert.equal(body.code, 'overloaded');
        assert.equal(body.requestId, res.headers['x-request-id']);
      }
      const shed = t.logs.events('load_shed');
      assert.equal(shed.length, 4);
      assert.equal(shed[0]?.reason, 'heap use');
    } finally {
      await t.close();
    }
  });

  it('FAIL-023: a blocked event loop past SHED_EVENT_LOOP_DELAY_MS sheds, and recovers afterwards', async () => {
    const t = await buildTestApp({ env: { SHED_EVENT_LOOP_DELAY_MS: '250', SHED_RETRY_AFTER_SECONDS: '3' } });
    try {
      // Let the delay monitor settle after start-up (a loaded machine may take a while),
      // then check we are not shedding.
      let ready = 0;
      for (let i = 0; i < 300 && ready !== 200; i++) {
        await sleep(100);
        ready = (await t.app.inject({ method: 'GET', url: '/health/ready' })).statusCode;
      }
      assert.equal(ready, 200, 'not shedding when idle');

      busy(2500); // ten times the threshold
      await stallRecorded();
      const shed = await t.app.inject({ method: 'GET', url: '/health/ready' });
      assert.equal(shed.statusCode, 503);
      assert.equal(shed.headers['retry-after'], '3');
      assert.equal(shed.json<{ code: string }>().code, 'overloaded');
      assert.equal(t.logs.events('load_shed').at(-1)?.reason, 'event loop delay');
      const live = await t.app.inject({ method: 'GET', url: '/health/live' });
      assert.equal(live.statusCode, 200, 'liveness is never shed');

      // Once the loop is free again the server takes traffic again.
      let after = 503;
      for (let i = 0; i < 300 && after !== 200; i++) {
        await sleep(100);
        after = (await t.app.inject({ method: 'GET', url: '/health/ready' })).statusCode;
      }
      assert.equal(after, 200, 'recovers once the loop is free');
    } finally {
      await t.close();
    }
  });

  it('FAIL-023: start-up work that blocked the loop before ready does not make a fresh instance shed', async () => {
    // Stands in for opening the database and building the app, which block for seconds.
    const t = await buildTestApp({ env: { SHED_EVENT_LOOP_DELAY_MS: '250' }, beforeReady: () => busy(2500) });
    try {
      const res = await t.app.inject({ method: 'GET', url: '/health/ready' });
      assert.equal(res.statusCode, 200, res.body);
    } finally {
      await t.close();
    }
  });
});
