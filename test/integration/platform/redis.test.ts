// FAIL-023 (Redis part): Redis is optional; when REDIS_URL points at a Redis that is
// down, the service keeps serving, readiness stays ready (Redis is not critical) and
// tells operators that Redis is unavailable.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../helpers/processes.ts';
import { pingRedis } from '../../../src/platform/redis.ts';
import { buildTestApp, usingRedis, type TestApp } from '../../helpers/build-test-app.ts';

const HEALTH_TOKEN = 'health-token-0123456789abcdef';

describe('Redis down', () => {
  let t: TestApp;
  before(async () => {
    const closedPort = await freePort(); // nothing listens there
    t = await buildTestApp({ env: { REDIS_URL: `redis://127.0.0.1:${closedPort}`, HEALTH_TOKEN } });
  });
  after(() => t.close());

  it('FAIL-023: with Redis down the service keeps serving and readiness reports redis unavailable', async () => {
    assert.ok(t.redis, 'a Redis client was configured');
    const live = await t.app.inject({ method: 'GET', url: '/health/live' });
    assert.equal(live.statusCode, 200);
    const anonymous = await t.app.inject({ method: 'GET', url: '/health/ready' });
    assert.equal(anonymous.statusCode, 200, 'Redis is not critical: the service degrades');
    assert.deepEqual(anonymous.json(), { status: 'ok' });
    const detailed = await t.app.inject({ method: 'GET', url: '/health/ready', headers: { authorization: `Bearer ${HEALTH_TOKEN}` } });
    const components = detailed.json<{ components: { name: string; status: string; error?: string }[] }>().components;
    assert.equal(components.find((c) => c.name === 'database')?.status, 'ok');
    const redis = components.find((c) => c.name === 'redis');
    assert.equal(redis?.status, 'unavailable');
    assert.ok(t.logs.events('redis_down').length >= 1, 'the outage is logged with an event name');
    assert.equal(t.logs.events('redis_down').length, 1, 'and logged once, not on every reconnect attempt');
  });

  it('FAIL-023: Redis commands fail fast (each rejects within 250 ms, not after a queue timeout) instead of queueing while it is down', async () => {
    const redis = t.redis;
    assert.ok(redis);
    // Queued commands would wait for commandTimeout (1 s) or a reconnect; refused ones
    // reject at once (well under 1 ms). 250 ms is the bound, with room for a loaded machine.
    const commands: Array<[string, () => Promise<unknown>]> = [
      ['ping', () => redis.ping()],
      ['get', () => redis.get('probe')],
      ['set', () => redis.set('probe', '1', 'EX', 10)],
      ['incr', () => redis.incr('probe-count')],
    ];
    for (const [name, run] of commands) {
      const started = performance.now();
      await assert.rejects(run(), `${name} fails while Redis is down`);
      const elapsed = performance.now() - started;
      assert.ok(elapsed < 250, `${name} took ${elapsed.toFixed(0)} ms to fail (bound 250 ms)`);
    }
    // pingRedis (readiness) is bounded by its own timeout too, but fails well before it.
    const started = performance.now();
    await assert.rejects(pingRedis(redis, 5000));
    assert.ok(performance.now() - started < 250);
  });
});

const skip = usingRedis ? false : 'needs TEST_REDIS_URL';
describe('Redis up', () => {
  let t: TestApp;
  before(async () => {
    if (skip !== false) return;
    t = await buildTestApp({ env: { HEALTH_TOKEN } });
  });
  after(() => (skip === false ? t.close() : undefined));

  it('readiness reports redis ok with a latency, and keys get the app prefix', { skip }, async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health/ready', headers: { authorization: `Bearer ${HEALTH_TOKEN}` } });
    const redis = res.json<{ components: { name: string; status: string; latency_ms: number }[] }>().components.find((c) => c.name === 'redis');
    assert.equal(redis?.status, 'ok');
    assert.ok(t.redis);
    await t.redis.set('probe', '1', 'EX', 10);
    const raw = await t.redis.call('GET', `${t.redisPrefix}probe`);
    assert.equal(raw, null, 'call() is not prefixed: the stored key carries the prefix');
    assert.equal(await t.redis.get('probe'), '1');
  });
});
