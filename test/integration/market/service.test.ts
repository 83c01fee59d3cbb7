// The market service as other modules use it (latestQuotes, dailyCloses),
// the events it publishes, the event bus across instances (Redis), and Finnhub's trade
// WebSocket against a local server.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocketServer } from 'ws';
import { BARS_EVENT, createMarket, QUOTE_EVENT, type MarketService } from '../../../src/modules/market/index.ts';
import { createFinnhubProvider } from '../../../src/modules/market/providers/finnhub.ts';
import type { Trade } from '../../../src/modules/market/providers/provider.ts';
import { createHttpClient } from '../../../src/platform/http-client.ts';
import { createLogger } from '../../../src/platform/logger.ts';
import { createPubSub, type PubSub } from '../../../src/platform/pubsub.ts';
import { createRedis } from '../../../src/platform/redis.ts';
import { buildTestApp, usingRedis, type TestApp } from '../../helpers/build-test-app.ts';

const waitFor = async (check: () => boolean, what: string) => {
  for (let i = 0; i < 1000 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(check(), `timed out waiting for ${what}`);
};

describe('market service (contract for portfolios) and its events', () => {
  let t: TestApp;
  let service: MarketService;
  let pubsub: PubSub;
  let close: () => Promise<void>;
  const events: Array<{ channel: string; message: Record<string, unknown> }> = [];
  const clock = { now: () => new Date('2024-03-06T15:42:30Z') };

  before(async () => {
    t = await buildTestApp();
    const market = await createMarket({ config: { ...t.config, marketDataProvider: 'simulated', marketHistoryProvider: 'simulated' }, logger: createLogger('silent'), db: t.db, redis: t.redis, clock });
    ({ service, pubsub, close } = market);
    for (const channel of [QUOTE_EVENT, BARS_EVENT]) {
      await pubsub.subscribe(channel, (message) => events.push({ channel, message: message as Record<string, unknown> }));
    }
  });
  after(async () => {
    await close();
    await t.close();
  });

  it('latestQuotes: a Map of decimal-string quotes with as_of, stale and source; each new quote is published', async () => {
    const quotes = await service.latestQuotes(['AAPL', 'MSFT', 'AAPL']);
    assert.deepEqual([...quotes.keys()].sort(), ['AAPL', 'MSFT']);
    const aapl = quotes.get('AAPL');
    assert.ok(aapl !== undefined);
    assert.match(aapl.price, /^\d+\.\d{2}$/);
    assert.equal(aapl.source, 'simulated');
    assert.equal(aapl.stale, false);
    assert.deepEqual(aapl.as_of, new Date('2024-03-06T15:42:00Z'));
    await waitFor(() => events.filter((e) => e.channel === QUOTE_EVENT).length >= 2, 'quote events');
    const event = events.find((e) => e.channel === QUOTE_EVENT && e.message.symbol === 'AAPL');
    assert.deepEqual(event?.message, { symbol: 'AAPL', price: aapl.price, previous_close: aapl.previous_close, as_of: '2024-03-06T15:42:00.000Z', source: 'simulated' });
    // Stored as the last known value.
    const row = await t.db.query<{ price: string }>(`SELECT price FROM quotes WHERE symbol = 'AAPL'`);
    assert.equal(row.rows[0]?.price, aapl.price);
  });

  it('a streamed trade keeps the previous close of the stored quote when none is cached, so the day change stays known', async () => {
    await t.db.query(
      `INSERT INTO quotes (symbol, price, previous_close, as_of, source, updated_at) VALUES ('VTI', '250.00', '248.75', $1, 'simulated', $1)`,
      [new Date('2024-03-06T14:00:00Z')],
    );
    const release = service.watchSymbol('VTI');
    try {
      await waitFor(() => events.some((e) => e.channel === QUOTE_EVENT && e.message.symbol === 'VTI' && 'volume' in e.message), 'a streamed VTI trade');
      const trade = events.find((e) => e.channel === QUOTE_EVENT && e.message.symbol === 'VTI' && 'volume' in e.message);
      assert.equal(trade?.message.previous_close, '248.75');
      assert.equal((await service.latestQuotes(['VTI'])).get('VTI')?.previous_close, '248.75');
    } finally {
      release();
    }
  });

  it('dailyCloses: stored daily bars per symbol, oldest first, YYYY-MM-DD dates; imports publish a bars event', async () => {
    const csv = 'Date,Open,High,Low,Close,Volume\n2024-01-03,10,11,9,10.5,100\n2024-01-02,10,11,9,10.25,100\n2024-01-04,10,11,9,10.75,100\n';
    const result = await service.importCsv('XYZ', csv);
    assert.equal(result.inserted, 3);
    const closes = await service.dailyCloses(['XYZ', 'NONE'], new Date('2024-01-03T00:00:00Z'), new Date('2024-01-31T00:00:00Z'));
    assert.deepEqual([...closes.entries()], [
      ['XYZ', [{ date: '2024-01-03', close: '10.5' }, { date: '2024-01-04', close: '10.75' }]],
    ]);
    await waitFor(() => events.some((e) => e.channel === BARS_EVENT), 'bars event');
    assert.deepEqual(events.find((e) => e.channel === BARS_EVENT)?.message, {
      symbol: 'XYZ',
      interval: '1d',
      count: 3,
      from: '2024-01-02T00:00:00.000Z',
      to: '2024-01-04T00:00:00.000Z',
      source: 'csv',
    });
  });

  it('an unchanged re-import publishes nothing new', async () => {
    const before = events.filter((e) => e.channel === BARS_EVENT).length;
    await service.importCsv('XYZ', 'Date,Open,High,Low,Close,Volume\n2024-01-02,10,11,9,10.25,100\n');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(events.filter((e) => e.channel === BARS_EVENT).length, before);
  });
});

describe('event bus', () => {
  it('in process: subscribers get copies; a throwing subscriber does not stop the others; unsubscribe works', async () => {
    const bus = createPubSub({ logger: createLogger('silent') });
    const got: unknown[] = [];
    await bus.subscribe('market.quote', () => {
      throw new Error('subscriber bug');
    });
    const off = await bus.subscribe('market.quote', (m) => got.push(m));
    const message = { symbol: 'AAPL', price: '1.5' };
    await bus.publish('market.quote', message);
    await waitFor(() => got.length === 1, 'delivery');
    assert.deepEqual(got[0], message);
    assert.notEqual(got[0], message);
    await off();
    await bus.publish('market.quote', message);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(got.length, 1);
    await assert.rejects(bus.publish('Bad Channel', {}), TypeError);
    await bus.close();
  });

  it('with Redis: an event published by one instance reaches subscribers of another', { skip: !usingRedis && 'TEST_REDIS_URL not set' }, async () => {
    const logger = createLogger('silent');
    const prefix = `t_bus_${Date.now()}:`;
    const redisA = createRedis(process.env.TEST_REDIS_URL ?? '', logger, prefix);
    const redisB = createRedis(process.env.TEST_REDIS_URL ?? '', logger, prefix);
    const a = createPubSub({ logger, redis: redisA });
    const b = createPubSub({ logger, redis: redisB });
    try {
      assert.equal(a.backend, 'redis');
      const got: unknown[] = [];
      await b.subscribe('market.bars', (m) => got.push(m));
      await a.publish('market.bars', { symbol: 'AAPL', count: 3 });
      await waitFor(() => got.length === 1, 'cross-instance delivery');
      assert.deepEqual(got[0], { symbol: 'AAPL', count: 3 });
    } finally {
      await a.close();
      await b.close();
      redisA.disconnect();
      redisB.disconnect();
    }
  });
});

describe('Finnhub trade WebSocket', () => {
  it('subscribes with the key in a header, reads trade prices exactly, and re-subscribes after a reconnect', async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(server, 'listening');
    const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const received: Array<{ token: string | undefined; message: string }> = [];
    let connections = 0;
    server.on('connection', (socket, request) => {
      connections++;
      const token = request.headers['x-finnhub-token'] as string | undefined;
      socket.on('message', (data: Buffer) => {
        received.push({ token, message: data.toString('utf8') });
        if (connections === 1) {
          socket.send('{"type":"ping"}');
          socket.send('{"data":[{"c":null,"p":189.950000000000001,"s":"AAPL","t":1700000000123,"v":0.011467}],"type":"trade"}');
          setTimeout(() => socket.terminate(), 50); // then drop it: the client must reconnect
        }
      });
    });
    const client = createHttpClient({ name: 'finnhub', baseUrl: 'http://127.0.0.1:9', logger: createLogger('silent'), timeoutMs: 100, retries: 0, breakerThreshold: 5, breakerHalfOpenMs: 1000 });
    const provider = createFinnhubProvider({ client, logger: createLogger('silent'), apiKey: 'ws-key-123', websocketUrl: url });
    const trades: Trade[] = [];
    assert.ok(provider.streamTrades !== undefined);
    const stream = provider.streamTrades((trade) => trades.push(trade));
    try {
      stream.subscribe('AAPL');
      await waitFor(() => trades.length === 1, 'a trade');
      assert.deepEqual(trades[0], { symbol: 'AAPL', price: '189.950000000000001', volume: '0.011467', at: new Date(1_700_000_000_123), source: 'finnhub' });
      assert.deepEqual(received[0], { token: 'ws-key-123', message: '{"type":"subscribe","symbol":"AAPL"}' });
      await waitFor(() => connections === 2 && received.length === 2, 'reconnect and re-subscribe');
      assert.equal(received[1]?.message, '{"type":"subscribe","symbol":"AAPL"}');
    } finally {
      stream.close();
      for (const socket of server.clients) socket.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
