// The real app with Finnhub for quotes and Yahoo for history, both local fake servers, on
// a test clock, with one user: what the provider tests (outage, hostile answers) start from.
import assert from 'node:assert/strict';
import { createUser, type CreatedUser } from './auth.ts';
import { buildTestApp, usingRedis, type TestApp } from './build-test-app.ts';
import { createTestClock, type TestClock } from './clock.ts';
import { startFakeFinnhub, startFakeYahoo, type FakeFinnhub, type FakeYahoo } from './fake-providers.ts';

export interface ProviderApp {
  t: TestApp;
  finnhub: FakeFinnhub;
  yahoo: FakeYahoo;
  clock: TestClock;
  user: CreatedUser;
  /** GET /v1/market/quotes as the user; asserts 200. */
  quotes: <T>(symbols: string) => Promise<T>;
  /** Lets the quote cache (QUOTE_CACHE_SECONDS=1) expire: the test clock, and real time for Redis TTLs. */
  expireCache: () => Promise<void>;
  close: () => Promise<void>;
}

/** `env` adds to (or overrides) the provider settings: timeouts, retries, breaker. */
export async function startProviderApp(options: { apiKey: string; env?: Record<string, string> }): Promise<ProviderApp> {
  const finnhub = await startFakeFinnhub();
  const yahoo = await startFakeYahoo();
  const clock = createTestClock(new Date());
  const t = await buildTestApp({
    clock,
    env: {
      MARKET_DATA_PROVIDER: 'finnhub',
      FINNHUB_API_KEY: options.apiKey,
      FINNHUB_BASE_URL: finnhub.url,
      MARKET_HISTORY_PROVIDER: 'yahoo',
      YAHOO_BASE_URL: yahoo.url,
      QUOTE_CACHE_SECONDS: '1',
      CANDLE_CACHE_SECONDS: '1',
      ...options.env,
    },
  });
  const user = await createUser(t);
  return {
    t,
    finnhub,
    yahoo,
    clock,
    user,
    quotes: async <T>(symbols: string) => {
      const res = await t.app.inject({ method: 'GET', url: `/v1/market/quotes?symbols=${symbols}`, headers: user.headers });
      assert.equal(res.statusCode, 200, res.body);
      return res.json<T>();
    },
    expireCache: async () => {
      clock.advance(2000);
      if (usingRedis) await new Promise((resolve) => setTimeout(resolve, 1100));
    },
    close: async () => {
      await t.close();
      await finnhub.close();
      await yahoo.close();
    },
  };
}
