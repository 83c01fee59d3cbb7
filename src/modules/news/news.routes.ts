// GET /v1/news: company news for the given symbols, or the caller's watchlist and
// portfolio symbols. Text fields are JSON strings, never rendered as HTML.
import { Type } from 'typebox';
import { badRequest } from '../../platform/errors.ts';
import { principalOf, type Guards } from '../../platform/http/principal.ts';
import { problemResponses } from '../../platform/http/problem.ts';
import type { App } from '../../platform/http/types.ts';
import { normaliseSymbol, SYMBOL_LIST_PATTERN } from '../market/symbols.ts';
import { newsItemJson, type NewsService } from './news.service.ts';

const NewsQuery = Type.Object(
  {
    symbols: Type.Optional(Type.String({ pattern: SYMBOL_LIST_PATTERN, description: 'comma-separated tickers; default: watchlist and portfolio symbols' })),
    from: Type.Optional(Type.String({ format: 'date-time' })),
    to: Type.Optional(Type.String({ format: 'date-time' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512, pattern: '^[A-Za-z0-9_-]+$' })),
  },
  { additionalProperties: false },
);

const NewsItemSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  symbol: Type.String(),
  headline: Type.String({ description: 'plain text' }),
  summary: Type.String({ description: 'plain text' }),
  url: Type.Union([Type.String(), Type.Null()], { description: 'http(s) only' }),
  image_url: Type.Union([Type.String(), Type.Null()], { description: 'http(s) only' }),
  source: Type.Union([Type.String(), Type.Null()]),
  published_at: Type.String({ format: 'date-time' }),
  sentiment: Type.String({ description: 'decimal string in [-1, 1] (wink-sentiment lexicon, normalised)' }),
});

const NewsPage = Type.Object({ items: Type.Array(NewsItemSchema), next_cursor: Type.Union([Type.String(), Type.Null()]) });

export function newsRoutes(app: App, deps: { guards: Guards; news: NewsService }): void {
  app.get(
    '/v1/news',
    {
      onRequest: deps.guards.requireUser,
      schema: { tags: ['market'], security: [{ bearer: [] }], summary: 'Company news, newest first', querystring: NewsQuery, response: { 200: NewsPage, ...problemResponses } },
    },
    async (request) => {
      const q = request.query;
      const symbols = q.symbols?.split(',').map((s) => normaliseSymbol(s) ?? '');
      const from = q.from === undefined ? undefined : new Date(q.from);
      const to = q.to === undefined ? undefined : new Date(q.to);
      if (from !== undefined && to !== undefined && from > to) throw badRequest('invalid_range', 'from must not be after to.', [{ field: 'query.from', message: 'is after to' }]);
      const page = await deps.news.list(principalOf(request).userId, {
        limit: q.limit ?? 50,
        ...(symbols === undefined ? {} : { symbols: [...new Set(symbols)] }),
        ...(from === undefined ? {} : { from }),
        ...(to === undefined ? {} : { to }),
        ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
      });
      return { items: page.items.map(newsItemJson), next_cursor: page.nextCursor };
    },
  );
}
