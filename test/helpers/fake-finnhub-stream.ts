// A local stand-in for Finnhub's trade WebSocket (wss://ws.finnhub.io): a real HTTP
// server on 127.0.0.1 that upgrades connections. Each new connection takes the next mode
// from `plan` (then `ok`):
// - `ok`: a well-behaved stream (ws package): records what the client sends, and
//   `trade()` sends trades in Finnhub's shape;
// - `garbage`: completes the handshake, sends a text frame that is not JSON, then bytes
//   that are no WebSocket frame at all (a reserved opcode and noise);
// - `close`: completes the handshake, then ends the TCP connection without a close frame;
// - `reset`: completes the handshake, then resets the TCP connection (RST);
// - `huge`: a well-behaved handshake, then one text frame of `hugeBytes` (8 MiB).
// `dropAll()` cuts every open connection (the client must reconnect).
// Every connection is recorded with when it was accepted (performance.now(), ms), so a
// test can read the client's reconnect delays.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export type StreamMode = 'ok' | 'garbage' | 'close' | 'reset' | 'huge';

export interface StreamConnection {
  mode: StreamMode;
  openedAt: number;
  token: string | undefined;
  /** Text messages the client sent (ok and huge modes). */
  received: string[];
  /** The close code the client sent (ok and huge modes), once closed. */
  closeCode?: number;
  ws?: WebSocket;
}

export interface FakeFinnhubStream {
  url: string;
  /** Modes of the next connections, consumed in order; `ok` once empty. */
  plan: StreamMode[];
  connections: StreamConnection[];
  /** Sends one trade to every open `ok` connection. */
  trade: (symbol: string, price: string, volume: string) => void;
  /** Size of the `huge` frame, bytes. */
  hugeBytes: number;
  dropAll: () => void;
  close: () => Promise<void>;
}

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** An unmasked server text frame (payload under 126 bytes). */
function textFrame(text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  if (payload.length >= 126) throw new Error('short frames only');
  return Buffer.concat([Buffer.from([0x81, payload.length]), payload]);
}

function acceptHandshake(request: IncomingMessage, socket: Socket): void {
  const key = request.headers['sec-websocket-key'] ?? '';
  const accept = createHash('sha1').update(`${String(key)}${GUID}`).digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
}

export async function startFakeFinnhubStream(): Promise<FakeFinnhubStream> {
  const wss = new WebSocketServer({ noServer: true });
  const server = createServer((_req, res) => res.writeHead(426).end());
  const sockets = new Set<Socket>();
  const fake: FakeFinnhubStream = {
    url: '',
    plan: [],
    connections: [],
    hugeBytes: 8 * 1024 * 1024,
    dropAll() {
      for (const socket of sockets) socket.destroy();
    },
    trade(symbol, price, volume) {
      const message = `{"data":[{"c":null,"p":${price},"s":${JSON.stringify(symbol)},"t":${Date.now()},"v":${volume}}],"type":"trade"}`;
      for (const c of fake.connections) if (c.mode === 'ok' && c.ws?.readyState === 1) c.ws.send(message);
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      wss.close();
      server.close();
      await once(server, 'close');
    },
  };
  server.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => {
    sockets.add(socket);
    socket.on('error', () => undefined); // a client resetting its side is not this server's problem
    const mode = fake.plan.shift() ?? 'ok';
    const token = request.headers['x-finnhub-token'] as string | undefined;
    const connection: StreamConnection = { mode, openedAt: performance.now(), token, received: [] };
    fake.connections.push(connection);
    socket.once('close', () => sockets.delete(socket));
    if (mode === 'ok' || mode === 'huge') {
      wss.handleUpgrade(request, socket, head, (ws) => {
        connection.ws = ws;
        ws.on('error', () => undefined);
        ws.on('message', (data: Buffer) => connection.received.push(data.toString('utf8')));
        ws.on('close', (code: number) => (connection.closeCode = code));
        if (mode === 'huge') ws.send('x'.repeat(fake.hugeBytes));
      });
      return;
    }
    acceptHandshake(request, socket);
    if (mode === 'garbage') {
      socket.write(textFrame('{"type":"trade","data":[{"s":"AAPL","p":'));
      socket.write(Buffer.from([0x8f, 0x05, 0xde, 0xad, 0xbe, 0xef, 0x00, 0xff, 0xfe, 0x13, 0x37]));
      // The client must give up on the connection itself; the server hangs up only later.
      setTimeout(() => socket.destroy(), 2000).unref();
    } else if (mode === 'close') {
      socket.end();
    } else {
      socket.resetAndDestroy();
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  fake.url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}
