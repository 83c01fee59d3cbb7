// What every market-data provider offers, in the spirit of Ghostfolio's data-provider
// interface: quotes, daily and intraday history, symbol search, company profile and
// company news. Prices are decimal strings (FAIL-002); every result names its source.
// An operation a provider does not offer rejects with ProviderError kind `not_supported`.

export type BarInterval = '1m' | '1d';

export interface Bar {
  /** Start of the bar (UTC); daily bars start at 00:00 UTC of their trading date. */
  ts: Date;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
}

export interface ProviderQuote {
  symbol: string;
  price: string;
  previous_close: string | null;
  /** When the price was last traded (or computed, for the simulation). */
  as_of: Date;
  source: string;
}

export interface SearchResult {
  symbol: string;
  name: string;
  type: string | null;
  exchange: string | null;
  source: string;
}

export interface CompanyProfile {
  symbol: string;
  name: string;
  exchange: string | null;
  currency: string | null;
  country: string | null;
  industry: string | null;
  website: string | null;
  logo: string | null;
  ipo: string | null;
  /** Millions of the listing currency, as the provider reports it. */
  market_cap: string | null;
  source: string;
}

export interface NewsItem {
  id: string;
  symbol: string;
  headline: string;
  summary: string;
  /** The publisher as the provider names it. */
  publisher: string | null;
  url: string | null;
  /** The article's image, when the provider gives one (checked for http(s) before use). */
  image_url?: string | null;
  published_at: Date;
  source: string;
}

export interface Trade {
  symbol: string;
  price: string;
  volume: string;
  at: Date;
  source: string;
}

export interface TradeStream {
  subscribe: (symbol: string) => void;
  unsubscribe: (symbol: string) => void;
  close: () => void;
}

export interface MarketDataProvider {
  readonly name: string;
  /** The latest quote, or null when the provider does not know the symbol. */
  quote: (symbol: string) => Promise<ProviderQuote | null>;
  /** Bars with from ≤ ts < to, oldest first. */
  history: (symbol: string, interval: BarInterval, from: Date, to: Date) => Promise<Bar[]>;
  search: (query: string) => Promise<SearchResult[]>;
  /** For a provider with a fixed universe (the simulation): whether it prices `symbol`. */
  knows?: (symbol: string) => boolean;
  profile: (symbol: string) => Promise<CompanyProfile | null>;
  /** News published in [from, to], newest first. */
  news: (symbol: string, from: Date, to: Date) => Promise<NewsItem[]>;
  /** Live trades, when the provider pushes them. */
  streamTrades?: (onTrade: (trade: Trade) => void) => TradeStream;
  /** The outbound circuit's state, for health and tests (`closed` when not applicable). */
  breakerState: () => string;
}
