// Market data and watchlist routes. Every route is authenticated; the CSV import is
// admin-only. Symbols are validated by schema and upper-cased here.
import type { Config } from '../../config.ts';
import { AppError, badRequest } from '../../platform/errors.ts';
import { problemResponses } from '../../platform/http/problem.ts';
import { principalOf, type Guards } from '../../platform/http/principal.ts';
import { instantOf } from '../../platform/http/time-params.ts';
import type { App } from '../../platform/http/types.ts';
import type { ConcurrencyLimiter } from '../../platform/limits/index.ts';
import { columnNames, parseIndicatorList, parseIndicatorSpec, type IndicatorSpec } from '../indicators/index.ts';
import {
  CandlesQuery,
  CandlesResponse,
  ImportResponse,
  IndicatorsQuery,
  IndicatorsResponse,
  QuotesQuery,
  QuotesResponse,
  SearchQuery,
  SearchResponse,
  SymbolParams,
  WatchlistItem,
  WatchlistResponse,
} from './market.schemas.ts';
import type { MarketService } from './market.service.ts';
import { normaliseSymbol } from './symbols.ts';

export interface MarketRouteDeps {
  service: MarketService;
  guards: Guards;
  tiers: Config['tiers'];
  /** Largest CSV body the admin import accepts. */
  importBodyLimitBytes: number;
  /** Most indicator values (candles × output columns) one request may compute. */
  indicatorMaxValues: number;
  /** Indicator requests in progress per user at once. */
  indicatorSlots: ConcurrencyLimiter;
}

const security = [{ bearer: [] }];

function symbolOf(raw: string): string {
  const symbol = normaliseSymbol(raw);
  if (symbol === null) throw badRequest('invalid_symbol', `"${raw.slice(0, 20)}" is not a ticker symbol`);
  return symbol;
}

function optionalDate(value: string | undefined): Date | undefined {
  return value === undefined ? undefined : instantOf(value);
}

/** `name` + parameters (`?name=macd&fast=12&slow=26&signal=9`) or a list (`?indicators=sma:20,rsi:14`). */
function indicatorSpecs(query: {
  name?: string | undefined;
  period?: number | undefined;
  fast?: number | undefined;
  slow?: number | undefined;
  signal?: number | undefined;
  k?: string | undefined;
  indicators?: string | undefined;
}): IndicatorSpec[] {
  if (query.indicators !== undefined) {
    if (query.name !== undefined) throw badRequest('invalid_indicator', 'give either `name` or `indicators`, not both');
    return parseIndicatorList(query.indicators);
  }
  if (query.name === undefined) throw badRequest('invalid_indicator', 'give `name` (with its parameters) or `indicators`');
  const parts: Array<string | number> = [query.name];
  switch (query.name) {
    case 'macd':
      if (query.fast !== undefined || query.slow !== undefined || query.signal !== undefined) parts.push(query.fast ?? 12, query.slow ?? 26, query.signal ?? 9);
      break;
    case 'bbands':
      if (query.period !== undefined || query.k !== undefined) parts.push(query.period ?? 20, query.k ?? '2');
      break;
    default:
      if (query.period !== undefined) parts.push(query.period);
  }
  return [parseIndicatorSpec(parts.join(':'))];
}

export function marketRoutes(app: App, deps: MarketRouteDeps): void {
  const { service, guards } = deps;

  app.get(
    '/v1/market/quotes',
    {
      onRequest: guards.requireUser,
      schema: {
        tags: ['market'],
        summary: 'Latest quotes for up to 50 symbols, each with as_of and a stale flag',
        security,
        querystring: QuotesQuery,
        response: { 200: QuotesResponse, ...problemResponses },
      },
    },
    async (request) => {
      const symbols = request.query.symbols.split(',').map(symbolOf);
      const { items, not_found } = await service.quotes(symbols);
      return { items: items.map((q) => ({ ...q, as_of: q.as_of.toISOString(), simulated: q.source === 'simulated' })), not_found };
    },
  );

  app.get(
    '/v1/market/candles/:symbol',
    {
      onRequest: guards.requireUser,
      schema: {
        tags: ['market'],
        summary: 'OHLCV candles bucketed from stored bars (1m, 5m, 15m, 1h from minutes; 1d; 1w from days)',
        security,
        params: SymbolParams,
        querystring: CandlesQuery,
        response: { 200: CandlesResponse, ...problemResponses },
      },
    },
    async (request) => {
      const symbol = symbolOf(request.params.symbol);
      const { interval, limit } = request.query;
      const from = optionalDate(request.query.from);
      const to = optionalDate(request.query.to);
      const items = await service.candles(symbol, interval, { limit, ...(from ? { from } : {}), ...(to ? { to } : {}) });
      const simulated = await service.simulatedIn(symbol, interval, items);
      return { symbol, interval, simulated, items: items.map((c) => ({ ...c, ts: c.ts.toISOString() })) };
    },
  );

  app.get(
    '/v1/market/indicators/:symbol',
    {
      onRequest: guards.requireUser,
      schema: {
        tags: ['market'],
        summary: 'Technical indicators (exact decimals) over the candles of a symbol',
        security,
        params: SymbolParams,
        querystring: IndicatorsQuery,
        response: { 200: IndicatorsResponse, ...problemResponses },
      },
    },
    async (request) => {
      const symbol = symbolOf(request.params.symbol);
      const specs = indicatorSpecs(request.query);
      const { interval, limit } = request.query;
      const from = optionalDate(request.query.from);
      const to = optionalDate(request.query.to);
      const columns = specs.flatMap(columnNames);
      // Work is bounded before any is done (FAIL-023): `limit` bounds the candles returned.
      const values = limit * columns.length;
      if (values > deps.indicatorMaxValues) {
        throw new AppError(400, 'indicator_work_exceeded', 'Bad request', {
          detail: `${limit} candles × ${columns.length} indicator columns = ${values} values; at most ${deps.indicatorMaxValues} per request. Ask for fewer candles (limit) or fewer indicators.`,
          extra: { values, max_values: deps.indicatorMaxValues },
        });
      }
      const principal = principalOf(request);
      const slot = await deps.indicatorSlots.acquire(principal.userId);
      if (!slot.ok) {
        request.log.info({ event: 'indicator_concurrency_limited', active: slot.active }, 'indicator requests at once capped');
        throw new AppError(429, 'too_many_concurrent_requests', 'Too many requests', {
          detail: `At most ${deps.indicatorSlots.max} indicator requests at once per user; wait for one to finish.`,
          headers: { 'retry-after': '1' },
        });
      }
      try {
        const rows = await service.indicators(symbol, interval, specs, { limit, ...(from ? { from } : {}), ...(to ? { to } : {}) });
        return {
          symbol,
          interval,
          simulated: await service.simulatedIn(symbol, interval, rows),
          columns,
          items: rows.map((r) => ({ ...r, ts: r.ts.toISOString() })),
        };
      } finally {
        await slot.release();
      }
    },
  );

  app.get(
    '/v1/market/search',
    {
      onRequest: guards.requireUser,
      schema: {
        tags: ['market'],
        summary: 'Find instruments by ticker prefix or name',
        security,
        querystring: SearchQuery,
        response: { 200: SearchResponse, ...problemResponses },
      },
    },
    async (request) => ({ items: await service.search(request.query.q.trim()) }),
  );

  app.get(
    '/v1/me/watchlist',
    {
      onRequest: guards.requireUser,
      schema: {
        tags: ['watchlist'],
        summary: 'Your watchlist',
        security,
        response: { 200: WatchlistResponse, ...problemResponses },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const rows = await service.watchlist(principal.userId);
      return {
        items: rows.map((r) => ({ symbol: r.symbol, added_at: r.added_at.toISOString() })),
        next_cursor: null,
        limit: deps.tiers[principal.tier].watchlistSymbols,
      };
    },
  );

  app.put(
    '/v1/me/watchlist/:symbol',
    {
      onRequest: guards.requireUser,
      schema: {
        tags: ['watchlist'],
        summary: 'Add a symbol to your watchlist (201 when added, 200 when already there; 409 watchlist_full at your plan\'s cap)',
        security,
        params: SymbolParams,
        response: { 200: WatchlistItem, 201: WatchlistItem, ...problemResponses },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const symbol = symbolOf(request.params.symbol);
      const { created, item } = await service.addToWatchlist(principal.userId, symbol, deps.tiers[principal.tier].watchlistSymbols);
      return reply.code(created ? 201 : 200).send({ symbol: item.symbol, added_at: item.added_at.toISOString() });
    },
  );

  app.delete(
    '/v1/me/watchlist/:symbol',
    {
      onRequest: guards.requireUser,
      schema: {
        tags: ['watchlist'],
        summary: 'Remove a symbol from your watchlist',
        security,
        params: SymbolParams,
        response: { 204: { type: 'null', description: 'Removed: the symbol is no longer on the watchlist' }, ...problemResponses },
      },
    },
    async (request, reply) => {
      await service.removeFromWatchlist(principalOf(request).userId, symbolOf(request.params.symbol));
      return reply.code(204).send(null);
    },
  );

  // The CSV body parser is registered inside this plugin only, so no other route accepts text/csv.
  void app.register((instance: App, _opts, done) => {
    instance.addContentTypeParser('text/csv', { parseAs: 'string', bodyLimit: deps.importBodyLimitBytes }, (_request, body, parsed) => parsed(null, body));
    instance.post(
      '/v1/admin/market/prices/:symbol/import',
      {
        onRequest: guards.requireAdmin,
        // Before body validation: anything but CSV is a 415, not a schema error.
        preValidation: (request, _reply, next) => {
          const type = String(request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
          next(type === 'text/csv' ? undefined : new AppError(415, 'unsupported_media_type', 'Unsupported media type', { detail: 'Send the prices as text/csv.' }));
        },
        bodyLimit: deps.importBodyLimitBytes,
        schema: {
          tags: ['admin', 'market'],
          summary: 'Import daily (Date) or one-minute (Date+time) OHLCV bars from CSV; all rows or none; idempotent',
          security,
          params: SymbolParams,
          consumes: ['text/csv'],
          body: { type: 'string', description: 'CSV with columns Date, Open, High, Low, Close, Volume (any case)' },
          response: { 200: ImportResponse, ...problemResponses },
        },
      },
      async (request) => service.importCsv(symbolOf(request.params.symbol), request.body),
    );
    done(undefined);
  });
}
