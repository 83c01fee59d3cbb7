import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { createRedis } from '../redis.ts';
import { createLimiterFactory } from './limiter.ts';

const logger = pino({ level: 'silent' });

test('FAIL-014: a memory limiter allows `points` per window, then refuses with a reset time', async () => {
  const { createLimiter, backend } = createLimiterFactory({ logger });
  assert.equal(backend, 'memory');
  const limiter = createLimiter({ name: 'unit-a', points: 3, durationSeconds: 60 });
  const results = [];
  for (let i = 0; i < 4; i++) results.push(await limiter.consume('k'));
  assert.deepEqual(results.map((r) => [r.allowed, r.remaining]), [[true, 2], [true, 1], [true, 0], [false, 0]]);
  const refused = results[3];
  assert.ok(refused !== undefined && refused.resetSeconds >= 1 && refused.resetSeconds <= 60);
  // Keys are independent; peek does not consume.
  assert.equal((await limiter.consume('other')).remaining, 2);
  assert.equal((await limiter.peek('other')).remaining, 2);
  assert.equal((await limiter.peek('never')).consumed, 0);
  await limiter.delete('k');
  assert.equal((await limiter.consume('k')).allowed, true);
});

test('FAIL-014: blockSeconds keeps a key refused past its window; block() and reward() work', async () => {
  const { createLimiter } = createLimiterFactory({ logger });
  const limiter = createLimiter({ name: 'unit-b', points: 1, durationSeconds: 1, blockSeconds: 120 });
  await limiter.consume('k');
  const refused = await limiter.consume('k');
  assert.equal(refused.allowed, false);
  assert.ok(refused.resetSeconds > 60, `blocked for the block duration, got ${refused.resetSeconds}`);
  await limiter.block('j', 300);
  assert.equal((await limiter.consume('j')).allowed, false);
  await limiter.consume('r');
  await limiter.reward('r');
  assert.equal((await limiter.consume('r')).allowed, true);
});

test('FAIL-008: limiter keys go through the key builder, so a ":" in a key cannot alias another', async () => {
  const { createLimiter } = createLimiterFactory({ logger });
  const limiter = createLimiter({ name: 'unit-c', points: 1, durationSeconds: 60 });
  await limiter.consume('a:b');
  assert.equal((await limiter.consume('a%3Ab')).allowed, true);
  assert.throws(() => createLimiter({ name: 'unit-c', points: 1, durationSeconds: 60 }), /already exists/);
  assert.throws(() => createLimiter({ name: 'Bad Name', points: 1, durationSeconds: 60 }), TypeError);
  assert.throws(() => createLimiter({ name: 'zero', points: 0, durationSeconds: 60 }), TypeError);
});

test('FAIL-023: with Redis down, limits are still enforced by the in-memory insurance limiter', async () => {
  // A port nothing listens on: every Redis command fails at once (no offline queue).
  const redis = createRedis('redis://127.0.0.1:1', logger, 'unit:');
  try {
    const { createLimiter, backend } = createLimiterFactory({ redis, logger });
    assert.equal(backend, 'redis');
    const limiter = createLimiter({ name: 'unit-d', points: 2, durationSeconds: 60 });
    const allowed = [];
    for (let i = 0; i < 3; i++) allowed.push((await limiter.consume('k')).allowed);
    assert.deepEqual(allowed, [true, true, false]);
  } finally {
    redis.disconnect();
  }
});

const redisUrl = process.env.TEST_REDIS_URL;
test(
  'FAIL-014: two factories on one Redis share counts (two instances)',
  { skip: redisUrl === undefined || redisUrl === '' ? 'TEST_REDIS_URL is not set' : false },
  async () => {
    const prefix = `unit-${process.pid}-${Date.now()}:`;
    const a = createRedis(redisUrl ?? '', logger, prefix);
    const b = createRedis(redisUrl ?? '', logger, prefix);
    try {
      await Promise.all([a.ping(), b.ping()].map((p) => p.catch(() => undefined)));
      for (const client of [a, b]) while (client.status !== 'ready') await new Promise((resolve) => setTimeout(resolve, 20));
      const spec = { name: 'unit-shared', points: 3, durationSeconds: 60 };
      const one = createLimiterFactory({ redis: a, logger }).createLimiter(spec);
      const two = createLimiterFactory({ redis: b, logger }).createLimiter(spec);
      assert.equal((await one.consume('ip')).remaining, 2);
      assert.equal((await two.consume('ip')).remaining, 1);
      assert.equal((await one.consume('ip')).remaining, 0);
      assert.equal((await two.consume('ip')).allowed, false);
      assert.equal(await a.exists('financehub:v1:ratelimit:unit-shared:ip'), 1);
    } finally {
      a.disconnect();
      b.disconnect();
    }
  },
);
