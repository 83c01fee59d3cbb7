import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
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

  it('FAIL-023: an unreachable Redis is a cache miss, never an error', async () => {
    const logger = createLogger('silent');
    const redis = createRedis('redis://127.0.0.1:1', logger);
    try {
      const cache = createCache({ logger, redis });
      await cache.set(cacheKey('quote', 'AAPL'), { price: '1' }, 10);
      assert.equal(await cache.get(cacheKey('quote', 'AAPL')), undefined);
      await cache.delete(cacheKey('quote', 'AAPL'));
    } finally {
      redis.disconnect();
    }
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
