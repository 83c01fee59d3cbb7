// Finnhub (https://finnhub.io/docs/api): /quote, /search, /stock/profile2,
// /company-news, /stock/candle (premium-only on free keys: a 403 there is reported as
// `premium_only` and never retried) and the trade WebSocket for live prices. The key
// travels only in the X-Finnhub-Token header, never in a URL that could be logged.
// Numbers are read from their JSON text, never via floats (FAIL-002).
import { ProviderError, type HttpClient } from '../../../platform/http-client.ts';
import type { Logger } from '../../../platform/logger.ts';
import { fieldReader, JsonNumber, parseProviderJson } from './json.ts';
import type { Bar, BarInterval, CompanyProfile, MarketDataProvider, NewsItem, ProviderQuote, SearchResult, Trade, TradeStream } from './provider.ts';

const NAME = 'finnhub';
const read = fieldReader(NAME);

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
}

export function createFinnhubProvider(options: FinnhubProviderOptions): MarketDataProvider {
  const { client, logger } = options;

  const getJson = async (path: string, query: Record<string, string>): Promise<unknown> => {
    const response = await client.get(path, query);
    return parseProviderJson(NAME, response.text);
  };

  const quote = async (symbol: string): Promise<ProviderQuote | null> => {
    const body = read.record(await getJson('/quote', { symbol }), 'quote');
    // Finnhub answers an unknown symbol with every field 0 (or null): "not found", not a price of 0.
    const fields = ['c', 'pc', 't'].map((k) => body[k]);
    if (fields.every((v) => v === null || v === undefined || read.isZero(v))) return null;
    if (read.isZero(body.c)) return null;
    const t = read.integer(body.t, 'quote.t');
    return {
      symbol,
      price: read.decimal(body.c, 'quote.c'),
      previous_close: body.pc === null || body.pc === undefined || read.isZero(body.pc) ? null : read.decimal(body.pc, 'quote.pc'),
      as_of: new Date(t * 1000),
      source: NAME,
    };
  };

  const history = async (symbol: string, interval: BarInterval, from: Date, to: Date): Promise<Bar[]> => {
    let body: Record<string, unknown>;
    try {
      body = read.record(
        await getJson('/stock/candle', { symbol, resolution: interval === '1d' ? 'D' : '1', from: seconds(from), to: seconds(to) }),
        'candle',
      );
    } catch (err) {
      if (err instanceof ProviderError && err.kind === 'http' && err.status === 403) {
        throw new ProviderError(NAME, 'premium_only', '/stock/candle is premium-only for this API key; use the yahoo history provider or a CSV import', {
          status: 403,
          cause: err,
        });
      }
      throw err;
    }
    if (body.s === 'no_data') return [];
    if (body.s !== 'ok') throw read.bad('candle.s', `is "${String(body.s)}"`);
    const [t, o, h, l, c, v] = ['t', 'o', 'h', 'l', 'c', 'v'].map((k) => read.array(body[k], `candle.${k}`)) as [unknown[], unknown[], unknown[], unknown[], unknown[], unknown[]];
    const bars: Bar[] = [];
    for (let i = 0; i < t.length; i++) {
      const ts = new Date(read.integer(t[i], `candle.t[${i}]`) * 1000);
      bars.push({
        ts: interval === '1d' ? new Date(Date.UTC(ts.getUTCFullYear(), ts.getUTCMonth(), ts.getUTCDate())) : ts,
        open: read.decimal(o[i], `candle.o[${i}]`),
        high: read.decimal(h[i], `candle.h[${i}]`),
        low: read.decimal(l[i], `candle.l[${i}]`),
        close: read.decimal(c[i], `candle.c[${i}]`),
        volume: read.decimal(v[i], `candle.v[${i}]`),
      });
    }
    return bars;
  };

  const search = async (query: string): Promise<SearchResult[]> => {
    const body = read.record(await getJson('/search', { q: query }), 'search');
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
  };

  const profile = async (symbol: string): Promise<CompanyProfile | null> => {
    const body = read.record(await getJson('/stock/profile2', { symbol }), 'profile2');
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
  };

  const news = async (symbol: string, from: Date, to: Date): Promise<NewsItem[]> => {
    const body = read.array(await getJson('/company-news', { symbol, from: isoDate(from), to: isoDate(to) }), 'company-news');
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
        published_at: new Date(read.integer(r.datetime, `company-news[${i}].datetime`) * 1000),
        source: NAME,
      };
    });
  };

  /**
   * The trade WebSocket: `{"type":"subscribe","symbol":"AAPL"}` in, `{"type":"trade",
   * "data":[{"s","p","t","v"}]}` out. Reconnects with capped exponential backoff and
   * re-subscribes; the key goes in the X-Finnhub-Token header of the upgrade request.
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
    const connect = () => {
      if (closed) return;
      // Node's WebSocket (undici) accepts headers in its init object.
      const ws = new WebSocket(options.websocketUrl, { headers: { 'x-finnhub-token': options.apiKey } });
      socket = ws;
      ws.addEventListener('open', () => {
        attempt = 0;
        logger.info({ event: 'provider_stream_open', provider: NAME, symbols: symbols.size }, 'finnhub trade stream connected');
        for (const symbol of symbols) send('subscribe', symbol);
      });
      ws.addEventListener('message', (event: MessageEvent) => {
        if (typeof event.data !== 'string') return;
        let message: unknown;
        try {
          message = parseProviderJson(NAME, event.data);
        } catch (err) {
          logger.warn({ err, event: 'provider_stream_bad_message', provider: NAME }, 'ignored a malformed stream message');
          return;
        }
        const body = message as Record<string, unknown>;
        if (body.type !== 'trade' || !Array.isArray(body.data)) return;
        for (const item of body.data as unknown[]) {
          try {
            const r = read.record(item, 'trade');
            onTrade({
              symbol: read.string(r.s, 'trade.s'),
              price: read.decimal(r.p, 'trade.p'),
              volume: read.decimal(r.v, 'trade.v'),
              at: new Date(read.integer(r.t, 'trade.t')),
              source: NAME,
            });
          } catch (err) {
            logger.warn({ err, event: 'provider_stream_bad_message', provider: NAME }, 'ignored a malformed trade');
          }
        }
      });
      ws.addEventListener('close', () => {
        if (closed) return;
        const delay = Math.min(30_000, 500 * 2 ** Math.min(attempt, 6));
        attempt++;
        logger.warn({ event: 'provider_stream_closed', provider: NAME, retryInMs: delay }, 'finnhub trade stream closed; reconnecting');
        timer = setTimeout(connect, delay);
        timer.unref();
      });
      ws.addEventListener('error', () => {
        // The close event follows and schedules the reconnect.
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
