// The WebSocket gateway end to end on a real listening server with real `ws` clients:
// handshake checks before the upgrade (FAIL-005, FAIL-011), header and first-message
// authentication, message validation, and live quotes from the simulated provider.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createUser, type CreatedUser } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';
import { connectReady, connectWs, listenForWs, refusedUpgrade } from '../../helpers/ws.ts';

describe('realtime gateway', () => {
  let t: TestApp;
  let url: string;
  let alice: CreatedUser;

  before(async () => {
    t = await buildTestApp({ env: { FREE_WS_CONNECTIONS: '20' } });
    url = await listenForWs(t);
    alice = await createUser(t);
  });
  after(async () => {
    await t.close();
  });

  it('FAIL-011: an upgrade from a foreign Origin is refused with 403 before the upgrade; an allowed or missing Origin passes', async () => {
    const refused = await refusedUpgrade(url, { headers: { origin: 'https://evil.example', authorization: `Bearer ${alice.accessToken}` } });
    assert.equal(refused.status, 403);
    assert.equal((JSON.parse(refused.body) as { status: number }).status, 403);
    const allowed = await connectReady(url, alice.accessToken, { headers: { origin: 'http://localhost:3000' } });
    allowed.close();
    const noOrigin = await connectReady(url, alice.accessToken);
    noOrigin.close();
  });

  it('FAIL-005: a token in the query string is refused with 400 before the upgrade and never reaches a log', async () => {
    const marker = alice.accessToken;
    for (const query of [`token=${marker}`, `access_token=${marker}`, `jwt=${marker}`, `x=${marker}`, `token=opaque-value`]) {
      const refused = await refusedUpgrade(`${url}?${query}`);
      assert.equal(refused.status, 400, query);
      assert.equal((JSON.parse(refused.body) as { code: string }).code, 'token_in_query');
    }
    // Even with a valid header, the URL credential is refused.
    const both = await refusedUpgrade(`${url}?access_token=${marker}`, { headers: { authorization: `Bearer ${marker}` } });
    assert.equal(both.status, 400);
    assert.equal(t.logs.text().includes(marker), false, 'the token appears in no log line');
    assert.equal(t.logs.text().includes('opaque-value'), false, 'query strings are not logged');
  });

  it('FAIL-006: an invalid bearer token on the upgrade is 401 before the upgrade', async () => {
    const refused = await refusedUpgrade(url, { headers: { authorization: 'Bearer not.a.token' } });
    assert.equal(refused.status, 401);
    const forged = `${alice.accessToken.slice(0, -4)}AAAA`;
    assert.equal((await refusedUpgrade(url, { headers: { authorization: `Bearer ${forged}` } })).status, 401);
  });

  it('a plain GET of /v1/ws answers 426 problem JSON', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/ws' });
    assert.equal(res.statusCode, 426);
    assert.equal(res.json<{ code: string }>().code, 'upgrade_required');
  });

  it('header authentication: `ready` carries the connection id and the token expiry, with seq 1 and a server timestamp', async () => {
    const client = await connectReady(url, alice.accessToken);
    const ready = client.messages[0];
    assert.ok(ready !== undefined);
    assert.equal(ready.seq, 1);
    assert.match(ready.connection_id as string, /^[0-9a-f-]{36}$/);
    assert.ok(Date.parse(ready.expires_at as string) > Date.now());
    assert.ok(Math.abs(Date.parse(ready.sent_at) - Date.now()) < 60_000);
    client.close();
  });

  it('first-message authentication: {"type":"auth"} within the window gets `ready`; nothing else is served before it', async () => {
    const client = await connectWs(url, { headers: { origin: 'http://127.0.0.1:3000' } });
    client.send({ type: 'subscribe', channels: ['quotes:AAPL'] });
    const refused = await client.next((m) => m.type === 'error');
    assert.equal(refused.code, 'not_authenticated');
    client.send({ type: 'auth', token: alice.accessToken, id: 'a1' });
    const ready = await client.next((m) => m.type === 'ready');
    assert.equal(ready.id, 'a1');
    client.close();
  });

  it('first-message authentication with a bad token closes 4401', async () => {
    const client = await connectWs(url);
    client.send({ type: 'auth', token: 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.' });
    assert.equal((await client.closed).code, 4401);
  });

  it('no auth message within 5 s closes 4408', async () => {
    const client = await connectWs(url);
    const started = Date.now();
    const { code } = await client.closed;
    assert.equal(code, 4408);
    const waited = Date.now() - started;
    assert.ok(waited >= 4500 && waited < 15_000, `closed after ${waited} ms`);
  });

  it('invalid messages get `error` with a stable code; repeated abuse closes 4400', async () => {
    const client = await connectReady(url, alice.accessToken);
    client.send('not json');
    assert.equal((await client.next((m) => m.type === 'error' && m.code === 'invalid_json')).code, 'invalid_json');
    client.send({ type: 'subscribe', channels: 'quotes:AAPL' });
    await client.next((m) => m.code === 'invalid_message');
    client.send({ type: 'subscribe', channels: ['quotes:aapl'], id: 'x' });
    const unknown = await client.next((m) => m.code === 'unknown_channel');
    assert.equal(unknown.id, 'x');
    client.send({ type: 'subscribe', channels: ['quotes:AAPL'], price: 1 });
    client.send({ type: 'launch' });
    assert.equal((await client.closed).code, 4400);
  });

  it('a subscriber to quotes:<SYM> on the simulated provider receives quotes with increasing sequence numbers and decimal strings', async () => {
    const client = await connectReady(url, alice.accessToken);
    client.send({ type: 'subscribe', channels: ['quotes:MSFT'] });
    await client.sync();
    const quotes = [];
    for (let i = 0; i < 3; i++) {
      const last: number = quotes.at(-1)?.seq ?? 0;
      quotes.push(await client.next((m) => m.type === 'quote' && m.seq > last, 5000));
    }
    for (const q of quotes) {
      assert.equal(q.channel, 'quotes:MSFT');
      assert.equal(q.symbol, 'MSFT');
      assert.equal(typeof q.price, 'string');
      assert.match(q.price as string, /^\d+(\.\d+)?$/);
      assert.equal(q.source, 'simulated');
    }
    const seqs = client.messages.map((m) => m.seq);
    assert.deepEqual(seqs, seqs.map((_, i) => i + 1), 'every message carries the next sequence number');
    // Unsubscribing stops the stream.
    client.send({ type: 'unsubscribe', channels: ['quotes:MSFT'] });
    await client.sync();
    const count = client.messages.length;
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.equal(client.messages.length, count, 'no quote after unsubscribe');
    client.close();
  });

  it('candles:<SYM>:<interval> carries the forming bar built from quotes', async () => {
    const client = await connectReady(url, alice.accessToken);
    // A demo-universe symbol: the simulated provider streams ticks only for those.
    client.send({ type: 'subscribe', channels: ['candles:NVDA:1m'] });
    await client.sync();
    const candle = await client.next((m) => m.type === 'candle', 10_000);
    assert.equal(candle.channel, 'candles:NVDA:1m');
    assert.equal(candle.interval, '1m');
    for (const field of ['open', 'high', 'low', 'close', 'volume']) assert.equal(typeof candle[field], 'string', field);
    assert.ok(Number.isFinite(Date.parse(candle.ts as string)));
    client.close();
  });

  it('alerts and news published on the bus reach the right subscribers only', async () => {
    const bob = await createUser(t);
    const a = await connectReady(url, alice.accessToken);
    const b = await connectReady(url, bob.accessToken);
    a.send({ type: 'subscribe', channels: ['alerts', 'news:AAPL'] });
    b.send({ type: 'subscribe', channels: ['alerts'] });
    await a.sync();
    await b.sync();
    const event = { id: 'e1', alert_id: 'a1', kind: 'price_above', symbol: 'AAPL', fired_at: new Date().toISOString(), value: '101.50', threshold: '100', message: 'AAPL above 100' };
    await t.app.eventBus.publish('alerts.fired', { user_id: alice.userId, event });
    await t.app.eventBus.publish('news.published', { symbol: 'AAPL', item: { id: 'n1', headline: 'H', summary: 'S', url: null, source: 'test', published_at: new Date().toISOString(), sentiment: '0.5' } });
    const alert = await a.next((m) => m.type === 'alert');
    assert.equal(alert.channel, 'alerts');
    assert.equal(alert.value, '101.50');
    assert.equal(alert.alert_id, 'a1');
    const news = await a.next((m) => m.type === 'news');
    assert.equal(news.channel, 'news:AAPL');
    assert.equal(news.headline, 'H');
    await b.sync();
    assert.equal(b.messages.some((m) => m.type === 'alert'), false, "bob never sees alice's alert");
    a.close();
    b.close();
  });

  it('open sockets, messages sent and slow-consumer closes appear in /metrics', async () => {
    const client = await connectReady(url, alice.accessToken);
    const admin = await createUser(t, { role: 'admin' });
    const res = await t.app.inject({ method: 'GET', url: '/metrics', headers: admin.headers });
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /financehub_ws_connections [1-9]/);
    assert.match(res.body, /financehub_ws_messages_sent_total\{type="ready"\} [1-9]/);
    assert.match(res.body, /financehub_ws_slow_consumer_closes_total/);
    client.close();
  });
});
