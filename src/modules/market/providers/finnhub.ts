// Finnhub (https://finnhub.io/docs/api): /quote, /search, /stock/profile2,
// /company-news, /stock/candle (premium-only on free keys: a 403 there is reported as
// `premium_only` and never retried) and the trade WebSocket for live prices. The key
// travels only in the X-Finnhub-Token header, never in a URL that could be logged.
// Numbers are read from their JSON text, never via floats (FAIL-002).
import { WebSocket } from 'ws';
import { ProviderError, type HttpClient } from '../../../platform/http-client.ts';
import type { Logger } from '../../../platform/logger.ts';
import { fieldReader, JsonNumber, parseProviderJson } from './json.ts';
import type { Bar, BarInterval, CompanyProfile, MarketDataProvider, NewsItem, ProviderQuote, SearchResult, Trade, TradeStream } from './provider.ts';

const NAME = 'finnhub';
const read = fieldReader(NAME);

/** Trade stream reconnects: the first after STREAM_BACKOFF_MIN_MS, doubling up to the max. */
export const STREAM_BACKOFF_MIN_MS = 500;
export const STREAM_BACKOFF_MAX_MS = 30_000;
/** A trade stream connection open this long counts as healthy even if it was quiet. */
export const STREAM_STABLE_MS = 30_000;

function isoDate(d: Date): string {
  return d.toISOString().slice(0, 10);
}

function seconds(d: Date): string {
  return String(Math.floor(d.getTime() / 1000));
}

export interface FinnhubProviderOptions {
  client: HttpClient;
  logger: Logger;
  apiKey: string;
  /** wss://ws.finnhub.io in production; tests point it at a local server. */
  websocketUrl: string;
  /** Largest trade-stream message taken, bytes (PROVIDER_MAX_RESPONSE_BYTES; 2 MiB by default). */
  maxMessageBytes?: number;
  /** How long the trade stream's upgrade may take before it is abandoned, ms. */
  handshakeTimeoutMs?: number;
}

export function createFinnhubProvider(options: FinnhubProviderOptions): MarketDataProvider {
  const { client, logger } = options;

  /** GETs JSON and reads it with `interpret` inside the client's breaker, so a bad answer counts as a fault. */
  const getJson = <T>(path: string, query: Record<string, string>, interpret: (body: unknown) => T): Promise<T> =>
    client.get(path, query, (response) => interpret(parseProviderJson(NAME, response.text)));

  const quote = (symbol: string): Promise<ProviderQuote | null> =>
    getJson('/quote', { symbol }, (json) => {
      const body = read.record(json, 'quote');
      // Finnhub answers an unknown symbol with every field 0 (or null): "not found", not a price of 0.
      const fields = ['c', 'pc', 't'].map((k) => body[k]);
      if (fields.every((v) => v === null || v === undefined || read.isZero(v))) return null;
      if (read.isZero(body.c)) return null;
      const t = read.integer(body.t, 'quote.t');
      return {
        symbol,
        price: read.price(body.c, 'quote.c'),
        previous_close: body.pc === null || body.pc === undefined || read.isZero(body.pc) ? null : read.price(body.pc, 'quote.pc'),
        as_of: new Date(t * 1000),
        source: NAME,
      };
    });

  const history = async (symbol: string, interval: BarInterval, from: Date, to: Date): Promise<Bar[]> => {
    const readBars = (json: unknown): Bar[] => {
      const body = read.record(json, 'candle');
      if (body.s === 'no_data') return [];
      if (body.s !== 'ok') throw read.bad('candle.s', `is "${String(body.s)}"`);
      const [t, o, h, l, c, v] = ['t', 'o', 'h', 'l', 'c', 'v'].map((k) => read.array(body[k], `candle.${k}`)) as [unknown[], unknown[], unknown[], unknown[], unknown[], unknown[]];
      const bars: Bar[] = [];
      for (let i = 0; i < t.length; i++) {
        const ts = new Date(read.integer(t[i], `candle.t[${i}]`) * 1000);
        bars.push({
          ts: interval === '1d' ? new Date(Date.UTC(ts.getUTCFullYear(), ts.getUTCMonth(), ts.getUTCDate())) : ts,
          ...read.bar({ open: o[i], high: h[i], low: l[i], close: c[i], volume: v[i] }, `candle[${i}]`),
        });
      }
      return bars;
    };
    try {
      return await getJson('/stock/candle', { symbol, resolution: interval === '1d' ? 'D' : '1', from: seconds(from), to: seconds(to) }, readBars);
    } catch (err) {
      if (err instanceof ProviderError && err.kind === 'http' && err.status === 403) {
        throw new ProviderError(NAME, 'premium_only', '/stock/candle is premium-only for this API key; use the yahoo history provider or a CSV import', {
          status: 403,
          cause: err,
        });
      }
      throw err;
    }
  };

  const search = (query: string): Promise<SearchResult[]> =>
    getJson('/search', { q: query }, (json) => {
      const body = read.record(json, 'search');
      return read.array(body.result, 'search.result').map((item, i) => {
        const r = read.record(item, `search.result[${i}]`);
        return {
          symbol: read.string(r.symbol, `search.result[${i}].symbol`),
          name: read.optionalString(r.description) ?? read.string(r.symbol, 'symbol'),
          type: read.optionalString(r.type),
          exchange: null,
          source: NAME,
        };
      });
    });

  const profile = (symbol: string): Promise<CompanyProfile | null> =>
    getJson('/stock/profile2', { symbol }, (json) => {
      const body = read.record(json, 'profile2');
      // An unknown symbol is answered with an empty object.
      if (read.optionalString(body.name) === null && read.optionalString(body.ticker) === null) return null;
      return {
        symbol,
        name: read.optionalString(body.name) ?? symbol,
        exchange: read.optionalString(body.exchange),
        currency: read.optionalString(body.currency),
        country: read.optionalString(body.country),
        industry: read.optionalString(body.finnhubIndustry),
        website: read.optionalString(body.weburl),
        logo: read.optionalString(body.logo),
        ipo: read.optionalString(body.ipo),
        market_cap: read.optionalDecimal(body.marketCapitalization, 'profile2.marketCapitalization'),
        source: NAME,
      };
    });

  const news = (symbol: string, from: Date, to: Date): Promise<NewsItem[]> =>
    getJson('/company-news', { symbol, from: isoDate(from), to: isoDate(to) }, (json) => {
      const body = read.array(json, 'company-news');
      return body.map((item, i) => {
        const r = read.record(item, `company-news[${i}]`);
        const id = r.id instanceof JsonNumber ? r.id.source : read.string(r.id, `company-news[${i}].id`);
        return {
          id,
          symbol,
          headline: read.string(r.headline, `company-news[${i}].headline`),
          summary: read.optionalString(r.summary) ?? '',
          publisher: read.optionalString(r.source),
          url: read.optionalString(r.url),
          image_url: read.optionalString(r.image),
          published_at: new Date(read.integer(r.datetime, `company-news[${i}].datetime`) * 1000),
          source: NAME,
        };
      });
    });

  /**
   * The trade WebSocket: `{"type":"subscribe","symbol":"AAPL"}` in, `{"type":"trade",
   * "data":[{"s","p","t","v"}]}` out. Reconnects with capped exponential backoff and
   * re-subscribes; the key goes in the X-Finnhub-Token header of the upgrade request.
   * The backoff starts over only after a connection proved healthy (a well-formed
   * message, or STREAM_STABLE_MS open): a server that accepts and then fails at once
   * (garbage, an abrupt close, a reset) is retried ever more slowly, up to the cap, not
   * every 500 ms. A socket error, a failed or slow handshake, a frame over
   * maxMessageBytes or a constructor that throws ends in the same scheduled reconnect;
   * nothing here can throw out of a timer or emit an unhandled 'error'.
   */
  const streamTrades = (onTrade: (trade: Trade) => void): TradeStream => {
    const symbols = new Set<string>();
    let socket: WebSocket | undefined;
    let closed = false;
    let attempt = 0;
    let timer: NodeJS.Timeout | undefined;

    const send = (type: 'subscribe' | 'unsubscribe', symbol: string) => {
      if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type, symbol }));
    };
    const reconnectLater = () => {
      if (closed) return;
      const delay = Math.min(STREAM_BACKOFF_MAX_MS, STREAM_BACKOFF_MIN_MS * 2 ** Math.min(attempt, 6));
      attempt++;
      logger.warn({ event: 'provider_stream_closed', provider: NAME, retryInMs: delay }, 'finnhub trade stream closed; reconnecting');
      timer = setTimeout(connect, delay);
      timer.unref();
    };
    const connect = () => {
      if (closed) return;
      let ws: WebSocket;
      try {
        // The `ws` client, not Node's WebSocket: it refuses a frame longer than maxPayload
        // from its header (close 1009) instead of buffering it whole, and it bounds the
        // handshake, so a hostile or stuck server costs neither memory nor the stream.
        ws = new WebSocket(options.websocketUrl, {
          headers: { 'x-finnhub-token': options.apiKey },
          maxPayload: options.maxMessageBytes ?? 2 * 1024 * 1024,
          handshakeTimeout: options.handshakeTimeoutMs ?? 10_000,
        });
      } catch (err) {
        logger.warn({ err, event: 'provider_stream_error', provider: NAME }, 'finnhub trade stream could not be opened');
        reconnectLater();
        return;
      }
      socket = ws;
      let openedAt: number | undefined;
      // A refused or failed upgrade, an oversized frame, a protocol error, a reset: `ws`
      // emits 'error' (which must be listened for, or it would be an uncaught exception),
      // then 'close', which schedules the reconnect.
      ws.on('error', (err: Error) => {
        logger.warn({ err: { type: err.name, message: err.message }, event: 'provider_stream_error', provider: NAME }, 'finnhub trade stream failed');
        // Not the closing handshake `ws` would otherwise wait up to 30 s for: a server
        // that sent garbage is cut off now, and the reconnect is scheduled at once.
        if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CLOSING) ws.terminate();
      });
      ws.on('open', () => {
        openedAt = performance.now();
        logger.info({ event: 'provider_stream_open', provider: NAME, symbols: symbols.size }, 'finnhub trade stream connected');
        for (const symbol of symbols) send('subscribe', symbol);
      });
      ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
        if (isBinary) return;
        const text = Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8');
        let message: unknown;
        try {
          message = parseProviderJson(NAME, text);
        } catch (err) {
          logger.warn({ err, event: 'provider_stream_bad_message', provider: NAME }, 'ignored a malformed stream message');
          return;
        }
        attempt = 0; // a well-formed message: the connection works
        const body = message as Record<string, unknown>;
        if (body.type !== 'trade' || !Array.isArray(body.data)) return;
        for (const item of body.data as unknown[]) {
          try {
            const r = read.record(item, 'trade');
            onTrade({
              symbol: read.string(r.s, 'trade.s'),
              price: read.price(r.p, 'trade.p'),
              volume: read.nonNegative(r.v, 'trade.v'),
              at: new Date(read.integer(r.t, 'trade.t')),
              source: NAME,
            });
          } catch (err) {
            logger.warn({ err, event: 'provider_stream_bad_message', provider: NAME }, 'ignored a malformed trade');
          }
        }
      });
      ws.on('close', () => {
        if (openedAt !== undefined && performance.now() - openedAt >= STREAM_STABLE_MS) attempt = 0;
        reconnectLater();
      });
    };
    connect();
    return {
      subscribe(symbol) {
        if (symbols.has(symbol)) return;
        symbols.add(symbol);
        send('subscribe', symbol);
      },
      unsubscribe(symbol) {
        if (!symbols.delete(symbol)) return;
        send('unsubscribe', symbol);
      },
      close() {
        closed = true;
        if (timer !== undefined) clearTimeout(timer);
        socket?.close();
      },
    };
  };

  return { name: NAME, quote, history, search, profile, news, streamTrades, breakerState: client.breakerState };
}
