// Connection caps (FAIL-023): one address once held 17,569 sockets. The server holds at
// most `max` client connections at once (Node's server.maxConnections: more are closed on
// accept) and at most `perIp` from one remote address; a connection over either cap is
// destroyed before a byte is read, so it costs no parsing and no memory beyond the accept.
// Behind a reverse proxy every connection comes from the proxy: raise `perIp` there.
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../logger.ts';

export interface ConnectionLimits {
  max: number;
  perIp: number;
}

export function limitConnections(server: Server, limits: ConnectionLimits, logger: Logger): void {
  server.maxConnections = limits.max;
  const open = new Map<string, number>();
  let refusedSinceLog = 0;
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? 'unknown';
    const count = open.get(address) ?? 0;
    if (count >= limits.perIp) {
      // One line per burst, not per refused socket: a flood must not flood the log too.
      if (refusedSinceLog++ === 0) logger.warn({ event: 'connection_refused', reason: 'per_ip', limit: limits.perIp }, 'connection over the per-address cap closed');
      socket.destroy();
      return;
    }
    refusedSinceLog = 0;
    open.set(address, count + 1);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left <= 0) open.delete(address);
      else open.set(address, left);
    });
  });
}
