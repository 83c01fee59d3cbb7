// The realtime module: the WebSocket gateway at /v1/ws and the connections API.
// registerRealtime wires the bus, the connection registry (Redis when configured), the
// service and the routes, and closes every socket with 1001 when the app closes.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import websocket from '@fastify/websocket';
import type { FastifyRequest } from 'fastify';
import { Counter, Gauge } from 'prom-client';
import type { Config } from '../../config.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Principal } from '../../platform/http/principal.ts';
import type { App } from '../../platform/http/types.ts';
import type { Logger } from '../../platform/logger.ts';
import type { Metrics } from '../../platform/metrics.ts';
import type { PubSub } from '../../platform/pubsub.ts';
import type { Redis } from '../../platform/redis.ts';
import { bearerToken, type AuthGuards } from '../auth/index.ts';
import { createConnectionRegistry } from './realtime.registry.ts';
import { realtimeRoutes } from './realtime.routes.ts';
import { createRealtimeService, type PortfolioSource, type RealtimeMetrics, type RealtimeService } from './realtime.service.ts';

export { CLOSE, QUOTE_CHANNEL, ALERTS_CHANNEL, NEWS_CHANNEL, REVOKED_CHANNEL, CONTROL_CHANNEL, queryCarriesToken, type RealtimeService } from './realtime.service.ts';
export { parseChannel } from './realtime.schemas.ts';

export interface RealtimeDeps {
  config: Config;
  logger: Logger;
  redis?: Redis | undefined;
  clock: Clock;
  pubsub: PubSub;
  guards: AuthGuards;
  metrics: Metrics;
  market: { watchSymbol: (symbol: string) => () => void };
  portfolios: PortfolioSource;
}

function realtimeMetrics(metrics: Metrics, openCount: () => number): RealtimeMetrics {
  const registers = [metrics.registry];
  new Gauge({ name: 'financehub_ws_connections', help: 'open WebSockets on this instance', registers, collect() { this.set(openCount()); } });
  const opened = new Counter({ name: 'financehub_ws_connections_opened_total', help: 'WebSockets accepted', registers });
  const closed = new Counter({ name: 'financehub_ws_connections_closed_total', help: 'WebSockets closed, by close code', labelNames: ['code'] as const, registers });
  const sent = new Counter({ name: 'financehub_ws_messages_sent_total', help: 'messages sent to WebSocket clients, by type', labelNames: ['type'] as const, registers });
  const dropped = new Counter({ name: 'financehub_ws_messages_dropped_total', help: 'messages not sent, by reason (slow_consumer, not_open)', labelNames: ['reason'] as const, registers });
  const slow = new Counter({ name: 'financehub_ws_slow_consumer_closes_total', help: 'WebSockets closed (1013) because the client did not read', registers });
  return {
    opened: () => opened.inc(),
    closed: (code) => closed.inc({ code: String(code) }),
    sent: (type, count) => sent.inc({ type }, count),
    dropped: (reason, count) => dropped.inc({ reason }, count),
    slowConsumer: () => slow.inc(),
  };
}

export async function registerRealtime(app: App, deps: RealtimeDeps): Promise<{ service: RealtimeService; close: () => Promise<void> }> {
  const { config, logger, clock } = deps;
  const ws = config.ws;
  // Verifies a token from a first `auth` message exactly as the HTTP guard verifies a bearer header.
  const authenticateToken = (token: string): Promise<Principal | null> =>
    deps.guards.authenticate({ headers: { authorization: `Bearer ${token}` } } as unknown as FastifyRequest);
  const registry = createConnectionRegistry({
    redis: deps.redis,
    logger,
    // Entries are re-stamped every heartbeat; three missed beats mark an instance gone.
    staleAfterMs: Math.max(ws.heartbeatMs * 3, 5000),
    now: () => clock.now().getTime(),
  });
  const open = { count: () => 0 };
  const metrics = realtimeMetrics(deps.metrics, () => open.count());
  const realtime = createRealtimeService({
    pubsub: deps.pubsub,
    registry,
    authenticate: authenticateToken,
    watchSymbol: deps.market.watchSymbol,
    portfolios: deps.portfolios,
    clock,
    logger,
    metrics,
    instance: `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    settings: {
      maxSubscriptions: ws.maxSubscriptions,
      maxBufferedBytes: ws.maxBufferedBytes,
      messagesPerSecond: ws.messagesPerSecond,
      messageBurst: ws.messageBurst,
      heartbeatMs: ws.heartbeatMs,
      authTimeoutMs: ws.authTimeoutMs,
      expiryWarningSeconds: ws.expiryWarningSeconds,
      maxInvalidMessages: ws.maxInvalidMessages,
      portfolioThrottleMs: ws.portfolioThrottleMs,
      connectionsPerTier: { free: config.tiers.free.wsConnections, pro: config.tiers.pro.wsConnections },
    },
  });
  open.count = realtime.openCount;
  await realtime.start();

  // Sockets get 1001 before the server stops; at most half the shutdown bound is spent
  // waiting for clients to answer the close, then the rest are cut off.
  const shutdownWaitMs = Math.min(2000, Math.floor(config.shutdownTimeoutMs / 2));
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await realtime.stop(shutdownWaitMs);
  };
  await app.register(websocket, {
    options: { maxPayload: ws.maxPayloadBytes, perMessageDeflate: false },
    preClose: async () => {
      await stop();
      await new Promise<void>((resolve) => app.websocketServer.close(() => resolve()));
    },
    errorHandler: (error, socket) => {
      logger.info({ err: error, event: 'ws_socket_error' }, 'WebSocket error');
      socket.terminate();
    },
  });

  realtimeRoutes(app, {
    service: realtime,
    guards: deps.guards,
    allowedOrigins: config.allowedOrigins,
    authenticate: deps.guards.authenticate,
    bearerToken,
  });
  return { service: realtime, close: stop };
}
