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

  it('FAIL-017: 429 is retried a bounded number of times, then reported as rate limited', async () => {
    fake.mode = '429';
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

  it('FAIL-017: a provider that never answers times out within its bound, and the breaker opens', async () => {
    fake.mode = 'hang';
    const { provider, client, logs } = setup(fake, { timeoutMs: 300, retries: 1, breakerThreshold: 2 });
    await rejectsWith(provider.quote('AAPL'), 'timeout');
    assert.equal(fake.requests.length, 2, 'one attempt and one bounded retry');
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
});
