// Real `ws` clients against a real listening test app: open (with headers), send JSON,
// await messages by predicate, await the close code, or read the HTTP answer of a
// refused upgrade.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { WebSocket, type ClientOptions } from 'ws';
import type { TestApp } from './build-test-app.ts';

export interface ServerMessage {
  type: string;
  seq: number;
  sent_at: string;
  channel?: string;
  [key: string]: unknown;
}

export interface WsClient {
  ws: WebSocket;
  /** Every message received so far, in order. */
  messages: ServerMessage[];
  /** Local arrival time (ms) of each message, index for index. */
  arrivals: number[];
  send: (message: unknown) => void;
  /** The first message (already received or coming) matching `match`. */
  next: (match: (m: ServerMessage) => boolean, timeoutMs?: number) => Promise<ServerMessage>;
  /** Sends a ping and waits for its pong: every earlier message has been handled. */
  sync: () => Promise<void>;
  closed: Promise<{ code: number; reason: string }>;
  close: () => void;
}

/** Starts listening on a free port; returns the ws:// URL of /v1/ws. */
export async function listenForWs(t: TestApp): Promise<string> {
  if (!t.app.server.listening) await t.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = t.app.server.address() as AddressInfo;
  return `ws://127.0.0.1:${port}/v1/ws`;
}

let pingIds = 0;

export function connectWs(url: string, options: ClientOptions = {}): Promise<WsClient> {
  const ws = new WebSocket(url, options);
  const messages: ServerMessage[] = [];
  const arrivals: number[] = [];
  const waiters: Array<{ match: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void }> = [];
  ws.on('message', (data) => {
    const text = Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)]).toString('utf8');
    const message = JSON.parse(text) as ServerMessage;
    messages.push(message);
    arrivals.push(Date.now());
    for (const waiter of [...waiters]) {
      if (waiter.match(message)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(message);
      }
    }
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') }));
  });
  ws.on('error', () => undefined);
  const client: WsClient = {
    ws,
    messages,
    arrivals,
    send: (message) => ws.send(typeof message === 'string' ? message : JSON.stringify(message)),
    next: (match, timeoutMs = 10_000) => {
      const seen = messages.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = { match, resolve: (m: ServerMessage) => (clearTimeout(timer), resolve(m)) };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(messages.slice(-5))}`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    sync: async () => {
      const id = `sync-${++pingIds}`;
      ws.send(JSON.stringify({ type: 'ping', id }));
      await client.next((m) => m.type === 'pong' && m.id === id);
    },
    closed,
    close: () => ws.close(),
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(client));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused with ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

/** Opens an authenticated socket (bearer header) and waits for `ready`. */
export async function connectReady(url: string, accessToken: string, options: ClientOptions = {}): Promise<WsClient & { connectionId: string }> {
  const client = await connectWs(url, { ...options, headers: { ...options.headers, authorization: `Bearer ${accessToken}` } });
  const ready = await client.next((m) => m.type === 'ready' || m.type === 'error');
  assert.equal(ready.type, 'ready', JSON.stringify(ready));
  return Object.assign(client, { connectionId: ready.connection_id as string });
}

/** The HTTP answer to an upgrade the server refuses: status and problem JSON body. */
export function refusedUpgrade(url: string, options: ClientOptions = {}): Promise<{ status: number; body: string }> {
  const ws = new WebSocket(url, options);
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      ws.close();
      reject(new Error('upgrade was accepted'));
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once('error', (err) => reject(err));
  });
}
