// A TCP proxy in front of a real server (the shared PostgreSQL), for faults that must not
// be injected into the shared server itself: `pause()` stops forwarding in both
// directions, exactly what clients see of a SIGSTOPped or partitioned database (the
// kernel still accepts connections, nothing answers); `resume()` delivers what was held
// back; `killAll()` drops every connection, like a server restart does.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** Connections open through the proxy right now. */
  connections: () => number;
  pause: () => void;
  resume: () => void;
  killAll: () => void;
  close: () => Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
  held: Array<{ to: Socket; chunk: Buffer }>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  let paused = false;

  const forward = (pair: Pair, from: Socket, to: Socket) => {
    from.on('data', (chunk: Buffer) => {
      if (paused) pair.held.push({ to, chunk });
      else to.write(chunk);
    });
  };

  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    const pair: Pair = { client, upstream, held: [] };
    pairs.add(pair);
    forward(pair, client, upstream);
    forward(pair, upstream, client);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  const killAll = () => {
    for (const pair of pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    pairs.clear();
  };

  return {
    port,
    connections: () => pairs.size,
    pause: () => {
      paused = true;
    },
    resume: () => {
      paused = false;
      for (const pair of pairs) {
        for (const { to, chunk } of pair.held.splice(0)) to.write(chunk);
      }
    },
    killAll,
    close: async () => {
      killAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** `url` (a postgres:// URL) with its host and port replaced by the proxy's. */
export function throughProxy(url: string, proxy: TcpProxy): string {
  const parsed = new URL(url);
  parsed.hostname = '127.0.0.1';
  parsed.port = String(proxy.port);
  return parsed.toString();
}
