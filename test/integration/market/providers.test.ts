// Provider code against local fake Finnhub and Yahoo servers (real HTTP, no internet):
// exact decimals from JSON text, unknown symbols, the key only in a header, and the
// outbound guards of FAIL-017 (timeout, bounded retries, no retry on 4xx, breaker, budget).
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createFinnhubProvider } from '../../../src/modules/market/providers/finnhub.ts';
import { createYahooProvider } from '../../../src/modules/market/providers/yahoo.ts';
import { runWithContext } from '../../../src/platform/context.ts';
import { createHttpClient, ProviderError, type HttpClientOptions } from '../../../src/platform/http-client.ts';
import { createLimiterFactory } from '../../../src/platform/limits/index.ts';
import { createLogger } from '../../../src/platform/logger.ts';
import { startFakeFinnhub, startFakeYahoo, type FakeFinnhub, type FakeYahoo } from '../../helpers/fake-providers.ts';
import { LogCapture } from '../../helpers/logs.ts';

const API_KEY = 'fh-test-key-0123456789';

function setup(fake: { url: string }, overrides: Partial<HttpClientOptions> = {}) {
  const logs = new LogCapture();
  const logger = createLogger('debug', logs);
  const client = createHttpClient({
    name: 'finnhub',
    baseUrl: fake.url,
    logger,
    timeoutMs: 2000,
    retries: 2,
    backoffMs: 5,
    breakerThreshold: 50,
    breakerHalfOpenMs: 60_000,
    headers: { 'x-finnhub-token': API_KEY },
    ...overrides,
  });
  const provider = createFinnhubProvider({ client, logger, apiKey: API_KEY, websocketUrl: 'ws://127.0.0.1:9' });
  return { provider, client, logs };
}

async function rejectsWith(promise: Promise<unknown>, kind: string): Promise<ProviderError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ProviderError, `expected a ProviderError, got ${String(err)}`);
    assert.equal(err.kind, kind, err.message);
    return err;
  }
  assert.fail(`expected a ${kind} ProviderError`);
}

describe('Finnhub provider', () => {
  let fake: FakeFinnhub;
  before(async () => {
    fake = await startFakeFinnhub();
  });
  after(() => fake.close());
  beforeEach(() => {
    fake.mode = 'ok';
    fake.retryAfter = '1';
    fake.hugeBytes = 50 * 1024 * 1024;
    fake.bytesSent = 0;
    fake.requests.length = 0;
    fake.quotes.clear();
    fake.premium = false;
  });

  it('FAIL-002: quote prices keep the exact decimal text of the JSON (no float rounding)', async () => {
    fake.quotes.set('AAPL', { c: '148.5600000000000023', pc: '1.475e2', t: '1700000000' });
    const { provider } = setup(fake);
    const quote = await provider.quote('AAPL');
    assert.deepEqual(quote, {
      symbol: 'AAPL',
      price: '148.5600000000000023',
      previous_close: '147.5',
      as_of: new Date(1_700_000_000_000),
      source: 'finnhub',
    });
  });

  it('an all-zero quote (unknown symbol) is "not found", not a price of 0', async () => {
    const { provider } = setup(fake);
    assert.equal(await provider.quote('NOPE'), null);
  });

  it('FAIL-017: the API key travels only in X-Finnhub-Token, and the request id in X-Request-ID', async () => {
    fake.quotes.set('MSFT', { c: '410.1', pc: '400', t: '1700000000' });
    const { provider, logs } = setup(fake);
    await runWithContext({ requestId: 'req-abc-123' }, () => provider.quote('MSFT'));
    const request = fake.requests[0];
    assert.ok(request !== undefined);
    assert.equal(request.headers['x-finnhub-token'], API_KEY);
    assert.equal(request.headers['x-request-id'], 'req-abc-123');
    assert.equal(request.query.get('symbol'), 'MSFT');
    assert.equal([...request.query.values()].includes(API_KEY), false);
    assert.equal(request.query.has('token'), false);
    // Logs name the path, never the query string or the key.
    assert.ok(logs.events('provider_call').length > 0);
    assert.equal(logs.text().includes(API_KEY), false);
    assert.equal(logs.text().includes('symbol=MSFT'), false);
  });

  it('FAIL-017: a 403 on /stock/candle is reported as premium-only and not retried', async () => {
    const { provider } = setup(fake);
    const err = await rejectsWith(provider.history('AAPL', '1d', new Date('2019-09-01'), new Date('2019-10-01')), 'premium_only');
    assert.match(err.message, /premium-only/);
    assert.equal(fake.requests.length, 1);
  });

  it('candles with a premium key arrive as exact decimal bars on their UTC dates', async () => {
    fake.premium = true;
    const { provider } = setup(fake);
    const bars = await provider.history('AAPL', '1d', new Date('2019-09-01'), new Date('2019-10-01'));
    assert.equal(bars.length, 2);
    assert.deepEqual(bars[1], {
      ts: new Date('2019-09-25T00:00:00Z'),
      open: '218.55',
      high: '221.5',
      low: '217.1402',
      close: '221.03',
      volume: '24018876',
    });
  });

  it('FAIL-017: a 429 without Retry-After is retried a bounded number of times, then reported as rate limited', async () => {
    fake.mode = '429';
    fake.retryAfter = null;
    const { provider } = setup(fake, { retries: 2 });
    await rejectsWith(provider.quote('AAPL'), 'rate_limited');
    assert.equal(fake.requests.length, 3);
  });

  it('FAIL-017: 5xx is retried with backoff, a 404 is not', async () => {
    fake.mode = '500';
    const { provider } = setup(fake, { retries: 1 });
    await rejectsWith(provider.quote('AAPL'), 'http');
    assert.equal(fake.requests.length, 2);
    fake.mode = 'ok';
    fake.requests.length = 0;
    const { client } = setup(fake, { retries: 3 });
    const err = await rejectsWith(client.get('/no-such-endpoint'), 'http');
    assert.equal(err.status, 404);
    assert.equal(fake.requests.length, 1);
  });

  it('FAIL-017: malformed JSON is a bad response, not a crash and not a retry loop', async () => {
    fake.mode = 'malformed';
    const { provider } = setup(fake);
    await rejectsWith(provider.quote('AAPL'), 'bad_response');
    assert.equal(fake.requests.length, 1);
  });

  it('FAIL-017: a provider that never answers times out within its bound (elapsed measured against timeout × attempts + backoff), and the breaker opens', async () => {
    fake.mode = 'hang';
    const timeoutMs = 300;
    const backoffMs = 5;
    const { provider, client, logs } = setup(fake, { timeoutMs, retries: 1, backoffMs, breakerThreshold: 2 });
    const started = performance.now();
    await rejectsWith(provider.quote('AAPL'), 'timeout');
    const elapsed = performance.now() - started;
    assert.equal(fake.requests.length, 2, 'one attempt and one bounded retry');
    // The bound: two attempts of timeoutMs and one backoff (at most 20 × backoffMs), plus
    // 1 s for a noisy machine. Each attempt really waited for its timeout, not less.
    const bound = 2 * timeoutMs + 20 * backoffMs + 1000;
    assert.ok(elapsed >= 2 * timeoutMs - 20, `gave up after ${elapsed.toFixed(0)} ms, before two timeouts of ${timeoutMs} ms`);
    assert.ok(elapsed <= bound, `timed out after ${elapsed.toFixed(0)} ms, over the bound of ${bound} ms`);
    assert.equal(client.breakerState(), 'open');
    assert.equal(logs.events('provider_circuit_open').length, 1);
    // While open, calls fail at once without reaching the provider.
    await rejectsWith(provider.quote('AAPL'), 'circuit_open');
    await rejectsWith(provider.search('apple'), 'circuit_open');
    assert.equal(fake.requests.length, 2);
  });

  it('FAIL-017: the breaker lets one trial call through after its pause and closes on success', async () => {
    fake.mode = 'hang';
    const { provider, client } = setup(fake, { timeoutMs: 1000, retries: 0, breakerThreshold: 1, breakerHalfOpenMs: 100 });
    await rejectsWith(provider.quote('AAPL'), 'timeout');
    assert.equal(client.breakerState(), 'open');
    fake.mode = 'ok';
    fake.quotes.set('AAPL', { c: '1', pc: '1', t: '1700000000' });
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal((await provider.quote('AAPL'))?.price, '1');
    assert.equal(client.breakerState(), 'closed');
  });

  it('FAIL-017: the per-provider call budget refuses calls beyond it without calling out', async () => {
    fake.quotes.set('AAPL', { c: '1', pc: '1', t: '1700000000' });
    const limits = createLimiterFactory({ logger: createLogger('silent') });
    const { provider } = setup(fake, { rateLimit: limits.createLimiter({ name: 'provider-finnhub', points: 2, durationSeconds: 60 }) });
    await provider.quote('AAPL');
    await provider.quote('AAPL');
    await rejectsWith(provider.quote('AAPL'), 'rate_limited');
    assert.equal(fake.requests.length, 2);
  });

  describe('a hostile provider (FAIL-017)', () => {
    const now = () => String(Math.floor(Date.now() / 1000));

    it('FAIL-017: a quote of 1e999999999 is a bad response, refused by the number grammar in bounded time', async () => {
      fake.quotes.set('AAPL', { c: '1e999999999', pc: '1', t: now() });
      const started = performance.now();
      const { provider } = setup(fake);
      await rejectsWith(provider.quote('AAPL'), 'bad_response');
      assert.ok(performance.now() - started < 2000, `took ${Math.round(performance.now() - started)} ms`);
      assert.equal(fake.requests.length, 1, 'a bad response is not retried');
    });

    it('FAIL-017: negative, over-long and over-precise prices and unbounded exponents are bad responses; exponents within bounds are read exactly', async () => {
      const { provider } = setup(fake);
      for (const c of ['-5', '4'.repeat(401), `1.${'1'.repeat(31)}`, '1e31', '1e-31', '123456789012345678901']) {
        fake.quotes.set('AAPL', { c, pc: '1', t: now() });
        await rejectsWith(provider.quote('AAPL'), 'bad_response');
      }
      fake.quotes.set('AAPL', { c: '1.5e1', pc: '-1', t: now() });
      await rejectsWith(provider.quote('AAPL'), 'bad_response');
      fake.quotes.set('AAPL', { c: '1.5e1', pc: '1234567890.12345678901234567890e-10', t: now() });
      const quote = await provider.quote('AAPL');
      assert.equal(quote?.price, '15');
      assert.equal(quote?.previous_close, '0.12345678901234567890123456789');
    });

    it('FAIL-017: a response body over maxResponseBytes is abandoned mid-stream and is a bad response', async () => {
      fake.mode = 'huge';
      const { provider, logs } = setup(fake, { maxResponseBytes: 64 * 1024 });
      const started = performance.now();
      await rejectsWith(provider.quote('AAPL'), 'bad_response');
      const elapsed = performance.now() - started;
      assert.ok(elapsed < 3000, `took ${Math.round(elapsed)} ms`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      // Socket buffers take a few MiB at most; the 50 MiB body was never read.
      assert.ok(fake.bytesSent < 16 * 1024 * 1024, `${fake.bytesSent} bytes were sent`);
      assert.ok(logs.text().includes('response larger than 65536 bytes'));
    });

    it('FAIL-017: malformed and invalid answers count as breaker faults: the breaker opens and later calls do not reach the provider', async () => {
      fake.mode = 'malformed';
      const { provider, client } = setup(fake, { breakerThreshold: 3 });
      for (let i = 0; i < 5; i++) await provider.quote('AAPL').catch(() => undefined);
      fake.mode = 'ok';
      fake.quotes.set('AAPL', { c: '-1', pc: '1', t: now() });
      for (let i = 0; i < 6; i++) await provider.quote('AAPL').catch(() => undefined);
      assert.equal(fake.requests.length, 3, 'only the calls before the breaker opened reached the provider');
      assert.equal(client.breakerState(), 'open');
      await rejectsWith(provider.quote('AAPL'), 'circuit_open');
      const { provider: second, client: secondClient } = setup(fake, { breakerThreshold: 2 });
      fake.requests.length = 0;
      for (let i = 0; i < 4; i++) await second.quote('AAPL').catch(() => undefined);
      assert.equal(fake.requests.length, 2, 'invalid values open it too');
      assert.equal(secondClient.breakerState(), 'open');
    });

    it('FAIL-017: a 429 Retry-After pauses every instance sharing the pause limiter, bounded by maxRetryAfterSeconds, without retries', async () => {
      const shared = createLimiterFactory({ logger: createLogger('silent') }).createLimiter({ name: 'provider-finnhub-pause', points: 1, durationSeconds: 1 });
      fake.mode = '429';
      fake.retryAfter = '86400';
      const one = setup(fake, { pauses: shared, maxRetryAfterSeconds: 1, retries: 3 });
      const two = setup(fake, { pauses: shared, maxRetryAfterSeconds: 1, retries: 3 });
      await rejectsWith(one.provider.quote('AAPL'), 'rate_limited');
      assert.equal(fake.requests.length, 1, 'not retried while paused');
      assert.equal(one.logs.events('provider_paused')[0]?.seconds, 1, 'a day of Retry-After is bounded to the maximum');
      const refused = await rejectsWith(two.provider.quote('AAPL'), 'rate_limited');
      assert.match(refused.message, /Retry-After/);
      assert.equal(fake.requests.length, 1, 'the other instance did not call the provider during the pause');
      fake.mode = 'ok';
      fake.quotes.set('AAPL', { c: '2', pc: '1', t: now() });
      await new Promise((resolve) => setTimeout(resolve, 1100));
      assert.equal((await two.provider.quote('AAPL'))?.price, '2', 'calls resume once the pause is over');
    });
  });

  it('search, company profile and company news follow Finnhub\'s shapes', async () => {
    fake.quotes.set('AAPL', { c: '1', pc: '1', t: '1700000000' });
    const { provider } = setup(fake);
    const results = await provider.search('apple');
    assert.deepEqual(results[0], { symbol: 'AAPL', name: 'APPLE INC', type: 'Common Stock', exchange: null, source: 'finnhub' });
    const profile = await provider.profile('AAPL');
    assert.equal(profile?.name, 'Apple Inc');
    assert.equal(profile?.market_cap, '1415993.2000000000000001');
    assert.equal(await provider.profile('NOPE'), null);
    const news = await provider.news('AAPL', new Date('2023-11-01'), new Date('2023-11-30'));
    assert.equal(news[0]?.id, '25286');
    assert.equal(news[0]?.publisher, 'Example Wire');
    assert.deepEqual(news[0]?.published_at, new Date(1_700_000_000_000));
    const newsRequest = fake.requests.find((r) => r.path === '/company-news');
    assert.equal(newsRequest?.query.get('from'), '2023-11-01');
  });
});

describe('Yahoo provider', () => {
  let fake: FakeYahoo;
  before(async () => {
    fake = await startFakeYahoo();
    fake.charts.set('AAPL', {
      gmtoffset: -18000,
      price: '189.9500000000000001',
      previousClose: '188.01',
      time: 1_700_000_000,
      days: [
        // 2023-11-13 and 2023-11-15 at 14:30 UTC (09:30 New York); the 14th is a null (halted) day.
        { t: 1_699_885_800, o: '185.82000000000001', h: '186.03', l: '184.21', c: '184.8', v: '43627500' },
        { t: 1_699_972_200, o: null, h: null, l: null, c: null, v: null },
        { t: 1_700_058_600, o: '187.85', h: '189.5', l: '187.78', c: '188.01', v: '5.3790500e7' },
      ],
    });
  });
  after(() => fake.close());

  const provider = () =>
    createYahooProvider({
      client: createHttpClient({ name: 'yahoo', baseUrl: fake.url, logger: createLogger('silent'), timeoutMs: 2000, retries: 0, breakerThreshold: 5, breakerHalfOpenMs: 1000 }),
    });

  it('daily history from the chart API: exact decimals, trading dates in exchange time, null days skipped', async () => {
    const bars = await provider().history('AAPL', '1d', new Date('2023-11-01'), new Date('2023-12-01'));
    assert.deepEqual(
      bars.map((b) => [b.ts.toISOString().slice(0, 10), b.open, b.close, b.volume]),
      [
        ['2023-11-13', '185.82000000000001', '184.8', '43627500'],
        ['2023-11-15', '187.85', '188.01', '53790500'],
      ],
    );
  });

  it('a quote from the chart meta; an unknown symbol is not found', async () => {
    const quote = await provider().quote('AAPL');
    assert.equal(quote?.price, '189.9500000000000001');
    assert.equal(quote?.previous_close, '188.01');
    assert.equal(await provider().quote('NOPE'), null);
    assert.deepEqual(await provider().history('NOPE', '1d', new Date('2023-11-01'), new Date('2023-12-01')), []);
  });

  it('search is not offered (the service falls back to stored instruments)', async () => {
    await rejectsWith(provider().search('apple'), 'not_supported');
  });

  it('FAIL-017: a bar with a negative low, a high below its close or an unbounded number is a bad response', async () => {
    const day = { t: 1_699_885_800, o: '185', h: '186', l: '184', c: '185', v: '100' };
    for (const bad of [{ l: '-1' }, { h: '184.5' }, { v: '-3' }, { c: '1e999999999' }, { o: '9'.repeat(401) }]) {
      fake.charts.set('EVIL', { gmtoffset: -18000, price: '1', previousClose: '1', time: 1_700_000_000, days: [{ ...day, ...bad }] });
      await rejectsWith(provider().history('EVIL', '1d', new Date('2023-11-01'), new Date('2023-12-01')), 'bad_response');
    }
    fake.charts.set('EVIL', { gmtoffset: -18000, price: '-189', previousClose: '1', time: 1_700_000_000, days: [day] });
    await rejectsWith(provider().quote('EVIL'), 'bad_response');
  });
});
