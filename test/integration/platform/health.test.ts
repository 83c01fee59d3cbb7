// FAIL-018: liveness is public and says only that the process is up; readiness tells
// anonymous callers ok/unavailable and operators (HEALTH_TOKEN) the component details;
// /metrics needs METRICS_TOKEN.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createUser } from '../../helpers/auth.ts';
import { buildTestApp, usingPostgres, usingRedis, type TestApp } from '../../helpers/build-test-app.ts';

const HEALTH_TOKEN = 'health-token-0123456789abcdef';
const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
const env = { HEALTH_TOKEN, METRICS_TOKEN };

interface Ready {
  status: string;
  components?: { name: string; status: string; latency_ms: number; error?: string }[];
}

describe('health and metrics', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp({ env });
  });
  after(() => t.close());

  it('FAIL-018: /health/live is public and says only that the process is up', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health/live' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { status: 'ok' });
    const withToken = await t.app.inject({ method: 'GET', url: '/health/live', headers: { authorization: `Bearer ${HEALTH_TOKEN}` } });
    assert.deepEqual(withToken.json(), { status: 'ok' });
  });

  it('FAIL-018: /health/ready answers anonymous callers and wrong tokens with status only', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong-token-0123456789' }, { authorization: HEALTH_TOKEN }, { authorization: `Bearer ${METRICS_TOKEN}` }]) {
      const res = await t.app.inject({ method: 'GET', url: '/health/ready', headers });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), { status: 'ok' });
    }
  });

  it('FAIL-018: with HEALTH_TOKEN, /health/ready adds database (and redis) status and latency', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health/ready', headers: { authorization: `Bearer ${HEALTH_TOKEN}` } });
    assert.equal(res.statusCode, 200);
    const body = res.json<Ready>();
    assert.equal(body.status, 'ok');
    const names = (body.components ?? []).map((c) => c.name);
    assert.deepEqual(names, usingRedis ? ['database', 'redis', 'jobs'] : ['database', 'jobs']);
    for (const component of body.components ?? []) {
      assert.equal(component.status, 'ok');
      assert.ok(Number.isInteger(component.latency_ms) && component.latency_ms >= 0);
    }
  });

  it('FAIL-018: /metrics without a token, or with a wrong one, is a 401 problem', async () => {
    for (const headers of [{}, { authorization: 'Bearer not-the-metrics-token' }, { authorization: `Bearer ${HEALTH_TOKEN}` }]) {
      const res = await t.app.inject({ method: 'GET', url: '/metrics', headers });
      assert.equal(res.statusCode, 401);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
      assert.equal(res.json<{ code: string }>().code, 'metrics_unauthorized');
      assert.doesNotMatch(res.body, /financehub_/);
    }
  });

  it('FAIL-018: with METRICS_TOKEN, /metrics has the request histogram, pool gauges and event-loop lag', async () => {
    await t.app.inject({ method: 'GET', url: '/health/live' });
    await t.app.inject({ method: 'GET', url: '/no/such/route' });
    const res = await t.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain/);
    const text = res.body;
    assert.match(text, /financehub_http_request_duration_seconds_bucket\{[^}]*route="\/health\/live"[^}]*status_code="200"/);
    assert.match(text, /financehub_http_request_duration_seconds_count\{[^}]*route="unmatched"[^}]*status_code="404"/);
    for (const gauge of ['financehub_db_pool_total', 'financehub_db_pool_idle', 'financehub_db_pool_waiting', 'financehub_event_loop_lag_seconds', 'financehub_log_lines_dropped_total']) {
      assert.match(text, new RegExp(`^${gauge} \\d`, 'm'), gauge);
    }
    assert.match(text, /financehub_process_cpu_seconds_total/);
  });

  it('FAIL-018: an admin\'s access token gets readiness details and metrics; a normal user\'s does not', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const user = await createUser(t);
    const adminReady = await t.app.inject({ method: 'GET', url: '/health/ready', headers: admin.headers });
    assert.ok(adminReady.json<Ready>().components?.some((c) => c.name === 'database'));
    const adminMetrics = await t.app.inject({ method: 'GET', url: '/metrics', headers: admin.headers });
    assert.equal(adminMetrics.statusCode, 200);
    const userReady = await t.app.inject({ method: 'GET', url: '/health/ready', headers: user.headers });
    assert.deepEqual(userReady.json(), { status: 'ok' });
    const userMetrics = await t.app.inject({ method: 'GET', url: '/metrics', headers: user.headers });
    assert.equal(userMetrics.statusCode, 401);
  });

  it('FAIL-018: /health/ready is 503 when the database is down; details name it', async () => {
    const down = await buildTestApp({ env });
    try {
      await down.db.close();
      const anonymous = await down.app.inject({ method: 'GET', url: '/health/ready' });
      assert.equal(anonymous.statusCode, 503);
      assert.deepEqual(anonymous.json(), { status: 'unavailable' });
      const detailed = await down.app.inject({ method: 'GET', url: '/health/ready', headers: { authorization: `Bearer ${HEALTH_TOKEN}` } });
      assert.equal(detailed.statusCode, 503);
      const database = detailed.json<Ready>().components?.find((c) => c.name === 'database');
      assert.equal(database?.status, 'unavailable');
      const live = await down.app.inject({ method: 'GET', url: '/health/live' });
      assert.equal(live.statusCode, 200, 'liveness does not depend on the database');
    } finally {
      // The database is already closed: close everything else that holds the process
      // open (app, event bus subscriber, job queue, Redis) and drop the schema by hand.
      await down.app.close();
      await down.pubsub.close();
      await down.jobs.stop().catch(() => undefined);
      down.redis?.disconnect();
      if (usingPostgres) {
        const client = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
        await client.connect();
        await client.query(`DROP SCHEMA IF EXISTS ${down.schema} CASCADE`);
        await client.end();
      }
    }
  });
});
