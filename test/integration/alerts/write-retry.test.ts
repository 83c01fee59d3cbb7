// A firing round that fails on a database error keeps its firings: they go back to the
// head of the queue and a later round (after a backoff) stores them, so a transient
// error loses no event and stores none twice. The failure is real: a trigger on
// alert_events that raises on its first call (the sequence it counts with is not rolled
// back with the round), or, on PostgreSQL, that terminates its own connection. Retries are
// bounded: a database that keeps failing makes the tick's promise reject after
// FIRING_RETRIES failed rounds, and the next tick fires the alert again once the
// database recovers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FIRING_RETRIES } from '../../../src/modules/alerts/alerts.service.ts';
import { deliveryJobs, openAlertsInstance, storedEvents, type AlertsInstance } from '../../helpers/alerts-service.ts';
import { usingPostgres } from '../../helpers/build-test-app.ts';

let seq = 0;
const at = () => new Date(Date.UTC(2026, 2, 2, 15, 0, 0) + (seq += 1) * 1000).toISOString();

describe('alert firings when a round fails', () => {
  let a: AlertsInstance;

  before(async () => {
    a = await openAlertsInstance({ writer: { retryMs: 5 } });
  });
  after(async () => {
    await a.close();
  });

  const createAlert = async (symbol: string) =>
    a.service.create({ userId: a.userId, tier: 'pro' }, { kind: 'price_above', symbol, interval: '1d', threshold: '50', mode: 'every_time', cooldown_seconds: 0 });
  /** A trigger on alert_events running `action` on the first `times` inserts (counted by a sequence: a rollback keeps its count). */
  const failInserts = async (name: string, action: string, times: number) => {
    await a.db.exec(`
      CREATE SEQUENCE ${name}_calls;
      CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF nextval('${name}_calls') <= ${times} THEN ${action}; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER ${name} BEFORE INSERT ON alert_events FOR EACH ROW EXECUTE FUNCTION ${name}();`);
    return {
      calls: async () => (await a.db.query<{ n: number }>(`SELECT last_value::int AS n FROM ${name}_calls`)).rows[0]?.n ?? 0,
      remove: () => a.db.exec(`DROP TRIGGER ${name} ON alert_events; DROP FUNCTION ${name}(); DROP SEQUENCE ${name}_calls;`),
    };
  };
  const writeFailures = () => a.logs.events('alert_write_failed').length;

  it('FAIL-021: a firing whose round fails on a database error is stored by a later round: one event, one delivery job, the tick acknowledged', async () => {
    const alert = await createAlert('RTRY');
    assert.deepEqual(await a.service.onQuote({ symbol: 'RTRY', price: '49', as_of: at() }), []);
    const fault = await failInserts('fail_alert_event_once', `RAISE EXCEPTION 'injected: the first alert event insert fails'`, 1);
    const failuresBefore = writeFailures();
    const crossing = { symbol: 'RTRY', price: '51', as_of: at() };
    const acknowledged = await a.service.onQuote(crossing);
    assert.equal(acknowledged.length, 1, 'the tick is acknowledged with its event once stored');
    assert.equal(await fault.calls(), 2, 'the first insert failed, the retry stored it');
    assert.equal(writeFailures(), failuresBefore + 1, 'one round failed');
    await fault.remove();
    const events = await storedEvents(a.db, alert.id);
    assert.deepEqual(
      events.map((e) => e.id),
      [acknowledged[0]?.id],
      'exactly one event for the crossing',
    );
    assert.equal(await deliveryJobs(a.db, a.jobs, acknowledged[0]?.id ?? ''), 1, 'one delivery job');
    // The same tick again (a duplicate from the bus) stores nothing more.
    assert.deepEqual(await a.service.onQuote(crossing), []);
    assert.equal((await storedEvents(a.db, alert.id)).length, 1);
  });

  it('FAIL-021: a round whose connection is terminated mid-statement is retried on a new connection: one event, one delivery job', { skip: usingPostgres ? false : 'PostgreSQL only (PGlite has one in-process connection)' }, async () => {
    const alert = await createAlert('TERM');
    await a.service.onQuote({ symbol: 'TERM', price: '49', as_of: at() });
    // pg_sleep lets the backend act on its own termination inside the statement.
    const fault = await failInserts('terminate_alert_event_once', 'PERFORM pg_terminate_backend(pg_backend_pid()); PERFORM pg_sleep(5)', 1);
    const failuresBefore = writeFailures();
    const acknowledged = await a.service.onQuote({ symbol: 'TERM', price: '52', as_of: at() });
    assert.equal(acknowledged.length, 1);
    assert.equal(writeFailures(), failuresBefore + 1, 'one round failed with its connection');
    const failure = a.logs.events('alert_write_failed').at(-1) as { err?: { message?: string } } | undefined;
    assert.match(failure?.err?.message ?? '', /terminating connection/);
    await fault.remove();
    const events = await storedEvents(a.db, alert.id);
    assert.deepEqual(
      events.map((e) => e.id),
      [acknowledged[0]?.id],
    );
    assert.equal(await deliveryJobs(a.db, a.jobs, acknowledged[0]?.id ?? ''), 1);
  });

  it(`retries are bounded: a database that keeps failing rejects the tick after ${FIRING_RETRIES} retries and stores nothing; the next tick still above the threshold fires`, async () => {
    const alert = await createAlert('DOWN');
    await a.service.onQuote({ symbol: 'DOWN', price: '49', as_of: at() });
    const fault = await failInserts('fail_alert_event_always', `RAISE EXCEPTION 'injected: the database keeps failing'`, 1_000_000);
    const dropped = a.logs.events('alert_firing_dropped').length;
    await assert.rejects(a.service.onQuote({ symbol: 'DOWN', price: '51', as_of: at() }), /injected: the database keeps failing/);
    assert.equal(await fault.calls(), 1 + FIRING_RETRIES, 'the first round and every retry tried it');
    assert.equal(a.logs.events('alert_firing_dropped').length, dropped + 1);
    assert.deepEqual(await storedEvents(a.db, alert.id), []);
    await fault.remove();
    // The given-up firing left the condition unknown, not "met": the next tick above the
    // threshold fires (and is stored at once).
    const next = await a.service.onQuote({ symbol: 'DOWN', price: '52', as_of: at() });
    assert.equal(next.length, 1);
    assert.deepEqual(
      (await storedEvents(a.db, alert.id)).map((e) => e.value),
      ['52'],
    );
  });
});
