// The load generator of the ws benchmark, run as a child process (so its CPU is not the
// server's): opens N authenticated sockets against /v1/ws, subscribes each to its
// symbol, and records the delivery latency of every quote (receipt − the quote's
// `as_of`, which the benchmark sets to its publish time) in a 1 ms histogram, and how
// many quotes each socket received. Talks to its parent over IPC:
//   parent → { type: 'open', urls, tokens, sockets, symbols }   child → { type: 'ready', … }
//   parent → { type: 'report' }                                 child → { type: 'report', … }
import { WebSocket } from 'ws';

interface OpenCommand {
  type: 'open';
  urls: string[];
  tokens: string[];
  sockets: number;
  symbols: string[];
  /** Sockets opening at once. */
  concurrency: number;
}

const MAX_MS = 10_000;
const histogram = new Float64Array(MAX_MS + 1);
let maxLatency = 0;
let received = 0;
let other = 0;
let closedEarly = 0;
const sockets: WebSocket[] = [];
const perSocket: number[] = [];

function send(message: unknown): void {
  process.send?.(message);
}

function open(url: string, token: string, symbol: string, index: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
    sockets.push(ws);
    perSocket[index] = 0;
    let subscribed = false;
    ws.on('message', (data: Buffer) => {
      const text = data.toString('latin1');
      // Cheap parsing: the load generator must not be the bottleneck it measures.
      if (text.includes('"type":"quote"')) {
        const at = text.indexOf('"as_of":"');
        const asOf = Date.parse(text.slice(at + 9, at + 33));
        const latency = Math.max(0, Date.now() - asOf);
        histogram[Math.min(MAX_MS, Math.floor(latency))]! += 1;
        if (latency > maxLatency) maxLatency = latency;
        received++;
        perSocket[index]! += 1;
        return;
      }
      if (text.includes('"type":"ready"')) {
        ws.send(JSON.stringify({ type: 'subscribe', channels: [`quotes:${symbol}`] }));
        ws.send(JSON.stringify({ type: 'ping', id: 'subscribed' }));
        return;
      }
      if (text.includes('"type":"pong"') && !subscribed) {
        subscribed = true;
        resolve();
        return;
      }
      other++;
    });
    ws.on('close', (code) => {
      if (!subscribed) reject(new Error(`socket ${index} closed with ${code} before subscribing`));
      else closedEarly++;
    });
    ws.on('error', (err) => {
      if (!subscribed) reject(err);
    });
  });
}

function percentile(p: number): number {
  const total = histogram.reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  let seen = 0;
  for (let ms = 0; ms <= MAX_MS; ms++) {
    seen += histogram[ms] ?? 0;
    if (seen >= total * p) return ms + 1;
  }
  return MAX_MS;
}

process.on('message', (raw: unknown) => {
  const message = raw as { type: string };
  if (message.type === 'open') {
    const command = message as OpenCommand;
    void (async () => {
      const started = Date.now();
      let next = 0;
      const worker = async () => {
        for (;;) {
          const index = next++;
          if (index >= command.sockets) return;
          const token = command.tokens[index % command.tokens.length] ?? '';
          const symbol = command.symbols[index % command.symbols.length] ?? 'BENCH';
          await open(command.urls[index % command.urls.length] ?? '', token, symbol, index);
        }
      };
      try {
        await Promise.all(Array.from({ length: command.concurrency }, worker));
        send({ type: 'ready', sockets: sockets.length, open_ms: Date.now() - started });
      } catch (err) {
        send({ type: 'failed', error: (err as Error).message });
      }
    })();
  } else if (message.type === 'count') {
    send({ type: 'count', received });
  } else if (message.type === 'report') {
    send({
      type: 'report',
      received,
      other,
      closed_early: closedEarly,
      per_socket_min: Math.min(...perSocket),
      per_socket_max: Math.max(...perSocket),
      p50_ms: percentile(0.5),
      p99_ms: percentile(0.99),
      max_ms: maxLatency,
    });
  } else if (message.type === 'exit') {
    for (const ws of sockets) ws.terminate();
    process.exit(0);
  }
});
