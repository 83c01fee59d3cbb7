// The real-time gateway's rules, knowing no HTTP: a connection's life (authentication,
// expiry, revocation, limits), channel subscriptions, and fan-out of bus events to the
// sockets that asked for them. Each event is serialised once per instance; a socket's
// frame is that text with its own sequence number spliced in front. Every frame is
// checked against the socket's send buffer first: a client that does not read is closed
// (1013) before its queue passes WS_MAX_BUFFERED_BYTES (FAIL-012).
import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { Clock } from '../../platform/clock.ts';
import { AppError } from '../../platform/errors.ts';
import type { Principal, Tier } from '../../platform/http/principal.ts';
import type { Logger } from '../../platform/logger.ts';
import type { PubSub } from '../../platform/pubsub.ts';
import type { ConnectionEntry, ConnectionRegistry } from './realtime.registry.ts';
import { isClientMessage, parseChannel, type Channel, type ClientMessage } from './realtime.schemas.ts';
import { createCandleBuilder } from './candles.ts';

/** Close codes (RFC 6455 and the application range 4000–4999). */
export const CLOSE = {
  goingAway: 1001,
  tooBig: 1009,
  tryAgainLater: 1013,
  closedByUser: 4000,
  invalidMessages: 4400,
  unauthorized: 4401,
  authTimeout: 4408,
  tooMany: 4429,
} as const;

export const QUOTE_CHANNEL = 'market.quote';
export const ALERTS_CHANNEL = 'alerts.fired';
export const NEWS_CHANNEL = 'news.published';
export const REVOKED_CHANNEL = 'auth.revoked';
/** Instance-to-instance commands (close a connection held elsewhere). */
export const CONTROL_CHANNEL = 'realtime.control';

export interface RealtimeSettings {
  maxSubscriptions: number;
  maxBufferedBytes: number;
  messagesPerSecond: number;
  messageBurst: number;
  heartbeatMs: number;
  authTimeoutMs: number;
  expiryWarningSeconds: number;
  maxInvalidMessages: number;
  portfolioThrottleMs: number;
  /** Connections per user by tier, across instances. */
  connectionsPerTier: Record<Tier, number>;
}

export interface RealtimeMetrics {
  opened: () => void;
  closed: (code: number) => void;
  sent: (type: string, count: number) => void;
  dropped: (reason: string, count: number) => void;
  slowConsumer: () => void;
}

export interface PortfolioSource {
  /** Holdings as GET /v1/portfolios/:id/holdings answers them; throws not_found for a foreign or unknown id. */
  holdings: (userId: string, portfolioId: string) => Promise<{ items: Array<{ symbol: string; lots?: unknown } & Record<string, unknown>> } & Record<string, unknown>>;
}

export interface RealtimeServiceDeps {
  pubsub: PubSub;
  registry: ConnectionRegistry;
  /** Verifies an access token exactly as HTTP does (signature, claims, revocation, user state). */
  authenticate: (token: string) => Promise<Principal | null>;
  /** Makes the live provider stream a symbol until the release is called. */
  watchSymbol: (symbol: string) => () => void;
  portfolios: PortfolioSource;
  clock: Clock;
  logger: Logger;
  metrics: RealtimeMetrics;
  settings: RealtimeSettings;
  instance: string;
}

export interface ConnectionInfo {
  ip: string;
  userAgent: string | null;
}

interface Connection {
  readonly id: string;
  readonly ws: WebSocket;
  readonly info: ConnectionInfo;
  readonly openedAt: Date;
  principal: Principal | null;
  token: string | null;
  /** Registered in the registry (counts against the user's cap). */
  registered: boolean;
  seq: number;
  /** Channel name → what to undo when it is left. */
  subscriptions: Map<string, () => void>;
  tokens: number;
  refilledAt: number;
  invalid: number;
  alive: boolean;
  closing: boolean;
  /** Messages are handled one after another, so a `pong` confirms every earlier message. */
  queue: Promise<void>;
  authTimer?: NodeJS.Timeout;
  warnTimer?: NodeJS.Timeout;
  expireTimer?: NodeJS.Timeout;
}

interface PortfolioWatch {
  userId: string;
  portfolioId: string;
  channel: string;
  conns: Set<Connection>;
  /** Held symbols → the provider-stream release. */
  symbols: Map<string, () => void>;
  lastSent: number;
  timer: NodeJS.Timeout | undefined;
  running: boolean;
  pending: boolean;
}

/** A JWT-shaped value: three base64url parts, the first one a JSON header (`eyJ`). */
const JWT_SHAPE = /eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.?[A-Za-z0-9_-]*/;
const TOKEN_PARAMS = new Set(['token', 'access_token', 'accesstoken', 'jwt', 'id_token', 'auth', 'authorization', 'bearer']);

/** True when a query string carries anything that looks like a credential (FAIL-005). */
export function queryCarriesToken(query: string): boolean {
  if (query === '') return false;
  let params: URLSearchParams;
  try {
    params = new URLSearchParams(query);
  } catch {
    return true;
  }
  for (const [name, value] of params) {
    if (TOKEN_PARAMS.has(name.toLowerCase()) || JWT_SHAPE.test(value) || JWT_SHAPE.test(name)) return true;
  }
  return JWT_SHAPE.test(decodeURIComponentSafe(query));
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export function createRealtimeService(deps: RealtimeServiceDeps) {
  const { pubsub, registry, clock, logger, metrics, settings, instance } = deps;
  const connections = new Map<string, Connection>();
  const byUser = new Map<string, Set<Connection>>();
  const byChannel = new Map<string, Set<Connection>>();
  const portfolioWatches = new Map<string, PortfolioWatch>();
  const portfoliosBySymbol = new Map<string, Set<PortfolioWatch>>();
  const candles = createCandleBuilder();
  const unsubscribers: Array<() => Promise<void>> = [];
  let heartbeat: NodeJS.Timeout | undefined;
  let stopped = false;

  // --- sending -------------------------------------------------------------------------

  const nowIso = () => clock.now().toISOString();

  /** Closes a socket; the `close` event does the bookkeeping. */
  const closeWith = (conn: Connection, code: number, reason: string) => {
    if (conn.closing) return;
    conn.closing = true;
    try {
      conn.ws.close(code, reason);
    } catch {
      conn.ws.terminate();
    }
    // A peer that never answers the close handshake (or never reads) is cut off.
    setTimeout(() => conn.ws.terminate(), 5000).unref();
  };

  /**
   * Sends one serialised message (`{"type":…}`) with the connection's next sequence number.
   * `count` false: the caller (a fan-out) counts the messages it sent in one metric update.
   */
  const sendRaw = (conn: Connection, body: string, type: string, count = true): boolean => {
    if (conn.closing || conn.ws.readyState !== conn.ws.OPEN) {
      metrics.dropped('not_open', 1);
      return false;
    }
    const frame = `{"seq":${conn.seq + 1},${body.slice(1)}`;
    const buffered = conn.ws.bufferedAmount;
    if (buffered + Buffer.byteLength(frame) > settings.maxBufferedBytes) {
      metrics.dropped('slow_consumer', 1);
      metrics.slowConsumer();
      logger.warn(
        { event: 'ws_slow_consumer', connectionId: conn.id, userId: conn.principal?.userId, bufferedBytes: buffered, limit: settings.maxBufferedBytes },
        'closing a WebSocket whose client does not read',
      );
      closeWith(conn, CLOSE.tryAgainLater, 'slow consumer');
      return false;
    }
    conn.seq++;
    conn.ws.send(frame);
    if (count) metrics.sent(type, 1);
    return true;
  };

  const serialise = (type: string, fields: Record<string, unknown>, channel?: string) =>
    JSON.stringify({ type, ...(channel === undefined ? {} : { channel }), sent_at: nowIso(), ...fields });

  const send = (conn: Connection, type: string, fields: Record<string, unknown>, channel?: string) => sendRaw(conn, serialise(type, fields, channel), type);

  const sendError = (conn: Connection, code: string, message: string, extra: Record<string, unknown> = {}) =>
    send(conn, 'error', { code, message, ...extra });

  /** One serialisation, every local subscriber of `channel` (optionally filtered). */
  const fanOut = (channel: string, type: string, fields: Record<string, unknown>, only?: (conn: Connection) => boolean) => {
    const subscribers = byChannel.get(channel);
    if (subscribers === undefined || subscribers.size === 0) return;
    const body = serialise(type, fields, channel);
    let sent = 0;
    for (const conn of subscribers) if ((only === undefined || only(conn)) && sendRaw(conn, body, type, false)) sent++;
    if (sent > 0) metrics.sent(type, sent);
  };

  // --- subscriptions -------------------------------------------------------------------

  const entryOf = (conn: Connection): ConnectionEntry | null =>
    conn.principal === null
      ? null
      : {
          id: conn.id,
          user_id: conn.principal.userId,
          session_id: conn.principal.sessionId,
          opened_at: conn.openedAt.toISOString(),
          ip: conn.info.ip,
          user_agent: conn.info.userAgent,
          subscriptions: [...conn.subscriptions.keys()],
          instance,
        };

  const publishEntry = (conn: Connection) => {
    const entry = entryOf(conn);
    if (entry !== null && conn.registered) void registry.update(entry);
  };

  const joinChannel = (conn: Connection, channel: string) => {
    let set = byChannel.get(channel);
    if (set === undefined) {
      set = new Set();
      byChannel.set(channel, set);
    }
    set.add(conn);
  };
  const leaveChannel = (conn: Connection, channel: string) => {
    const set = byChannel.get(channel);
    set?.delete(conn);
    if (set?.size === 0) byChannel.delete(channel);
  };

  const portfolioMessage = async (watch: PortfolioWatch): Promise<void> => {
    const holdings = await deps.portfolios.holdings(watch.userId, watch.portfolioId);
    // Follow what the portfolio holds now: new positions start streaming, closed ones stop.
    const held = new Set(holdings.items.map((item) => item.symbol));
    for (const symbol of held) {
      if (watch.symbols.has(symbol)) continue;
      watch.symbols.set(symbol, deps.watchSymbol(symbol));
      let set = portfoliosBySymbol.get(symbol);
      if (set === undefined) {
        set = new Set();
        portfoliosBySymbol.set(symbol, set);
      }
      set.add(watch);
    }
    for (const [symbol, release] of watch.symbols) {
      if (held.has(symbol)) continue;
      release();
      watch.symbols.delete(symbol);
      portfoliosBySymbol.get(symbol)?.delete(watch);
    }
    if (watch.conns.size === 0) return;
    // Each position without its FIFO lots: lots grow with the portfolio's transactions (at
    // 50,000 the message was 10 MB, past WS_MAX_BUFFERED_BYTES, and its socket was closed as
    // a slow consumer), positions only with its symbols. GET …/holdings keeps the lots.
    let body = serialise('portfolio', { ...holdings, items: holdings.items.map(({ lots: _lots, ...position }) => position) }, watch.channel);
    // Positions grow with the symbols held: a message past a quarter of the send bound would
    // leave a reading client little room for anything else, so it carries the totals and how
    // many positions it leaves out, which GET …/holdings still lists.
    if (Buffer.byteLength(body) > settings.maxBufferedBytes / 4) {
      const { items, ...totals } = holdings;
      body = serialise('portfolio', { ...totals, items_omitted: items.length }, watch.channel);
    }
    let sent = 0;
    for (const conn of watch.conns) if (sendRaw(conn, body, 'portfolio', false)) sent++;
    if (sent > 0) metrics.sent('portfolio', sent);
  };

  const dropPortfolioWatch = (watch: PortfolioWatch) => {
    if (watch.timer !== undefined) clearTimeout(watch.timer);
    for (const [symbol, release] of watch.symbols) {
      release();
      const set = portfoliosBySymbol.get(symbol);
      set?.delete(watch);
      if (set?.size === 0) portfoliosBySymbol.delete(symbol);
    }
    watch.symbols.clear();
    portfolioWatches.delete(watch.portfolioId);
  };

  /** Revalues a portfolio now, or once the throttle allows (coalescing quotes meanwhile). */
  const schedulePortfolio = (watch: PortfolioWatch) => {
    if (watch.running || watch.timer !== undefined) {
      watch.pending = true;
      return;
    }
    const wait = watch.lastSent + settings.portfolioThrottleMs - Date.now();
    if (wait > 0) {
      watch.timer = setTimeout(() => {
        watch.timer = undefined;
        schedulePortfolio(watch);
      }, wait);
      watch.timer.unref();
      return;
    }
    watch.running = true;
    watch.pending = false;
    watch.lastSent = Date.now();
    portfolioMessage(watch)
      .catch((err: unknown) => {
        if (err instanceof AppError && err.status === 404) {
          // The portfolio was deleted: its subscribers hear so once, and the watch ends.
          for (const conn of watch.conns) {
            sendError(conn, 'not_found', 'The portfolio no longer exists.', { channel: watch.channel });
            conn.subscriptions.delete(watch.channel);
            leaveChannel(conn, watch.channel);
            publishEntry(conn);
          }
          watch.conns.clear();
          return;
        }
        logger.warn({ err, event: 'ws_portfolio_revalue_failed', portfolioId: watch.portfolioId }, 'could not revalue a portfolio for its subscribers');
      })
      .finally(() => {
        watch.running = false;
        if (watch.conns.size === 0) dropPortfolioWatch(watch);
        else if (watch.pending) schedulePortfolio(watch);
      });
  };

  /** Subscribes; resolves to an error code when refused. */
  const subscribe = async (conn: Connection, channel: Channel): Promise<{ code: string; message: string } | null> => {
    const principal = conn.principal;
    if (principal === null) return { code: 'not_authenticated', message: 'Authenticate first.' };
    if (conn.subscriptions.has(channel.name)) return null;
    if (conn.subscriptions.size >= settings.maxSubscriptions) {
      return { code: 'subscription_limit', message: `A connection holds at most ${settings.maxSubscriptions} subscriptions.` };
    }
    switch (channel.kind) {
      case 'quotes':
      case 'candles': {
        const release = deps.watchSymbol(channel.symbol);
        if (channel.kind === 'candles') candles.watch(channel.symbol, channel.interval);
        conn.subscriptions.set(channel.name, () => {
          release();
          if (channel.kind === 'candles') candles.unwatch(channel.symbol, channel.interval);
        });
        break;
      }
      case 'alerts':
      case 'news':
        conn.subscriptions.set(channel.name, () => undefined);
        break;
      case 'portfolio': {
        let watch = portfolioWatches.get(channel.portfolioId);
        if (watch === undefined || watch.userId !== principal.userId) {
          // Ownership is checked on every subscribe: a foreign or unknown id is the same `not_found` (FAIL-013).
          try {
            await deps.portfolios.holdings(principal.userId, channel.portfolioId);
          } catch (err) {
            if (err instanceof AppError && err.status === 404) return { code: 'not_found', message: 'No such portfolio.' };
            throw err;
          }
          if (conn.closing) return null;
          watch = portfolioWatches.get(channel.portfolioId);
          if (watch === undefined) {
            watch = {
              userId: principal.userId,
              portfolioId: channel.portfolioId,
              channel: channel.name,
              conns: new Set(),
              symbols: new Map(),
              lastSent: 0,
              timer: undefined,
              running: false,
              pending: false,
            };
            portfolioWatches.set(channel.portfolioId, watch);
          }
        }
        const target = watch;
        target.conns.add(conn);
        conn.subscriptions.set(channel.name, () => {
          target.conns.delete(conn);
          if (target.conns.size === 0 && !target.running) dropPortfolioWatch(target);
        });
        // The current value right away, then on every quote of a held symbol.
        schedulePortfolio(target);
        break;
      }
    }
    joinChannel(conn, channel.name);
    return null;
  };

  const unsubscribe = (conn: Connection, name: string) => {
    const undo = conn.subscriptions.get(name);
    if (undo === undefined) return;
    conn.subscriptions.delete(name);
    leaveChannel(conn, name);
    undo();
  };

  // --- authentication and expiry ---------------------------------------------------------

  const clearExpiry = (conn: Connection) => {
    if (conn.warnTimer !== undefined) clearTimeout(conn.warnTimer);
    if (conn.expireTimer !== undefined) clearTimeout(conn.expireTimer);
    conn.warnTimer = undefined;
    conn.expireTimer = undefined;
  };

  const scheduleExpiry = (conn: Connection, expiresAt: Date) => {
    clearExpiry(conn);
    const left = expiresAt.getTime() - clock.now().getTime();
    const warnIn = left - settings.expiryWarningSeconds * 1000;
    const warn = () => send(conn, 'token_expiring', { expires_at: expiresAt.toISOString() });
    if (warnIn <= 0) warn();
    else conn.warnTimer = setTimeout(warn, warnIn);
    conn.expireTimer = setTimeout(() => closeWith(conn, CLOSE.unauthorized, 'token expired'), Math.max(0, left));
  };

  /** A verified principal for this socket: first authentication, or an in-band renewal. */
  const establish = async (conn: Connection, principal: Principal, token: string, id?: string): Promise<void> => {
    if (conn.principal !== null) {
      if (conn.principal.userId !== principal.userId) {
        sendError(conn, 'wrong_user', 'A socket stays with the user it was opened for.', id === undefined ? {} : { id });
        return;
      }
      conn.principal = principal;
      conn.token = token;
      scheduleExpiry(conn, principal.tokenExpiresAt);
      send(conn, 'ready', { connection_id: conn.id, expires_at: principal.tokenExpiresAt.toISOString(), ...(id === undefined ? {} : { id }) });
      publishEntry(conn);
      return;
    }
    if (conn.authTimer !== undefined) clearTimeout(conn.authTimer);
    conn.principal = principal;
    conn.token = token;
    const entry = entryOf(conn);
    if (entry === null) return;
    const admitted = await registry.add(entry, settings.connectionsPerTier[principal.tier]);
    if (conn.closing) {
      // Closed while the registry answered: undo the admission.
      if (admitted) await registry.remove(principal.userId, conn.id);
      return;
    }
    if (!admitted) {
      logger.info({ event: 'ws_connection_cap', userId: principal.userId, cap: settings.connectionsPerTier[principal.tier] }, 'WebSocket refused: connection cap of the tier reached');
      closeWith(conn, CLOSE.tooMany, 'connection limit reached');
      return;
    }
    conn.registered = true;
    let mine = byUser.get(principal.userId);
    if (mine === undefined) {
      mine = new Set();
      byUser.set(principal.userId, mine);
    }
    mine.add(conn);
    send(conn, 'ready', { connection_id: conn.id, expires_at: principal.tokenExpiresAt.toISOString(), ...(id === undefined ? {} : { id }) });
    scheduleExpiry(conn, principal.tokenExpiresAt);
  };

  // --- inbound messages ------------------------------------------------------------------

  const invalid = (conn: Connection, code: string, message: string, id?: string) => {
    conn.invalid++;
    if (conn.invalid >= settings.maxInvalidMessages) {
      closeWith(conn, CLOSE.invalidMessages, 'too many invalid messages');
      return;
    }
    sendError(conn, code, message, id === undefined ? {} : { id });
  };

  const handle = async (conn: Connection, message: ClientMessage): Promise<void> => {
    const id = message.id;
    const echo = id === undefined ? {} : { id };
    switch (message.type) {
      case 'auth': {
        const principal = await deps.authenticate(message.token);
        if (conn.closing) return;
        if (principal === null) {
          if (conn.principal === null) closeWith(conn, CLOSE.unauthorized, 'authentication failed');
          else sendError(conn, 'authentication_failed', 'The token is invalid, expired or revoked; the socket keeps its current one.', echo);
          return;
        }
        await establish(conn, principal, message.token, id);
        return;
      }
      case 'ping':
        send(conn, 'pong', echo);
        return;
      case 'subscribe':
      case 'unsubscribe': {
        if (conn.principal === null) {
          invalid(conn, 'not_authenticated', 'Send {"type":"auth","token":…} first.', id);
          return;
        }
        const parsed: Channel[] = [];
        for (const name of message.channels) {
          const channel = parseChannel(name);
          if (channel === null) {
            invalid(conn, 'unknown_channel', `"${name.slice(0, 64)}" is not a channel (quotes:<SYMBOL>, candles:<SYMBOL>:<interval>, portfolio:<id>, alerts, news:<SYMBOL>).`, id);
            return;
          }
          parsed.push(channel);
        }
        if (message.type === 'unsubscribe') {
          for (const channel of parsed) unsubscribe(conn, channel.name);
        } else {
          for (const channel of parsed) {
            const refused = await subscribe(conn, channel);
            if (refused !== null) sendError(conn, refused.code, refused.message, { channel: channel.name, ...echo });
          }
        }
        publishEntry(conn);
        return;
      }
    }
  };

  /** Token bucket: `messagesPerSecond` sustained, `messageBurst` at once. */
  const withinRate = (conn: Connection): boolean => {
    const now = performance.now();
    conn.tokens = Math.min(settings.messageBurst, conn.tokens + ((now - conn.refilledAt) * settings.messagesPerSecond) / 1000);
    conn.refilledAt = now;
    if (conn.tokens < 1) return false;
    conn.tokens -= 1;
    return true;
  };

  const onMessage = (conn: Connection, data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
    if (conn.closing) return;
    if (!withinRate(conn)) {
      logger.info({ event: 'ws_rate_limited', connectionId: conn.id, userId: conn.principal?.userId }, 'closing a WebSocket over its message rate');
      closeWith(conn, CLOSE.tooMany, 'message rate exceeded');
      return;
    }
    if (isBinary) {
      invalid(conn, 'invalid_message', 'Messages are JSON text frames.');
      return;
    }
    const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      invalid(conn, 'invalid_json', 'The message is not JSON.');
      return;
    }
    if (!isClientMessage(parsed)) {
      const id = typeof parsed === 'object' && parsed !== null && typeof (parsed as { id?: unknown }).id === 'string' ? (parsed as { id: string }).id.slice(0, 64) : undefined;
      invalid(conn, 'invalid_message', 'Expected {"type":"auth"|"subscribe"|"unsubscribe"|"ping", …} as documented.', id);
      return;
    }
    const message = parsed;
    conn.queue = conn.queue
      .then(() => handle(conn, message))
      .catch((err: unknown) => {
        logger.error({ err, event: 'ws_message_failed', connectionId: conn.id }, 'a WebSocket message failed');
        if (!conn.closing) sendError(conn, 'internal_error', 'The message could not be handled.');
      });
  };

  const onClose = (conn: Connection, code: number) => {
    if (!connections.delete(conn.id)) return;
    conn.closing = true;
    if (conn.authTimer !== undefined) clearTimeout(conn.authTimer);
    clearExpiry(conn);
    for (const name of [...conn.subscriptions.keys()]) unsubscribe(conn, name);
    if (conn.principal !== null) {
      const mine = byUser.get(conn.principal.userId);
      mine?.delete(conn);
      if (mine?.size === 0) byUser.delete(conn.principal.userId);
      if (conn.registered) void registry.remove(conn.principal.userId, conn.id);
    }
    metrics.closed(code);
  };

  // --- bus events ------------------------------------------------------------------------

  const str = (value: unknown): value is string => typeof value === 'string';

  const onQuote = (message: unknown) => {
    const q = message as Record<string, unknown> | null;
    if (q === null || typeof q !== 'object' || !str(q.symbol) || !str(q.price) || !str(q.as_of)) return;
    const symbol = q.symbol;
    fanOut(`quotes:${symbol}`, 'quote', {
      symbol,
      price: q.price,
      previous_close: str(q.previous_close) ? q.previous_close : null,
      as_of: q.as_of,
      source: str(q.source) ? q.source : null,
    });
    for (const bar of candles.update(symbol, q.price, str(q.volume) ? q.volume : '0', new Date(q.as_of))) {
      fanOut(`candles:${symbol}:${bar.interval}`, 'candle', { symbol, interval: bar.interval, ts: bar.ts, open: bar.open, high: bar.high, low: bar.low, close: bar.close, volume: bar.volume });
    }
    const watches = portfoliosBySymbol.get(symbol);
    if (watches !== undefined) for (const watch of watches) schedulePortfolio(watch);
  };

  const onAlert = (message: unknown) => {
    const m = message as { user_id?: unknown; event?: unknown } | null;
    if (m === null || typeof m !== 'object' || !str(m.user_id) || typeof m.event !== 'object' || m.event === null) return;
    const userId = m.user_id;
    const mine = byUser.get(userId);
    if (mine === undefined) return;
    fanOut('alerts', 'alert', m.event as Record<string, unknown>, (conn) => conn.principal?.userId === userId);
  };

  const onNews = (message: unknown) => {
    const m = message as { symbol?: unknown; item?: unknown } | null;
    if (m === null || typeof m !== 'object' || !str(m.symbol) || typeof m.item !== 'object' || m.item === null) return;
    fanOut(`news:${m.symbol}`, 'news', { symbol: m.symbol, ...(m.item as Record<string, unknown>) });
  };

  const onRevoked = (message: unknown) => {
    const m = message as { user_id?: unknown; session_id?: unknown } | null;
    if (m === null || typeof m !== 'object' || !str(m.user_id)) return;
    const sessionId = str(m.session_id) ? m.session_id : null;
    for (const conn of [...(byUser.get(m.user_id) ?? [])]) {
      if (sessionId === null || conn.principal?.sessionId === sessionId) closeWith(conn, CLOSE.unauthorized, 'session revoked');
    }
  };

  const onControl = (message: unknown) => {
    const m = message as { kind?: unknown; connection_id?: unknown; user_id?: unknown } | null;
    if (m === null || typeof m !== 'object' || m.kind !== 'close' || !str(m.connection_id)) return;
    const conn = connections.get(m.connection_id);
    if (conn !== undefined && conn.principal?.userId === m.user_id) closeWith(conn, CLOSE.closedByUser, 'closed by the user');
  };

  // --- heartbeat -------------------------------------------------------------------------

  /** Sockets handled per slice of a heartbeat, so a beat over many sockets never blocks the loop for long. */
  const BEAT_SLICE = 1000;

  const beat = async () => {
    const entries: ConnectionEntry[] = [];
    // One verification per distinct token per beat (a user's sockets often share one).
    const verified = new Map<string, Promise<Principal | null>>();
    const all = [...connections.values()];
    for (let start = 0; start < all.length; start += BEAT_SLICE) {
      if (start > 0) await new Promise((resolve) => setImmediate(resolve));
      for (const conn of all.slice(start, start + BEAT_SLICE)) {
        if (conn.closing) continue;
        if (!conn.alive) {
          logger.info({ event: 'ws_dead_peer', connectionId: conn.id }, 'dropping a WebSocket that missed its heartbeat');
          conn.ws.terminate();
          continue;
        }
        conn.alive = false;
        conn.ws.ping();
        const entry = entryOf(conn);
        if (entry !== null && conn.registered) entries.push(entry);
        // Re-verify the token: a revocation this instance missed (Redis down) or a disabled account still closes it.
        const { token } = conn;
        if (token === null) continue;
        let check = verified.get(token);
        if (check === undefined) {
          check = deps.authenticate(token);
          verified.set(token, check);
        }
        check.then(
          (principal) => {
            if (principal === null && !conn.closing && conn.token === token) closeWith(conn, CLOSE.unauthorized, 'token no longer valid');
          },
          (err: unknown) => logger.warn({ err, event: 'ws_reverify_failed' }, 'could not re-verify a WebSocket token'),
        );
      }
    }
    await registry.refresh(entries);
  };

  return {
    /** Subscribes to the bus and starts the heartbeat. */
    async start(): Promise<void> {
      unsubscribers.push(
        await pubsub.subscribe(QUOTE_CHANNEL, onQuote),
        await pubsub.subscribe(ALERTS_CHANNEL, onAlert),
        await pubsub.subscribe(NEWS_CHANNEL, onNews),
        await pubsub.subscribe(REVOKED_CHANNEL, onRevoked),
        await pubsub.subscribe(CONTROL_CHANNEL, onControl),
      );
      heartbeat = setInterval(() => {
        beat().catch((err: unknown) => logger.warn({ err, event: 'ws_heartbeat_failed' }, 'WebSocket heartbeat failed'));
      }, settings.heartbeatMs);
      heartbeat.unref();
    },

    /** A new socket; `principal` when the upgrade carried a valid bearer token. */
    accept(ws: WebSocket, info: ConnectionInfo, auth: { principal: Principal; token: string } | null): void {
      const conn: Connection = {
        id: randomUUID(),
        ws,
        info,
        openedAt: clock.now(),
        principal: null,
        token: null,
        registered: false,
        seq: 0,
        subscriptions: new Map(),
        tokens: settings.messageBurst,
        refilledAt: performance.now(),
        invalid: 0,
        alive: true,
        closing: false,
        queue: Promise.resolve(),
      };
      if (stopped) {
        ws.close(CLOSE.goingAway, 'server shutting down');
        return;
      }
      connections.set(conn.id, conn);
      metrics.opened();
      ws.on('message', (data, isBinary) => onMessage(conn, data, isBinary));
      ws.on('pong', () => {
        conn.alive = true;
      });
      ws.on('close', (code) => onClose(conn, code));
      ws.on('error', (err) => logger.info({ err, event: 'ws_socket_error', connectionId: conn.id }, 'WebSocket error'));
      if (auth === null) {
        conn.authTimer = setTimeout(() => {
          if (conn.principal === null) closeWith(conn, CLOSE.authTimeout, 'authentication timeout');
        }, settings.authTimeoutMs);
        return;
      }
      conn.queue = establish(conn, auth.principal, auth.token).catch((err: unknown) => {
        logger.error({ err, event: 'ws_accept_failed', connectionId: conn.id }, 'could not admit a WebSocket');
        closeWith(conn, 1011, 'internal error');
      });
    },

    /** The caller's sockets on every instance. */
    list: (userId: string) => registry.list(userId),

    /** Closes one of the caller's sockets wherever it is (4000); false when the user has no such socket. */
    async closeConnection(userId: string, connectionId: string): Promise<boolean> {
      const found = (await registry.list(userId)).some((entry) => entry.id === connectionId);
      const local = connections.get(connectionId);
      if (local !== undefined && local.principal?.userId === userId) {
        closeWith(local, CLOSE.closedByUser, 'closed by the user');
        return true;
      }
      if (!found) return false;
      await pubsub.publish(CONTROL_CHANNEL, { kind: 'close', connection_id: connectionId, user_id: userId });
      return true;
    },

    /** Open sockets on this instance (metrics, tests). */
    openCount: () => connections.size,

    /** Closes every socket with 1001 and waits (at most `waitMs`) for them to go. */
    async stop(waitMs: number): Promise<void> {
      stopped = true;
      if (heartbeat !== undefined) clearInterval(heartbeat);
      for (const conn of connections.values()) closeWith(conn, CLOSE.goingAway, 'server shutting down');
      const deadline = Date.now() + waitMs;
      while (connections.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      for (const conn of connections.values()) conn.ws.terminate();
      for (const unsubscribe of unsubscribers.splice(0)) await unsubscribe().catch(() => undefined);
      for (const watch of [...portfolioWatches.values()]) dropPortfolioWatch(watch);
    },
  };
}

export type RealtimeService = ReturnType<typeof createRealtimeService>;
