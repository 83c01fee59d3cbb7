// FAIL-012 on a real listening server: frame size, message rate, connection and
// subscription caps, slow consumers and dead peers.
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createUser, type CreatedUser } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';
import { connectReady, connectWs, listenForWs, type WsClient } from '../../helpers/ws.ts';

const MAX_BUFFERED = 64 * 1024;

/** The client's TCP socket, to stop reading (a client that never reads). */
function rawSocket(client: WsClient): Socket {
  return (client.ws as unknown as { _socket: Socket })._socket;
}

describe('realtime limits', () => {
  let t: TestApp;
  let url: string;
  let alice: CreatedUser;

  before(async () => {
    t = await buildTestApp({
      env: {
        FREE_WS_CONNECTIONS: '2',
        PRO_WS_CONNECTIONS: '4',
        WS_MAX_SUBSCRIPTIONS: '3',
        WS_MAX_BUFFERED_BYTES: String(MAX_BUFFERED),
        WS_HEARTBEAT_MS: '400',
      },
    });
    url = await listenForWs(t);
    alice = await createUser(t);
  });
  after(async () => {
    await t.close();
  });

  it('FAIL-012: a 17 KiB frame closes the socket with 1009', async () => {
    const client = await connectReady(url, alice.accessToken);
    client.send({ type: 'ping', id: 'x'.repeat(17 * 1024) });
    assert.equal((await client.closed).code, 1009);
  });

  it('FAIL-012: a message flood closes the socket with 4429; a client within 20/s stays open', async () => {
    const calm = await connectReady(url, alice.accessToken);
    for (let i = 0; i < 20; i++) {
      calm.send({ type: 'ping', id: `c${i}` });
      await new Promise((resolve) => setTimeout(resolve, 60));
    }
    await calm.next((m) => m.type === 'pong' && m.id === 'c19');
    const flood = await connectReady(url, alice.accessToken);
    for (let i = 0; i < 100; i++) flood.send({ type: 'ping' });
    assert.equal((await flood.closed).code, 4429);
    const pongs = flood.messages.filter((m) => m.type === 'pong').length;
    assert.ok(pongs <= 41, `at most the burst was answered (${pongs})`);
    assert.equal(calm.ws.readyState, calm.ws.OPEN);
    calm.close();
  });

  it('FAIL-012: the per-user connection cap of the tier refuses the next socket with 4429', async () => {
    const bob = await createUser(t);
    const one = await connectReady(url, bob.accessToken);
    const two = await connectReady(url, bob.accessToken);
    const three = await connectWs(url, { headers: { authorization: `Bearer ${bob.accessToken}` } });
    assert.equal((await three.closed).code, 4429);
    assert.equal(three.messages.some((m) => m.type === 'ready'), false);
    // A closed socket frees its place.
    one.close();
    await one.closed;
    await new Promise((resolve) => setTimeout(resolve, 100));
    const again = await connectReady(url, bob.accessToken);
    // The pro tier has its own cap (4).
    const pro = await createUser(t, { tier: 'pro' });
    const pros = [];
    for (let i = 0; i < 4; i++) pros.push(await connectReady(url, pro.accessToken));
    const fifth = await connectWs(url, { headers: { authorization: `Bearer ${pro.accessToken}` } });
    assert.equal((await fifth.closed).code, 4429);
    for (const c of [two, again, ...pros]) c.close();
  });

  it('FAIL-012: subscriptions per connection are capped', async () => {
    const client = await connectReady(url, alice.accessToken);
    client.send({ type: 'subscribe', channels: ['news:A', 'news:B', 'news:C', 'news:D'] });
    const refused = await client.next((m) => m.type === 'error');
    assert.equal(refused.code, 'subscription_limit');
    assert.equal(refused.channel, 'news:D');
    client.close();
  });

  it('FAIL-012: a client that never reads is closed (1013) before the bytes queued for it pass the bound', async () => {
    const client = await connectReady(url, alice.accessToken);
    client.send({ type: 'subscribe', channels: ['news:SLOW'] });
    await client.sync();
    rawSocket(client).pause();
    // Kernel buffers on loopback absorb tens of MB before the server's own queue grows,
    // so publish big items, paced (≈ 32 MB/s, so with Redis the bus's subscriber keeps up),
    // until the server gives up on the client.
    const summary = 'x'.repeat(64 * 1024);
    const deadline = Date.now() + 30_000;
    for (let i = 0; Date.now() < deadline && t.logs.events('ws_slow_consumer').length === 0; i++) {
      await t.app.eventBus.publish('news.published', { symbol: 'SLOW', item: { id: `n${i}`, headline: 'h', summary, url: null, source: 't', published_at: new Date().toISOString(), sentiment: null } });
      if (i % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const [line] = t.logs.events('ws_slow_consumer');
    assert.ok(line !== undefined, 'the server closed the slow consumer');
    assert.ok((line.bufferedBytes as number) <= MAX_BUFFERED, `queued ${String(line.bufferedBytes)} bytes at close`);
    rawSocket(client).resume();
    assert.equal((await client.closed).code, 1013);
    const admin = await createUser(t, { role: 'admin' });
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics', headers: admin.headers });
    assert.match(metrics.body, /financehub_ws_slow_consumer_closes_total [1-9]/);
    assert.match(metrics.body, /financehub_ws_messages_dropped_total\{reason="slow_consumer"\} [1-9]/);
  });

  it('FAIL-012: a peer that stops answering pings is dropped by the heartbeat', async () => {
    const carol = await createUser(t);
    const client = await connectReady(url, carol.accessToken);
    rawSocket(client).pause();
    const deadline = Date.now() + 5000;
    while (t.logs.events('ws_dead_peer').length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(t.logs.events('ws_dead_peer').length > 0, 'dropped within a few heartbeats');
    // The registry entry goes with the socket (asynchronously, with Redis).
    let items: unknown[] = [];
    for (let i = 0; i < 40; i++) {
      const list = await t.app.inject({ method: 'GET', url: '/v1/me/connections', headers: carol.headers });
      items = list.json<{ items: unknown[] }>().items;
      if (items.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.deepEqual(items, []);
    client.ws.terminate();
  });
});
