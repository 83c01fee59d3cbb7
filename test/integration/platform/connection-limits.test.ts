// Connection caps on a real listening server with real sockets (FAIL-023): at most
// MAX_CONNECTIONS_PER_IP open connections from one address (the next is closed on accept,
// another address is still served, and a closed connection frees its place), and at most
// MAX_CONNECTIONS in all. Linux routes all of 127.0.0.0/8 to loopback, so 127.0.0.2, …
// are distinct client addresses without any network set-up.
import assert from 'node:assert/strict';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';
import { waitFor } from '../../helpers/wait.ts';

/** Opens a connection from `localAddress` and sends one keep-alive request: served (200, still open) or closed unanswered. */
function open(port: number, localAddress: string): Promise<{ socket: Socket; served: boolean }> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress });
    let data = '';
    socket.on('error', () => undefined); // a refused connection may reset
    socket.on('connect', () => socket.write('GET /health/live HTTP/1.1\r\nHost: test\r\nConnection: keep-alive\r\n\r\n'));
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('latin1');
      if (data.includes('\r\n\r\n')) resolve({ socket, served: data.startsWith('HTTP/1.1 200') });
    });
    socket.on('close', () => resolve({ socket, served: false }));
  });
}

describe('connection caps (FAIL-023)', () => {
  let t: TestApp;
  let port: number;
  const sockets: Socket[] = [];
  const opened = async (localAddress: string) => {
    const result = await open(port, localAddress);
    sockets.push(result.socket);
    return result.served;
  };

  before(async () => {
    t = await buildTestApp({ env: { MAX_CONNECTIONS_PER_IP: '3', MAX_CONNECTIONS: '6' } });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    port = (t.app.server.address() as AddressInfo).port;
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await t.close();
  });

  it('FAIL-023: the connection after MAX_CONNECTIONS_PER_IP from one address is closed unanswered; another address is served; closing one frees a place', async () => {
    const first = [await opened('127.0.0.2'), await opened('127.0.0.2'), await opened('127.0.0.2')];
    assert.deepEqual(first, [true, true, true]);
    assert.equal(await opened('127.0.0.2'), false, 'the 4th connection from 127.0.0.2 is refused');
    assert.equal(await opened('127.0.0.3'), true, 'another address is still served');
    // Closing one of 127.0.0.2's connections gives its place back.
    const gone = sockets[0]!;
    await new Promise<void>((resolve) => {
      gone.once('close', () => resolve());
      gone.destroy();
    });
    // The server sees the close asynchronously: retried until it has (a refused try holds no place).
    assert.equal(await waitFor('a place for 127.0.0.2', async () => ((await opened('127.0.0.2')) ? true : undefined), 10_000), true);
    assert.ok(t.logs.events('connection_refused').length >= 1);
  });

  it('FAIL-023: at most MAX_CONNECTIONS connections in all, whatever the addresses', async () => {
    for (const socket of sockets) socket.destroy();
    sockets.length = 0;
    await waitFor('every connection closed', () => new Promise<true | undefined>((resolve) => t.app.server.getConnections((_err, n) => resolve(n === 0 ? true : undefined))), 10_000);
    const served: boolean[] = [];
    for (let i = 10; i < 16; i++) served.push(await opened(`127.0.0.${i}`));
    assert.deepEqual(served, [true, true, true, true, true, true]);
    assert.equal(await opened('127.0.0.20'), false, 'the 7th connection is refused');
  });
});
