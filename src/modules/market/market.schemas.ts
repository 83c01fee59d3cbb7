// Request and response schemas for the market and watchlist routes. Symbols follow the
// one ticker grammar (symbols.ts); prices are decimal strings; timestamps ISO-8601 UTC.
import { Type } from 'typebox';
import { DateOrDateTime } from '../../platform/http/time-params.ts';
import { INDICATOR_NAMES, MAX_PERIOD } from '../indicators/index.ts';
import { CANDLE_INTERVALS } from './market.repository.ts';
import { MAX_QUOTE_SYMBOLS, SYMBOL_LIST_PATTERN, SymbolParam } from './symbols.ts';

const Price = (description: string) => Type.String({ description, examples: ['101.25'] });
const Timestamp = (description: string) => Type.String({ format: 'date-time', description });

export const SymbolParams = Type.Object({ symbol: SymbolParam() }, { additionalProperties: false });

export const QuotesQuery = Type.Object(
  {
    symbols: Type.String({
      pattern: SYMBOL_LIST_PATTERN,
      maxLength: MAX_QUOTE_SYMBOLS * 16,
      description: `comma-separated ticker symbols, at most ${MAX_QUOTE_SYMBOLS}, e.g. AAPL,MSFT`,
    }),
  },
  { additionalProperties: false },
);

export const QuoteSchema = Type.Object({
  symbol: Type.String(),
  price: Price('last price'),
  previous_close: Type.Union([Price('previous close'), Type.Null()]),
  as_of: Timestamp('when the price was current'),
  stale: Type.Boolean({ description: 'true when older than QUOTE_STALE_SECONDS or served while the provider is unavailable' }),
  source: Type.String({ description: 'simulated, finnhub, yahoo, csv …' }),
  simulated: Type.Boolean({ description: 'true when the price comes from the simulated demo provider, not a market' }),
}, { $id: 'Quote', description: 'The latest price of a symbol, with its source and age.' });

export const QuotesResponse = Type.Object({
  items: Type.Array(QuoteSchema),
  not_found: Type.Array(Type.String(), { description: 'requested symbols nobody has a price for' }),
});

const RangeQuery = {
  from: Type.Optional(DateOrDateTime('first bucket (inclusive, aligned down to the interval); without it, the latest `limit` candles before `to`')),
  to: Type.Optional(DateOrDateTime('end (exclusive; a date means its start); default now')),
  limit: Type.Integer({ minimum: 1, maximum: 5000, default: 500, description: 'the latest this many candles of the range' }),
};

export const CandleIntervalSchema = Type.Union(CANDLE_INTERVALS.map((i) => Type.Literal(i)), { default: '1d' });

export const CandlesQuery = Type.Object({ interval: CandleIntervalSchema, ...RangeQuery }, { additionalProperties: false });

export const CandleSchema = Type.Object({
  ts: Timestamp('bucket start (UTC; weeks start on Monday)'),
  open: Price('open'),
  high: Price('high'),
  low: Price('low'),
  close: Price('close'),
  volume: Type.String({ description: 'volume as a decimal string' }),
}, { $id: 'Candle', description: 'One OHLCV bar; prices and volume are decimal strings.' });

const Simulated = Type.Boolean({ description: 'true when any of these candles comes from the simulated demo provider, not a market' });

export const CandlesResponse = Type.Object({
  symbol: Type.String(),
  interval: Type.String(),
  simulated: Simulated,
  items: Type.Array(CandleSchema),
});

const Period = (description: string) => Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PERIOD, description }));

export const IndicatorsQuery = Type.Object(
  {
    name: Type.Optional(Type.Union(INDICATOR_NAMES.map((n) => Type.Literal(n)), { description: 'one indicator; or use `indicators`' })),
    period: Period('window (sma, ema, rsi, atr, bbands)'),
    fast: Period('MACD fast period'),
    slow: Period('MACD slow period'),
    signal: Period('MACD signal period'),
    k: Type.Optional(Type.String({ pattern: '^[0-9]{1,2}(\\.[0-9]{1,8})?$', description: 'Bollinger width in standard deviations, e.g. "2"' })),
    indicators: Type.Optional(Type.String({ maxLength: 400, pattern: '^[a-z0-9:.,]+$', description: 'list such as sma:20,rsi:14,macd:12:26:9' })),
    interval: CandleIntervalSchema,
    ...RangeQuery,
  },
  { additionalProperties: false },
);

export const IndicatorsResponse = Type.Object({
  symbol: Type.String(),
  interval: Type.String(),
  simulated: Simulated,
  columns: Type.Array(Type.String()),
  items: Type.Array(
    Type.Object({
      ts: Timestamp('bucket start'),
      close: Price('close'),
      values: Type.Record(Type.String(), Type.Union([Type.String(), Type.Null()]), { description: 'null until the window is full' }),
    }),
  ),
});

export const SearchQuery = Type.Object(
  { q: Type.String({ minLength: 1, maxLength: 40, pattern: '^[A-Za-z0-9 .&\\-]+$', description: 'ticker prefix or part of a name' }) },
  { additionalProperties: false },
);

export const SearchResponse = Type.Object({
  items: Type.Array(
    Type.Object({
      symbol: Type.String(),
      name: Type.String(),
      type: Type.Union([Type.String(), Type.Null()]),
      exchange: Type.Union([Type.String(), Type.Null()]),
      source: Type.String(),
    }),
  ),
});

export const WatchlistItem = Type.Object({ symbol: Type.String(), added_at: Timestamp('when it was added') });

export const WatchlistResponse = Type.Object({
  items: Type.Array(WatchlistItem),
  next_cursor: Type.Null({ description: 'watchlists are short (capped by tier) and come in one page' }),
  limit: Type.Integer({ description: 'how many symbols your plan allows' }),
});

export const ImportResponse = Type.Object({
  symbol: Type.String(),
  interval: Type.String({ description: '1d for dates, 1m for dates with times' }),
  rows: Type.Integer(),
  inserted: Type.Integer(),
  updated: Type.Integer(),
  unchanged: Type.Integer(),
});
