import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { scanCacheKeys } from '../../test/helpers/cache-key-scan.ts';
import { cacheKey } from './cache-keys.ts';
import { createCache } from './cache.ts';
import { createLogger } from './logger.ts';
import { createRedis } from './redis.ts';

const SRC = fileURLToPath(new URL('../', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [full] : [];
  });
}

describe('cache', () => {
  it('in process: values expire after their TTL, on the injected clock', async () => {
    let now = 1_000_000;
    const cache = createCache({ logger: createLogger('silent'), now: () => now });
    const key = cacheKey('quote', 'AAPL');
    await cache.set(key, { price: '1.5' }, 10);
    assert.deepEqual(await cache.get(key), { price: '1.5' });
    now += 9_999;
    assert.deepEqual(await cache.get(key), { price: '1.5' });
    now += 1;
    assert.equal(await cache.get(key), undefined);
  });

  it('in process: bounded, oldest entries evicted first', async () => {
    const cache = createCache({ logger: createLogger('silent'), maxEntries: 2 });
    await cache.set(cacheKey('k', 1), 1, 60);
    await cache.set(cacheKey('k', 2), 2, 60);
    await cache.set(cacheKey('k', 3), 3, 60);
    assert.equal(await cache.get(cacheKey('k', 1)), undefined);
    assert.equal(await cache.get(cacheKey('k', 3)), 3);
  });

  it('FAIL-023: in process: bounded by size, oldest entries evicted until the rest fits; a value larger than the whole cache is not kept', async () => {
    const key = (i: number) => cacheKey('size', i);
    // Each entry: its key (9 characters) and a 1,000-character JSON string.
    const value = 'x'.repeat(998);
    const entrySize = key(1).length + JSON.stringify(value).length;
    const cache = createCache({ logger: createLogger('silent'), maxBytes: 3 * entrySize + 10 });
    for (const i of [1, 2, 3]) await cache.set(key(i), value, 60);
    assert.deepEqual(await cache.getMany([key(1), key(2), key(3)]), [value, value, value]);
    await cache.set(key(4), value, 60);
    assert.deepEqual(await cache.getMany([key(1), key(2), key(3), key(4)]), [undefined, value, value, value]);
    // Replacing an entry frees its old size first: one larger value evicts only the oldest.
    await cache.set(key(4), 'y'.repeat(1_500), 60);
    assert.deepEqual((await cache.getMany([key(2), key(3), key(4)])).map((v) => (v as string | undefined)?.length), [undefined, 998, 1_500]);
    // Too large for the cache at all: not kept, and nothing else is evicted for it.
    await cache.set(key(5), 'z'.repeat(4 * entrySize), 60);
    assert.equal(await cache.get(key(5)), undefined);
    assert.equal(((await cache.get(key(3))) as string).length, 998);
    // Deleted and expired entries give their size back.
    await cache.delete(key(4));
    for (const i of [6, 7]) await cache.set(key(i), value, 60);
    assert.deepEqual(await cache.getMany([key(3), key(6), key(7)]), [value, value, value]);
  });

  it('getMany answers several keys in their order, misses and expired entries as undefined (in process, and on Redis when configured)', async () => {
    const logger = createLogger('silent');
    let now = 1_000_000;
    const redisUrl = process.env.TEST_REDIS_URL;
    const redis = redisUrl === undefined || redisUrl === '' ? undefined : createRedis(redisUrl, logger);
    // Commands fail fast until the client is connected (no offline queue).
    if (redis !== undefined && redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
    try {
      const caches = [createCache({ logger, now: () => now }), ...(redis === undefined ? [] : [createCache({ logger, redis })])];
      for (const cache of caches) {
        const [a, b, c] = [cacheKey('test-many', randomUUID()), cacheKey('test-many', randomUUID()), cacheKey('test-many', randomUUID())];
        await cache.set(a, { price: '1.5' }, 10);
        await cache.set(c, 3, 1);
        assert.deepEqual(await cache.getMany([a, b, c]), [{ price: '1.5' }, undefined, 3], cache.backend);
        assert.deepEqual(await cache.getMany([]), []);
        if (cache.backend === 'memory') {
          now += 1_000;
          assert.deepEqual(await cache.getMany([c, a]), [undefined, { price: '1.5' }]);
        }
        await Promise.all([a, c].map((key) => cache.delete(key)));
      }
    } finally {
      redis?.disconnect();
    }
  });

  it('FAIL-023: an unreachable Redis is a cache miss, never an error', async () => {
    const logger = createLogger('silent');
    const redis = createRedis('redis://127.0.0.1:1', logger);
    try {
      const cache = createCache({ logger, redis });
      await cache.set(cacheKey('quote', 'AAPL'), { price: '1' }, 10);
      assert.equal(await cache.get(cacheKey('quote', 'AAPL')), undefined);
      assert.deepEqual(await cache.getMany([cacheKey('quote', 'AAPL'), cacheKey('quote', 'MSFT')]), [undefined, undefined]);
      await cache.delete(cacheKey('quote', 'AAPL'));
    } finally {
      redis.disconnect();
    }
  });

  it('FAIL-008: every Redis command and Cache call in src/ takes its key from cacheKey() (type-checked scan of the call sites)', () => {
    const { offenders, checked } = scanCacheKeys(SRC);
    assert.deepEqual(offenders, []);
    // The scan really saw the call sites (the realtime connection registry, cache, pub/sub,
    // market quotes and candles).
    assert.ok(checked.length >= 15, `only ${checked.length} keyed call sites found`);
    for (const file of ['modules/realtime/realtime.registry.ts', 'platform/cache.ts', 'platform/pubsub.ts', 'modules/market/market.service.ts']) {
      assert.ok(checked.some((c) => c.file === path.normalize(file)), `no call site seen in ${file}`);
    }
  });

  it('FAIL-008: the scan flags raw keys planted in a copy of the source (`quote:${symbol}`, a list of raw keys, a concatenated Redis key, a literal through a variable)', () => {
    const market = path.join(SRC, 'modules', 'market', 'market.service.ts');
    const registry = path.join(SRC, 'modules', 'realtime', 'realtime.registry.ts');
    const planted = new Map([
      [
        market,
        `${readFileSync(market, 'utf8')}\nexport const plantedQuote = (cache: Cache, symbol: string) => cache.get(\`quote:\${symbol}\`);\n` +
          `export const plantedMany = (cache: Cache, symbols: string[]) => cache.getMany(symbols.map((s) => 'quote:' + s));\n`,
      ],
      [
        registry,
        `${readFileSync(registry, 'utf8')}\nexport const plantedExists = (redis: Redis, id: string) => redis.exists('revoked-session:' + id);\n` +
          `const plantedKey = 'financehub:v1:revoked-session:x';\nexport const plantedDel = (redis: Redis) => redis.del(plantedKey);\n`,
      ],
    ]);
    const { offenders } = scanCacheKeys(SRC, { overrides: planted });
    assert.deepEqual(
      offenders.map((o) => o.call).sort(),
      ['cache.get(`quote:${symbol}`)', "cache.getMany(symbols.map((s) => 'quote:' + s))", 'redis.del(plantedKey)', "redis.exists('revoked-session:' + id)"],
    );
  });

  it('FAIL-008: no cache key or channel is written as a literal outside the key builder', () => {
    const offenders = sourceFiles(SRC)
      .filter((file) => !file.endsWith(`${path.sep}cache-keys.ts`))
      .filter((file) => {
        // Comments may mention the format; code may not spell a key out.
        const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
        return /financehub:v1/.test(code);
      });
    assert.deepEqual(offenders, []);
  });
});
