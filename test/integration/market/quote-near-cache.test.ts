// Quotes an instance keeps in its own memory (NEAR_QUOTE_MS): warm reads cost no shared
// cache round trip (an MGET on Redis), and another instance's newer quote still reaches
// this one's readers within the bound. Two market instances share one cache, as two app
// instances share Redis (the real Redis in the PostgreSQL + Redis pass).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createMarket, NEAR_QUOTE_MS, type MarketService } from '../../../src/modules/market/index.ts';
import { createCache, type Cache } from '../../../src/platform/cache.ts';
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

  before(async () => {
    t = await buildTestApp();
    const logger = createLogger('silent');
    const cache = createCache({ logger, redis: t.redis, now: () => clock.now().getTime() });
    const shared: Cache = {
      ...cache,
      getMany: (keys) => {
        sharedReads++;
        return cache.getMany(keys);
      },
    };
    const config = { ...t.config, marketDataProvider: 'simulated' as const, marketHistoryProvider: 'simulated' as const, quoteCacheSeconds: 60 };
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
});
