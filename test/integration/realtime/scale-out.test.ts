// Two instances of one system (the same PostgreSQL schema and Redis prefix): quotes
// published on one reach subscribers on the other, the connection listing and the
// per-user cap span both, and logout or DELETE on one closes a socket held by the other.
// Needs TEST_DATABASE_URL and TEST_REDIS_URL (two PGlite instances share nothing).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createUser, login } from '../../helpers/auth.ts';
import { buildTestApp, usingPostgres, usingRedis, type TestApp } from '../../helpers/build-test-app.ts';
import { connectReady, connectWs, listenForWs } from '../../helpers/ws.ts';

const skip = !(usingPostgres && usingRedis) ? 'needs TEST_DATABASE_URL and TEST_REDIS_URL' : false;

describe('realtime across two instances', () => {
  let a: TestApp;
  let b: TestApp;
  let urlA: string;
  let urlB: string;

  before(async () => {
    if (skip !== false) return;
    const env = { FREE_WS_CONNECTIONS: '2', MARKET_DATA_PROVIDER: 'none' };
    a = await buildTestApp({ env });
    b = await buildTestApp({ env, shareWith: a });
    urlA = await listenForWs(a);
    urlB = await listenForWs(b);
  });
  after(async () => {
    if (skip !== false) return;
    await b.close();
    await a.close();
  });

  it('a quote published on instance B reaches a subscriber on instance A', { skip }, async () => {
    const user = await createUser(a);
    const client = await connectReady(urlA, user.accessToken);
    client.send({ type: 'subscribe', channels: ['quotes:XSCALE'] });
    await client.sync();
    await b.app.eventBus.publish('market.quote', { symbol: 'XSCALE', price: '12.345', previous_close: null, as_of: new Date().toISOString(), source: 'test' });
    const quote = await client.next((m) => m.type === 'quote');
    assert.equal(quote.price, '12.345');
    assert.equal(quote.channel, 'quotes:XSCALE');
    client.close();
  });

  it('the connection listing and the per-user cap span both instances', { skip }, async () => {
    const user = await createUser(a);
    const onA = await connectReady(urlA, user.accessToken);
    const onB = await connectReady(urlB, user.accessToken);
    const list = await b.app.inject({ method: 'GET', url: '/v1/me/connections', headers: user.headers });
    const items = list.json<{ items: Array<{ id: string; instance: string }> }>().items;
    assert.deepEqual(items.map((i) => i.id).sort(), [onA.connectionId, onB.connectionId].sort());
    assert.notEqual(items[0]?.instance, items[1]?.instance);
    // FREE_WS_CONNECTIONS=2 across the system: a third socket on either instance is refused.
    const third = await connectWs(urlA, { headers: { authorization: `Bearer ${user.accessToken}` } });
    assert.equal((await third.closed).code, 4429);
    onA.close();
    onB.close();
  });

  it('logout on instance B closes the session\'s socket on instance A within 1 s', { skip }, async () => {
    const user = await createUser(a);
    const client = await connectReady(urlA, user.accessToken);
    const started = Date.now();
    const res = await b.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: user.headers });
    assert.equal(res.statusCode, 204);
    assert.equal((await client.closed).code, 4401);
    assert.ok(Date.now() - started < 1000, `closed after ${Date.now() - started} ms`);
  });

  it('FAIL-013: DELETE /v1/me/connections/:id on instance B closes the socket on A (4000); another user gets 404 there', { skip }, async () => {
    const user = await createUser(a);
    const other = await createUser(a);
    const client = await connectReady(urlA, user.accessToken);
    const foreign = await b.app.inject({ method: 'DELETE', url: `/v1/me/connections/${client.connectionId}`, headers: other.headers });
    assert.equal(foreign.statusCode, 404);
    const fresh = await login(b, user.email, user.password);
    const res = await b.app.inject({ method: 'DELETE', url: `/v1/me/connections/${client.connectionId}`, headers: { authorization: `Bearer ${fresh.accessToken}` } });
    assert.equal(res.statusCode, 204);
    assert.equal((await client.closed).code, 4000);
  });
});
