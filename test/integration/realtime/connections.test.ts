// FAIL-013 for the real-time gateway: users list and close only their own sockets, and
// subscribe only to their own portfolios; `portfolio:<id>` pushes the holdings revalued
// on quotes, equal to what GET /holdings answers at that moment. The simulated provider
// ticks on a test clock, so a price changes only when the test moves the clock.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createUser, type CreatedUser } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';
import { createTestClock, type TestClock } from '../../helpers/clock.ts';
import { addTransaction, createPortfolio } from '../../helpers/portfolios.ts';
import { connectReady, listenForWs } from '../../helpers/ws.ts';

interface Connections {
  items: Array<{ id: string; opened_at: string; ip: string; user_agent: string | null; subscriptions: string[]; instance: string; current_session: boolean }>;
}

describe('realtime connections and portfolios (FAIL-013)', () => {
  let t: TestApp;
  let url: string;
  let clock: TestClock;
  let alice: CreatedUser;
  let bob: CreatedUser;
  let portfolioId: string;

  before(async () => {
    // A Wednesday afternoon: the simulated market is open.
    clock = createTestClock(new Date('2026-11-25T15:00:00.000Z'));
    t = await buildTestApp({ clock, env: { FREE_WS_CONNECTIONS: '10' } });
    url = await listenForWs(t);
    alice = await createUser(t);
    bob = await createUser(t);
    portfolioId = await createPortfolio(t, alice);
    await addTransaction(t, alice, portfolioId, { type: 'buy', symbol: 'MSFT', quantity: '3', price: '100', currency: 'USD', executed_at: '2026-11-20T15:00:00Z' });
  });
  after(async () => {
    await t.close();
  });

  it('GET /v1/me/connections lists the caller\'s sockets with opened_at, ip, user agent, subscriptions and instance', async () => {
    const client = await connectReady(url, alice.accessToken, { headers: { 'user-agent': 'fh-test/1' } });
    client.send({ type: 'subscribe', channels: ['news:AAPL'] });
    await client.sync();
    const res = await t.app.inject({ method: 'GET', url: '/v1/me/connections', headers: alice.headers });
    assert.equal(res.statusCode, 200, res.body);
    const mine = res.json<Connections>().items.find((c) => c.id === client.connectionId);
    assert.ok(mine !== undefined);
    assert.equal(mine.user_agent, 'fh-test/1');
    assert.equal(mine.ip, '127.0.0.1');
    assert.deepEqual(mine.subscriptions, ['news:AAPL']);
    assert.equal(mine.current_session, true);
    assert.ok(mine.instance.length > 0);
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/me/connections' })).statusCode, 401);
    client.close();
  });

  it('FAIL-013: user B cannot list or close A\'s connection (404, as for an unknown id); a malformed id is 400; A closes it with 4000', async () => {
    const client = await connectReady(url, alice.accessToken);
    const listB = await t.app.inject({ method: 'GET', url: '/v1/me/connections', headers: bob.headers });
    assert.equal(listB.json<Connections>().items.some((c) => c.id === client.connectionId), false);
    const closeB = await t.app.inject({ method: 'DELETE', url: `/v1/me/connections/${client.connectionId}`, headers: bob.headers });
    assert.equal(closeB.statusCode, 404);
    const unknown = await t.app.inject({ method: 'DELETE', url: `/v1/me/connections/${randomUUID()}`, headers: bob.headers });
    assert.equal(unknown.statusCode, 404);
    assert.deepEqual(
      { ...closeB.json<Record<string, unknown>>(), requestId: null },
      { ...unknown.json<Record<string, unknown>>(), requestId: null },
      'a foreign id answers exactly as an unknown one',
    );
    const malformed = await t.app.inject({ method: 'DELETE', url: '/v1/me/connections/not-a-uuid', headers: alice.headers });
    assert.equal(malformed.statusCode, 400);
    await client.sync();
    assert.equal(client.ws.readyState, client.ws.OPEN, "B's attempts left A's socket open");
    const closeA = await t.app.inject({ method: 'DELETE', url: `/v1/me/connections/${client.connectionId}`, headers: alice.headers });
    assert.equal(closeA.statusCode, 204);
    assert.equal((await client.closed).code, 4000);
  });

  it('FAIL-013: B subscribing to A\'s portfolio:<id> gets `not_found`, the same as an unknown id', async () => {
    const client = await connectReady(url, bob.accessToken);
    client.send({ type: 'subscribe', channels: [`portfolio:${portfolioId}`], id: 'foreign' });
    const foreign = await client.next((m) => m.type === 'error' && m.id === 'foreign');
    client.send({ type: 'subscribe', channels: [`portfolio:${randomUUID()}`], id: 'unknown' });
    const unknown = await client.next((m) => m.type === 'error' && m.id === 'unknown');
    assert.equal(foreign.code, 'not_found');
    assert.equal(unknown.code, 'not_found');
    assert.equal(foreign.message, unknown.message);
    await client.sync();
    assert.equal(client.messages.some((m) => m.type === 'portfolio'), false);
    client.close();
  });

  it('portfolio:<id> receives the holdings revalued after a quote, equal to GET /holdings (without lots) at that moment, at most once a second', async () => {
    const client = await connectReady(url, alice.accessToken);
    client.send({ type: 'subscribe', channels: [`portfolio:${portfolioId}`] });
    const first = await client.next((m) => m.type === 'portfolio', 5000);
    assert.equal(first.channel, `portfolio:${portfolioId}`);
    const firstTotals = first.totals as { market_value: string };
    assert.match(firstTotals.market_value, /^\d+\.\d{2}$/);
    // The simulated price moves with the (test) clock's minute.
    clock.advance(7 * 60_000);
    const moved = await client.next((m) => m.type === 'portfolio' && (m.totals as { market_value: string }).market_value !== firstTotals.market_value, 8000);
    const res = await t.app.inject({ method: 'GET', url: `/v1/portfolios/${portfolioId}/holdings`, headers: alice.headers });
    assert.equal(res.statusCode, 200, res.body);
    const http = res.json<{ items: Array<Record<string, unknown>> }>();
    const { type: _type, channel: _channel, seq: _seq, sent_at: _sentAt, ...pushed } = moved;
    const withoutLots = { ...http, items: http.items.map(({ lots: _lots, ...position }) => position) };
    assert.deepEqual(pushed, withoutLots, 'the pushed holdings equal GET /holdings without the lots');
    // Throttled: quotes tick every second, portfolio messages never closer than ~1 s.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const times = client.arrivals.filter((_, i) => client.messages[i]?.type === 'portfolio');
    assert.ok(times.length >= 3, `revalued on the ticks meanwhile (${times.length})`);
    for (let i = 1; i < times.length; i++) {
      const gap = (times[i] ?? 0) - (times[i - 1] ?? 0);
      // WS_PORTFOLIO_THROTTLE_MS (1000) between starts; the valuation's own time shifts sends a little.
      assert.ok(gap >= 800, `portfolio messages ${gap} ms apart`);
    }
    client.close();
  });
});

describe('the portfolio channel of a portfolio with many lots', () => {
  let t: TestApp;
  before(async () => {
    // A small send bound, so that 150 lots (about 28 KB of JSON) would pass it.
    t = await buildTestApp({ env: { WS_MAX_BUFFERED_BYTES: '8192' } });
  });
  after(() => t.close());

  it('pushes the positions without their lots, within WS_MAX_BUFFERED_BYTES, and keeps the socket open', async () => {
    const carol = await createUser(t);
    const portfolioId = await createPortfolio(t, carol);
    for (let i = 0; i < 150; i++) {
      const executedAt = new Date(Date.UTC(2024, 0, 2) + i * 3_600_000).toISOString();
      await addTransaction(t, carol, portfolioId, { type: 'buy', symbol: 'MSFT', quantity: '1', price: '100', currency: 'USD', executed_at: executedAt });
    }
    const holdings = await t.app.inject({ method: 'GET', url: `/v1/portfolios/${portfolioId}/holdings`, headers: carol.headers });
    assert.ok(holdings.body.length > 8192, `GET /holdings is ${holdings.body.length} bytes: more than the bound`);
    const client = await connectReady(await listenForWs(t), carol.accessToken);
    client.send({ type: 'subscribe', channels: [`portfolio:${portfolioId}`] });
    const pushed = await client.next((m) => m.type === 'portfolio', 5000);
    const items = pushed.items as Array<Record<string, unknown>>;
    assert.deepEqual(items.map((item) => [item.symbol, item.quantity, 'lots' in item]), [['MSFT', '150', false]]);
    await client.sync();
    assert.equal(client.ws.readyState, client.ws.OPEN);
    client.close();
  });

  it('pushes a portfolio whose positions pass a quarter of WS_MAX_BUFFERED_BYTES as its totals and the number of positions left out', async () => {
    const dave = await createUser(t);
    const portfolioId = await createPortfolio(t, dave);
    const symbols = ['AAPL', 'MSFT', 'GOOGL', 'AMZN', 'NVDA', 'META', 'TSLA', 'JPM', 'V', 'SPY', 'QQQ', 'VOO'];
    for (const symbol of symbols) {
      await addTransaction(t, dave, portfolioId, { type: 'buy', symbol, quantity: '2', price: '10', currency: 'USD', executed_at: '2024-01-02T15:00:00Z' });
    }
    const res = await t.app.inject({ method: 'GET', url: `/v1/portfolios/${portfolioId}/holdings`, headers: dave.headers });
    const holdings = res.json<{ items: Array<{ symbol: string; lots: unknown }>; totals: { cost_basis: string } }>();
    const positions = JSON.stringify(holdings.items.map(({ lots: _lots, ...position }) => position));
    assert.ok(positions.length > 8192 / 4, `the positions alone are ${positions.length} bytes: more than a quarter of the bound`);
    const client = await connectReady(await listenForWs(t), dave.accessToken);
    const frames: string[] = [];
    client.ws.on('message', (data: Buffer) => frames.push(data.toString('utf8')));
    client.send({ type: 'subscribe', channels: [`portfolio:${portfolioId}`] });
    const pushed = await client.next((m) => m.type === 'portfolio', 5000);
    assert.equal('items' in pushed, false);
    assert.equal(pushed.items_omitted, symbols.length);
    assert.equal((pushed.totals as { cost_basis: string }).cost_basis, holdings.totals.cost_basis);
    const frame = frames.find((f) => f.includes('"type":"portfolio"'));
    assert.ok(frame !== undefined && Buffer.byteLength(frame) <= 8192 / 4, `the push is ${frame?.length} bytes`);
    await client.sync();
    assert.equal(client.ws.readyState, client.ws.OPEN);
    client.close();
  });
});
