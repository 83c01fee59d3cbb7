import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { pino } from 'pino';
import type { DailyUsageStore } from './quotas.repository.ts';
import { createQuotaService, createUsageRegistry, MAX_USERS_PER_FLUSH } from './quotas.service.ts';

const tiers = {
  free: { requestsPerDay: 2, alerts: 3, watchlistSymbols: 4, wsConnections: 1, templates: 5, portfolios: 20, transactionsPerPortfolio: 50_000, splitsPerPortfolio: 50 },
  pro: { requestsPerDay: 10, alerts: 30, watchlistSymbols: 40, wsConnections: 10, templates: 50, portfolios: 20, transactionsPerPortfolio: 30, splitsPerPortfolio: 10 },
};

/** The database table's behaviour, in memory: what several instances share. */
function memoryStore(): DailyUsageStore & { writes: number } {
  const totals = new Map<string, number>();
  const store = {
    writes: 0,
    addMany: (counts: ReadonlyArray<{ userId: string; day: string; count: number }>) => {
      store.writes++;
      const result = new Map<string, number>();
      for (const { userId, day, count } of counts) {
        const key = `${userId}:${day}`;
        totals.set(key, (totals.get(key) ?? 0) + count);
        result.set(key, totals.get(key) ?? 0);
      }
      return Promise.resolve(result);
    },
    get: (userId: string, day: string) => Promise.resolve(totals.get(`${userId}:${day}`) ?? 0),
  };
  return store;
}

function setup(start: string, options: { store?: DailyUsageStore; flushBatch?: number } = {}) {
  let now = new Date(start);
  const usage = createUsageRegistry();
  const quotas = createQuotaService({
    tiers,
    store: options.store ?? memoryStore(),
    usage,
    clock: { now: () => now },
    logger: pino({ level: 'silent' }),
    flushBatch: options.flushBatch ?? 50,
    flushIntervalMs: 60_000,
  });
  after(() => quotas.close());
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
    portfolios: { usage: 0, limit: 20, reset: null },
    transactions_per_portfolio: { usage: 0, limit: 30, reset: null },
    splits_per_portfolio: { usage: 0, limit: 10, reset: null },
  });
  assert.equal((await quotas.quotaOf('u1', 'pro')).api_requests_per_day.usage, 1, 'reading the quota does not count');
});

test('resources counted together are read once for the quota view, and each alone for a capacity check', async () => {
  const { quotas, usage } = setup('2026-03-01T12:00:00.000Z');
  let reads = 0;
  usage.registerTogether(['transactions_per_portfolio', 'splits_per_portfolio'], () => {
    reads++;
    return Promise.resolve({ transactions_per_portfolio: 12, splits_per_portfolio: 3 });
  });
  assert.throws(() => usage.register('splits_per_portfolio', () => Promise.resolve(0)), /already registered/);
  const quota = await quotas.quotaOf('u1', 'pro');
  assert.deepEqual([quota.transactions_per_portfolio.usage, quota.splits_per_portfolio.usage, reads], [12, 3, 1]);
  assert.equal(await usage.usage('splits_per_portfolio', 'u1'), 3);
  await quotas.ensureCapacity('transactions_per_portfolio', 'u1', 'pro', 18);
  await assert.rejects(quotas.ensureCapacity('transactions_per_portfolio', 'u1', 'pro', 19), /allows 30 transactions per portfolio; you have 12/);
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

test('FAIL-007: one instance counting in batches never admits a request over the quota, and writes once per batch', async () => {
  const store = memoryStore();
  const { quotas } = setup('2026-03-01T12:00:00.000Z', { store, flushBatch: 4 });
  const results = await Promise.all(Array.from({ length: 40 }, () => quotas.countRequest('u1', 'pro')));
  assert.equal(results.filter((r) => r.allowed).length, 10, 'exactly the quota of 10');
  await quotas.flushAll();
  assert.equal(await store.get('u1', '2026-03-01'), 40, 'every request recorded, refused ones too');
  assert.ok(store.writes <= 11, `${store.writes} writes for 40 requests in batches of 4`);
});

test('FAIL-007: several instances sharing the store over-admit by at most 2 × batch × instances (docs/limits.md)', async () => {
  const store = memoryStore();
  const batch = 3;
  const instances = [0, 1, 2].map(() => setup('2026-03-01T12:00:00.000Z', { store, flushBatch: batch }).quotas);
  let admitted = 0;
  // Round-robin, concurrently within each round, until every instance refuses.
  for (let round = 0; round < 200; round++) {
    const results = await Promise.all(instances.map((q) => q.countRequest('u1', 'pro')));
    admitted += results.filter((r) => r.allowed).length;
    if (results.every((r) => !r.allowed)) break;
  }
  assert.ok(admitted >= 10, 'the quota itself is granted');
  assert.ok(admitted <= 10 + 2 * batch * instances.length, `admitted ${admitted}, bound ${10 + 2 * batch * instances.length}`);
  for (const q of instances) assert.equal((await q.countRequest('u1', 'pro')).allowed, false, 'every instance refuses once the batches are in');
});

test('FAIL-007: the day count is read from the store, so a new instance (or one after a Redis restart) starts from it', async () => {
  const store = memoryStore();
  await store.addMany([{ userId: 'u1', day: '2026-03-01', count: 10 }]);
  const { quotas } = setup('2026-03-01T12:00:00.000Z', { store });
  const count = await quotas.countRequest('u1', 'pro');
  assert.deepEqual([count.allowed, count.remaining], [false, 0]);
});

test('FAIL-007: countRequestNow counts exactly like countRequest when the day is in memory, and otherwise counts nothing and says so', async () => {
  const store = memoryStore();
  const { quotas, setNow } = setup('2026-03-01T23:59:58.000Z', { store, flushBatch: 3 });
  assert.equal(quotas.countRequestNow('u1', 'pro'), undefined, 'the day is not loaded yet');
  await quotas.countRequest('u1', 'pro');
  const now = [quotas.countRequestNow('u1', 'pro'), quotas.countRequestNow('u1', 'pro')];
  assert.deepEqual(now.map((c) => [c?.allowed, c?.usage, c?.remaining, c?.resetSeconds]), [[true, 2, 8, 2], [true, 3, 7, 2]]);
  // The third request filled a batch, now being sent; three more fill the next one.
  for (let i = 0; i < 3; i++) assert.ok(quotas.countRequestNow('u1', 'pro'));
  assert.equal(quotas.countRequestNow('u1', 'pro'), undefined, 'a batch in flight and a full one waiting: countRequest waits, this does not count');
  await quotas.flushAll();
  await quotas.flushAll();
  assert.equal(store.writes, 2);
  const after = [quotas.countRequestNow('u1', 'pro'), quotas.countRequestNow('u1', 'pro')];
  assert.deepEqual(after.map((c) => [c?.allowed, c?.usage]), [[true, 7], [true, 8]], 'nothing was counted by the refused call');
  setNow('2026-03-02T00:00:01.000Z');
  assert.equal(quotas.countRequestNow('u1', 'pro'), undefined, 'a new day is read first');
  assert.equal((await quotas.countRequest('u1', 'pro')).usage, 1);
  assert.equal(quotas.countRequestNow('u1', 'pro')?.usage, 2);
});

test('FAIL-007: the timed flush sends every active user’s count in one store call, at most MAX_USERS_PER_FLUSH users per call, and the totals come back', async () => {
  const store = memoryStore();
  const { quotas } = setup('2026-03-01T12:00:00.000Z', { store, flushBatch: 1000 });
  const users = Array.from({ length: MAX_USERS_PER_FLUSH * 2 + 1 }, (_, i) => `u${i}`);
  for (const user of users) await quotas.countRequest(user, 'pro');
  await quotas.countRequest('u0', 'pro');
  assert.equal(store.writes, 0, 'counted in memory');
  await quotas.flushAll();
  assert.equal(store.writes, 3, 'three statements for 2,001 users');
  assert.equal(await store.get('u0', '2026-03-01'), 2);
  assert.equal(await store.get(`u${MAX_USERS_PER_FLUSH * 2}`, '2026-03-01'), 1);
  await quotas.flushAll();
  assert.equal(store.writes, 3, 'nothing unsent: no statement');
  assert.equal((await quotas.countRequest('u0', 'pro')).usage, 3);
});

test('FAIL-007: a failed flush keeps every user’s count, still counted here, and sends it with the next', async () => {
  const store = memoryStore();
  let fail = true;
  const flaky = { ...store, addMany: (counts: Parameters<typeof store.addMany>[0]) => (fail ? Promise.reject(new Error('database down')) : store.addMany(counts)) };
  const { quotas } = setup('2026-03-01T12:00:00.000Z', { store: flaky, flushBatch: 1000 });
  for (const user of ['a', 'b']) for (let i = 0; i < 3; i++) await quotas.countRequest(user, 'pro');
  await quotas.flushAll();
  assert.equal((await quotas.countRequest('a', 'pro')).usage, 4, 'the unsent count still counts');
  fail = false;
  await quotas.flushAll();
  assert.deepEqual([await store.get('a', '2026-03-01'), await store.get('b', '2026-03-01')], [4, 3]);
});
