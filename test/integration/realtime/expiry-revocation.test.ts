// FAIL-006 for WebSockets: a socket lives only as long as its access token and its
// session. `token_expiring` comes ahead of `exp`, an in-band `auth` extends the socket,
// otherwise 4401 at `exp`; logout, logout-all, a revoked session and a disabled account
// close the affected sockets with 4401 within a second.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createUser, login } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';
import { connectReady, listenForWs, type WsClient } from '../../helpers/ws.ts';

async function closedWithin(client: WsClient, ms: number): Promise<{ code: number; elapsed: number }> {
  const started = Date.now();
  const result = await Promise.race([client.closed, new Promise<null>((resolve) => setTimeout(() => resolve(null), ms + 4000))]);
  assert.ok(result !== null, 'the socket was closed');
  return { code: result.code, elapsed: Date.now() - started };
}

describe('FAIL-006: token expiry on a socket', () => {
  let t: TestApp;
  let url: string;

  before(async () => {
    t = await buildTestApp({ env: { ACCESS_TOKEN_TTL: '4', WS_EXPIRY_WARNING_SECONDS: '3', FREE_WS_CONNECTIONS: '10' } });
    url = await listenForWs(t);
  });
  after(async () => {
    await t.close();
  });

  it('FAIL-006: a token with a 4 s lifetime gets `token_expiring` ahead of exp, then close 4401 at exp', async () => {
    const user = await createUser(t);
    const client = await connectReady(url, user.accessToken);
    const expiresAt = Date.parse(client.messages[0]?.expires_at as string);
    const warning = await client.next((m) => m.type === 'token_expiring', 5000);
    assert.equal(Date.parse(warning.expires_at as string), expiresAt);
    assert.ok(Date.now() < expiresAt, 'the warning comes before exp');
    const { code } = await client.closed;
    assert.equal(code, 4401);
    const late = Date.now() - expiresAt;
    assert.ok(late > -250 && late < 1500, `closed ${late} ms after exp`);
  });

  it('FAIL-006: a fresh `auth` message for the same user in band keeps the socket open past the first token\'s exp', async () => {
    const user = await createUser(t);
    const other = await createUser(t);
    const client = await connectReady(url, user.accessToken);
    const firstExpiry = Date.parse(client.messages[0]?.expires_at as string);
    await client.next((m) => m.type === 'token_expiring', 5000);
    const [fresh, foreign] = await Promise.all([login(t, user.email, user.password), login(t, other.email, other.password)]);
    client.send({ type: 'auth', token: fresh.accessToken, id: 'renew' });
    const renewed = await client.next((m) => m.type === 'ready' && m.id === 'renew');
    assert.ok(Date.parse(renewed.expires_at as string) > firstExpiry);
    // Another user's token does not take the socket over.
    client.send({ type: 'auth', token: foreign.accessToken, id: 'steal' });
    assert.equal((await client.next((m) => m.id === 'steal')).code, 'wrong_user');
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, firstExpiry - Date.now()) + 300));
    assert.equal(client.ws.readyState, client.ws.OPEN, 'still open after the first token expired');
    // …until the renewed token expires.
    assert.equal((await client.closed).code, 4401);
    client.close();
  });
});

describe('FAIL-006: revocation closes sockets', () => {
  let t: TestApp;
  let url: string;

  before(async () => {
    t = await buildTestApp({ env: { FREE_WS_CONNECTIONS: '10' } });
    url = await listenForWs(t);
  });
  after(async () => {
    await t.close();
  });

  it('FAIL-006: logout closes that session\'s sockets with 4401 within 1 s, and only those', async () => {
    const user = await createUser(t);
    const second = await login(t, user.email, user.password);
    const a = await connectReady(url, user.accessToken);
    const b = await connectReady(url, second.accessToken);
    const res = await t.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: user.headers });
    assert.equal(res.statusCode, 204, res.body);
    const { code, elapsed } = await closedWithin(a, 1000);
    assert.equal(code, 4401);
    assert.ok(elapsed < 1000, `closed after ${elapsed} ms`);
    await b.sync();
    assert.equal(b.ws.readyState, b.ws.OPEN, "the other session's socket stays");
    b.close();
  });

  it('FAIL-006: logout-all closes every socket of the user within 1 s', async () => {
    const user = await createUser(t);
    const second = await login(t, user.email, user.password);
    const a = await connectReady(url, user.accessToken);
    const b = await connectReady(url, second.accessToken);
    const res = await t.app.inject({ method: 'POST', url: '/v1/auth/logout-all', headers: user.headers });
    assert.equal(res.statusCode, 204, res.body);
    for (const client of [a, b]) {
      const { code, elapsed } = await closedWithin(client, 1000);
      assert.equal(code, 4401);
      assert.ok(elapsed < 1000, `closed after ${elapsed} ms`);
    }
  });

  it('FAIL-006: revoking a session (DELETE /v1/me/sessions/:id) closes its socket within 1 s', async () => {
    const user = await createUser(t);
    const other = await login(t, user.email, user.password);
    const socket = await connectReady(url, other.accessToken);
    const res = await t.app.inject({ method: 'DELETE', url: `/v1/me/sessions/${other.sessionId}`, headers: user.headers });
    assert.equal(res.statusCode, 204, res.body);
    const { code, elapsed } = await closedWithin(socket, 1000);
    assert.equal(code, 4401);
    assert.ok(elapsed < 1000);
  });

  it('FAIL-006: disabling an account closes its sockets within 1 s, and a new socket is refused', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const user = await createUser(t);
    const socket = await connectReady(url, user.accessToken);
    const res = await t.app.inject({ method: 'PATCH', url: `/v1/admin/users/${user.userId}`, headers: admin.headers, payload: { disabled: true } });
    assert.equal(res.statusCode, 200, res.body);
    const { code, elapsed } = await closedWithin(socket, 1000);
    assert.equal(code, 4401);
    assert.ok(elapsed < 1000);
    await assert.rejects(connectReady(url, user.accessToken), /401/);
  });
});
