// Quotes an instance keeps in its own memory (NEAR_QUOTE_MS): warm reads cost no shared
// cache round trip (an MGET on Redis), and another instance's newer quote still reaches
// this one's readers within the bound. Two market instances share one cache, as two app
// instances share Redis (the real Redis in the PostgreSQL + Redis pass).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createMarket, NEAR_QUOTE_MS, type MarketService } from '../../../src/modules/market/index.ts';
import { createCache, type Cache } from '../../../src/platform/cache.ts';
import { cacheKey } from '../../../src/platform/cache-keys.ts';
import { createLogger } from '../../../src/platform/logger.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';
import { createTestClock } from '../../helpers/clock.ts';
import { waitFor } from '../../helpers/wait.ts';

describe('quotes kept in memory for NEAR_QUOTE_MS', () => {
  let t: TestApp;
  let a: MarketService;
  let b: MarketService;
  const closers: Array<() => Promise<void>> = [];
  // Half a second before a minute boundary: the simulated provider's price changes each minute.
  const clock = createTestClock(new Date('2024-03-06T15:42:59.500Z'));
  let sharedReads = 0;
  /** While set, shared-cache reads wait for it: a read in flight while something else happens. */
  let hold: Promise<void> | undefined;
  let cache: Cache;

  before(async () => {
    t = await buildTestApp();
    const logger = createLogger('silent');
    cache = createCache({ logger, redis: t.redis, now: () => clock.now().getTime() });
    const shared: Cache = {
      ...cache,
      getMany: async <T>(keys: readonly string[]) => {
        sharedReads++;
        const values = await cache.getMany<T>(keys);
        await hold;
        return values;
      },
    };
    const config = { ...t.config, marketDataProvider: 'simulated' as const, marketHistoryProvider: 'simulated' as const, quoteCacheSeconds: 600 };
    for (const assign of [(s: MarketService) => (a = s), (s: MarketService) => (b = s)]) {
      const market = await createMarket({ config, logger, db: t.db, redis: t.redis, clock, cache: shared });
      assign(market.service);
      closers.push(market.close);
    }
  });
  after(async () => {
    for (const close of closers) await close();
    await t.close();
  });

  it('reads within NEAR_QUOTE_MS of the last one ask the shared cache nothing; the next read after it asks once', async () => {
    const first = await a.latestQuotes(['AAPL', 'MSFT']);
    assert.equal(first.size, 2);
    const readsAfterFirst = sharedReads;
    for (let i = 0; i < 50; i++) {
      const again = await a.latestQuotes(['MSFT', 'AAPL']);
      assert.equal(again.get('AAPL')?.price, first.get('AAPL')?.price);
    }
    assert.equal(sharedReads, readsAfterFirst, 'warm reads went to the shared cache');
    clock.advance(NEAR_QUOTE_MS);
    await a.latestQuotes(['AAPL', 'MSFT']);
    assert.equal(sharedReads, readsAfterFirst + 1);
    clock.set(new Date('2024-03-06T15:42:59.500Z'));
  });

  it("another instance's newer quote reaches this instance's readers within NEAR_QUOTE_MS", async () => {
    const old = (await a.latestQuotes(['NVDA'])).get('NVDA');
    assert.deepEqual(old?.as_of, new Date('2024-03-06T15:42:00Z'));
    // The next minute: instance b records a streamed trade at its new price.
    clock.advance(600);
    const release = b.watchSymbol('NVDA');
    try {
      await waitFor('b to record a trade of the new minute', async () => {
        const seen = (await b.latestQuotes(['NVDA'])).get('NVDA');
        return seen !== undefined && seen.as_of.getTime() > old.as_of.getTime() ? true : undefined;
      });
    } finally {
      release();
    }
    const newer = (await b.latestQuotes(['NVDA'])).get('NVDA');
    assert.deepEqual(newer?.as_of, new Date('2024-03-06T15:43:00Z'));
    // Within the bound, a may still answer its own copy …
    assert.deepEqual((await a.latestQuotes(['NVDA'])).get('NVDA')?.as_of, old.as_of);
    // … and at the bound it reads the newer one.
    clock.advance(NEAR_QUOTE_MS - 600);
    const read = (await a.latestQuotes(['NVDA'])).get('NVDA');
    assert.deepEqual([read?.as_of, read?.price], [newer.as_of, newer.price]);
  });

  it('a read that began before this instance stored a newer quote does not put the older one back', async () => {
    const old = (await a.latestQuotes(['TSLA'])).get('TSLA');
    assert.ok(old !== undefined);
    // A minute on: the kept copy has lapsed (the shared one lives 10 minutes, refreshed after 9), and the simulated price has a new minute.
    clock.advance(60_000);
    let release = () => {};
    hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    const inFlight = a.latestQuotes(['TSLA']);
    const unwatch = a.watchSymbol('TSLA');
    try {
      // Meanwhile this instance records a streamed trade of the new minute.
      await waitFor('a trade of the new minute in the shared cache', async () => {
        const stored = await cache.get<{ as_of: string }>(cacheKey('quote', 'TSLA'));
        return stored !== undefined && Date.parse(stored.as_of) > old.as_of.getTime() ? true : undefined;
      });
    } finally {
      unwatch();
      hold = undefined;
      release();
    }
    // The read that began first answers what it read …
    assert.deepEqual((await inFlight).get('TSLA')?.as_of, old.as_of);
    // … and the next read has the newer quote, not the one that read brought back.
    assert.ok(((await a.latestQuotes(['TSLA'])).get('TSLA')?.as_of.getTime() ?? 0) > old.as_of.getTime());
  });

  it('a cached quote is served stale once its as_of is older than QUOTE_STALE_SECONDS, and no reader can change it for the others', async () => {
    const market = await createMarket({
      config: { ...t.config, marketDataProvider: 'simulated', marketHistoryProvider: 'simulated', quoteCacheSeconds: 600, quoteStaleSeconds: 120 },
      logger: createLogger('silent'),
      db: t.db,
      redis: t.redis,
      clock,
      cache,
    });
    closers.push(market.close);
    clock.set(new Date('2024-03-06T15:44:59.500Z'));
    const fresh = (await market.service.latestQuotes(['JPM'])).get('JPM');
    assert.deepEqual([fresh?.as_of, fresh?.stale], [new Date('2024-03-06T15:44:00Z'), false]);
    // Within the same read from memory, then from the shared cache (lives 10 minutes, refreshed after 9).
    for (const step of [500, NEAR_QUOTE_MS, 100_000]) {
      clock.advance(step);
      const read = (await market.service.latestQuotes(['JPM'])).get('JPM');
      const age = clock.now().getTime() - Date.parse('2024-03-06T15:44:00Z');
      assert.deepEqual([read?.as_of, read?.price, read?.stale], [fresh?.as_of, fresh?.price, age > 120_000], `${age} ms old`);
      // A quote read from the cache may be the object other readers get: it cannot be changed.
      assert.throws(() => {
        (read as { price: string }).price = '0.01';
      }, TypeError);
    }
  });
});
