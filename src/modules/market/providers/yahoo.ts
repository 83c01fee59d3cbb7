// Yahoo Finance's chart API (`/v8/finance/chart/<symbol>`): daily history, so users
// without a paid Finnhub plan still get candles, and a quote from the chart's meta
// block. No key. Numbers are read from their JSON text (FAIL-002); days whose values are
// null (holidays, halts) are skipped.
import { ProviderError, type HttpClient } from '../../../platform/http-client.ts';
import { fieldReader, parseProviderJson } from './json.ts';
import type { Bar, BarInterval, MarketDataProvider, ProviderQuote } from './provider.ts';

const NAME = 'yahoo';
const read = fieldReader(NAME);

export interface YahooProviderOptions {
  client: HttpClient;
}

export function createYahooProvider(options: YahooProviderOptions): MarketDataProvider {
  const { client } = options;

  /**
   * What `interpret` makes of the chart's first result (null when Yahoo does not know the
   * symbol). It runs inside the client's breaker, so a bad answer counts as a fault.
   */
  const chart = async <T>(symbol: string, query: Record<string, string>, interpret: (result: Record<string, unknown> | null) => T): Promise<T> => {
    try {
      return await client.get(`/v8/finance/chart/${encodeURIComponent(symbol)}`, query, (response) => {
        const body = read.record(read.record(parseProviderJson(NAME, response.text), 'body').chart, 'chart');
        if (body.result === null) return interpret(null);
        const first = read.array(body.result, 'chart.result')[0];
        return interpret(first === undefined ? null : read.record(first, 'chart.result[0]'));
      });
    } catch (err) {
      // Yahoo answers an unknown symbol with 404 and `{"chart":{"result":null,"error":{…}}}`.
      if (err instanceof ProviderError && err.kind === 'http' && err.status === 404) return interpret(null);
      throw err;
    }
  };

  const history = (symbol: string, interval: BarInterval, from: Date, to: Date): Promise<Bar[]> =>
    chart(
      symbol,
      {
        period1: String(Math.floor(from.getTime() / 1000)),
        period2: String(Math.floor(to.getTime() / 1000)),
        interval: interval === '1d' ? '1d' : '1m',
        includePrePost: 'false',
      },
      (result) => readBars(result, interval, from, to),
    );

  const readBars = (result: Record<string, unknown> | null, interval: BarInterval, from: Date, to: Date): Bar[] => {
    if (result === null || result.timestamp === undefined) return [];
    const meta = read.record(result.meta, 'chart.meta');
    const offset = meta.gmtoffset === undefined ? 0 : read.integer(meta.gmtoffset, 'meta.gmtoffset');
    const timestamps = read.array(result.timestamp, 'chart.timestamp');
    const quote = read.record(read.array(read.record(result.indicators, 'indicators').quote, 'indicators.quote')[0], 'indicators.quote[0]');
    const [o, h, l, c, v] = ['open', 'high', 'low', 'close', 'volume'].map((k) => read.array(quote[k], `quote.${k}`)) as [unknown[], unknown[], unknown[], unknown[], unknown[]];
    const bars: Bar[] = [];
    for (let i = 0; i < timestamps.length; i++) {
      if ([o[i], h[i], l[i], c[i]].some((x) => x === null || x === undefined)) continue;
      const seconds = read.integer(timestamps[i], `timestamp[${i}]`);
      let ts = new Date(seconds * 1000);
      if (interval === '1d') {
        // Daily bars are stamped at the exchange's open; the trading date is in exchange time.
        const local = new Date((seconds + offset) * 1000);
        ts = new Date(Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate()));
      }
      if (ts.getTime() < from.getTime() || ts.getTime() >= to.getTime()) continue;
      bars.push({ ts, ...read.bar({ open: o[i], high: h[i], low: l[i], close: c[i], volume: v[i] }, `bar[${i}]`) });
    }
    return bars;
  };

  const quote = (symbol: string): Promise<ProviderQuote | null> => chart(symbol, { range: '5d', interval: '1d' }, readQuote(symbol));

  const readQuote = (symbol: string) => (result: Record<string, unknown> | null): ProviderQuote | null => {
    if (result === null) return null;
    const meta = read.record(result.meta, 'chart.meta');
    if (meta.regularMarketPrice === undefined || meta.regularMarketPrice === null || read.isZero(meta.regularMarketPrice)) return null;
    const previous = meta.chartPreviousClose ?? meta.previousClose;
    return {
      symbol,
      price: read.price(meta.regularMarketPrice, 'meta.regularMarketPrice'),
      previous_close: read.optionalPrice(previous, 'meta.chartPreviousClose'),
      as_of: new Date(read.integer(meta.regularMarketTime, 'meta.regularMarketTime') * 1000),
      source: NAME,
    };
  };

  const unsupported = (what: string) => Promise.reject(new ProviderError(NAME, 'not_supported', `${what} is not offered by this provider`));

  return {
    name: NAME,
    quote,
    history,
    search: () => unsupported('search'),
    profile: () => unsupported('company profile'),
    news: () => unsupported('company news'),
    breakerState: client.breakerState,
  };
}
