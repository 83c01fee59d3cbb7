import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { createLimiterFactory } from '../../platform/limits/index.ts';
import { createQuotaService, createUsageRegistry } from './quotas.service.ts';

const tiers = {
  free: { requestsPerDay: 2, alerts: 3, watchlistSymbols: 4, wsConnections: 1, templates: 5 },
  pro: { requestsPerDay: 10, alerts: 30, watchlistSymbols: 40, wsConnections: 10, templates: 50 },
};

function setup(start: string) {
  let now = new Date(start);
  const usage = createUsageRegistry();
  const quotas = createQuotaService({
    tiers,
    limiters: createLimiterFactory({ logger: pino({ level: 'silent' }) }),
    usage,
    clock: { now: () => now },
  });
  return { quotas, usage, setNow: (iso: string) => void (now = new Date(iso)) };
}

test('FAIL-007: the daily request quota counts per user and UTC day and resets at midnight', async () => {
  const { quotas, setNow } = setup('2026-03-01T23:59:58.000Z');
  const a = [await quotas.countRequest('u1', 'free'), await quotas.countRequest('u1', 'free'), await quotas.countRequest('u1', 'free')];
  assert.deepEqual(a.map((c) => [c.allowed, c.usage, c.remaining]), [[true, 1, 1], [true, 2, 0], [false, 2, 0]]);
  assert.equal(a[2]?.reset.toISOString(), '2026-03-02T00:00:00.000Z');
  assert.equal(a[2]?.resetSeconds, 2);
  assert.equal((await quotas.countRequest('u2', 'free')).allowed, true, 'users are counted separately');
  setNow('2026-03-02T00:00:01.000Z');
  assert.deepEqual((await quotas.countRequest('u1', 'free')).usage, 1, 'a new day starts at 0');
});

test('FAIL-007: a tier change applies to the same day count', async () => {
  const { quotas } = setup('2026-03-01T12:00:00.000Z');
  for (let i = 0; i < 3; i++) await quotas.countRequest('u1', 'free');
  const pro = await quotas.countRequest('u1', 'pro');
  assert.deepEqual([pro.allowed, pro.usage, pro.limit, pro.remaining], [true, 4, 10, 6]);
});

test('FAIL-007: quotaOf reports usage, limit and reset per resource; modules register their counters', async () => {
  const { quotas, usage } = setup('2026-03-01T12:00:00.000Z');
  usage.register('watchlist_symbols', (userId) => Promise.resolve(userId === 'u1' ? 7 : 0));
  assert.throws(() => usage.register('watchlist_symbols', () => Promise.resolve(0)), /already registered/);
  await quotas.countRequest('u1', 'pro');
  const quota = await quotas.quotaOf('u1', 'pro');
  assert.deepEqual(quota, {
    tier: 'pro',
    api_requests_per_day: { usage: 1, limit: 10, reset: new Date('2026-03-02T00:00:00.000Z') },
    alerts: { usage: 0, limit: 30, reset: null },
    watchlist_symbols: { usage: 7, limit: 40, reset: null },
    ws_connections: { usage: 0, limit: 10, reset: null },
    templates: { usage: 0, limit: 50, reset: null },
  });
  assert.equal((await quotas.quotaOf('u1', 'pro')).api_requests_per_day.usage, 1, 'reading the quota does not count');
});

test('FAIL-007: ensureCapacity refuses a resource past the tier limit with 409 quota_exceeded', async () => {
  const { quotas, usage } = setup('2026-03-01T12:00:00.000Z');
  let alerts = 2;
  usage.register('alerts', () => Promise.resolve(alerts));
  await quotas.ensureCapacity('alerts', 'u1', 'free');
  alerts = 3;
  await assert.rejects(quotas.ensureCapacity('alerts', 'u1', 'free'), (err: unknown) => {
    const e = err as { status?: number; code?: string };
    return e.status === 409 && e.code === 'quota_exceeded';
  });
  await quotas.ensureCapacity('alerts', 'u1', 'pro', 27);
  await assert.rejects(quotas.ensureCapacity('alerts', 'u1', 'pro', 28));
});
