// Company news: fetched from the live provider (Finnhub company-news, or the simulated
// provider), deduplicated by provider id and URL, scored for sentiment (an exact decimal
// in [-1, 1]), stored and listed. Headlines and summaries are kept as plain text (the
// API returns JSON strings, never HTML); article and image URLs that are not http(s)
// (`javascript:`, `data:` …) are dropped. New items are published on `news.published`.
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../platform/clock.ts';
import type { Logger } from '../../platform/logger.ts';
import type { PubSub } from '../../platform/pubsub.ts';
import { decodeTimeCursor, encodeTimeCursor } from '../../platform/http/cursor.ts';
import type { NewsItem } from '../market/providers/index.ts';
import type { NewsRepository, NewsRow } from './news.repository.ts';
import { sentimentScore } from './sentiment.ts';

export const NEWS_PUBLISHED = 'news.published';
/** A symbol's news is asked of the provider at most this often per instance. */
const REFRESH_MS = 15 * 60_000;
const MAX_TEXT = 4000;

/** The URL when it is an absolute http(s) URL, else null. */
export function httpUrl(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

export function newsItemJson(row: NewsRow) {
  return {
    id: row.id,
    symbol: row.symbol,
    headline: row.headline,
    summary: row.summary,
    url: row.url,
    image_url: row.image_url,
    source: row.source,
    published_at: row.published_at.toISOString(),
    sentiment: row.sentiment,
  };
}

/** How many symbols a user's news covers when they name none: the first of their watched and traded symbols, sorted. */
export const USER_NEWS_SYMBOLS = 100;

/** Where a user's symbols come from: the market module's watchlist and the portfolios module's transactions. */
export interface UserSymbols {
  watched: (userId: string) => Promise<string[]>;
  /** Sorted; at most `limit`. */
  traded: (userId: string, limit: number) => Promise<string[]>;
}

export function createNewsService(deps: {
  repo: NewsRepository;
  fetchNews: (symbol: string, from: Date, to: Date) => Promise<NewsItem[]>;
  userSymbols: UserSymbols;
  pubsub: PubSub;
  clock: Clock;
  logger: Logger;
}) {
  const { repo, pubsub, clock, logger } = deps;

  const symbolsOf = async (userId: string): Promise<string[]> => {
    const [watched, traded] = await Promise.all([deps.userSymbols.watched(userId), deps.userSymbols.traded(userId, USER_NEWS_SYMBOLS)]);
    return [...new Set([...watched, ...traded])].sort().slice(0, USER_NEWS_SYMBOLS);
  };
  const lastFetch = new Map<string, number>();

  const toRow = (item: NewsItem): NewsRow => {
    const text = (value: string) => (value.length > MAX_TEXT ? value.slice(0, MAX_TEXT) : value);
    return {
      id: randomUUID(),
      symbol: item.symbol,
      provider: item.source,
      provider_id: item.id,
      headline: text(item.headline),
      summary: text(item.summary),
      source: item.publisher,
      url: httpUrl(item.url),
      image_url: httpUrl(item.image_url),
      published_at: item.published_at,
      sentiment: sentimentScore(`${item.headline}. ${item.summary}`),
    };
  };

  const service = {
    /** Stores provider items; returns and publishes the ones that were new. */
    async ingest(items: NewsItem[]): Promise<NewsRow[]> {
      // Within one batch too: one row per (symbol, provider id) and per (symbol, URL).
      const seen = new Set<string>();
      const rows: NewsRow[] = [];
      for (const row of items.map(toRow)) {
        const keys = [`id:${row.symbol}:${row.provider}:${row.provider_id}`, ...(row.url === null ? [] : [`url:${row.symbol}:${row.url}`])];
        if (keys.some((k) => seen.has(k))) continue;
        for (const k of keys) seen.add(k);
        rows.push(row);
      }
      const inserted = await repo.insert(rows, clock.now());
      for (const row of inserted) {
        const { symbol, ...item } = newsItemJson(row);
        await pubsub.publish(NEWS_PUBLISHED, { symbol, item }).catch((err: unknown) => logger.warn({ err, event: 'news_publish_failed' }, 'could not publish a news item'));
      }
      return inserted;
    },
    /**
     * Fetches each symbol's news from the provider unless this instance fetched it within
     * the last 15 minutes; `force` (the scheduled refresh) fetches regardless.
     */
    async refresh(symbols: string[], from: Date, to: Date, options: { force?: boolean } = {}): Promise<number> {
      let added = 0;
      const now = clock.now().getTime();
      for (const symbol of symbols) {
        if (options.force !== true && now - (lastFetch.get(symbol) ?? 0) < REFRESH_MS) continue;
        lastFetch.set(symbol, now);
        added += (await service.ingest(await deps.fetchNews(symbol, from, to))).length;
      }
      return added;
    },
    async list(
      userId: string,
      query: { symbols?: string[]; from?: Date; to?: Date; limit: number; cursor?: string },
    ): Promise<{ items: NewsRow[]; nextCursor: string | null; symbols: string[] }> {
      const symbols = query.symbols ?? (await symbolsOf(userId));
      const to = query.to ?? clock.now();
      const from = query.from ?? new Date(to.getTime() - 7 * 86_400_000);
      if (symbols.length === 0) return { items: [], nextCursor: null, symbols };
      if (query.cursor === undefined) await service.refresh(symbols.slice(0, 20), from, to);
      const before = query.cursor === undefined ? undefined : decodeTimeCursor(query.cursor, 'news');
      const rows = await repo.list(symbols, from, to, query.limit + 1, before);
      const page = rows.slice(0, query.limit);
      const last = page.at(-1);
      return { items: page, nextCursor: rows.length > query.limit && last !== undefined ? encodeTimeCursor('news', last.published_at, last.id) : null, symbols };
    },
  };
  return service;
}

export type NewsService = ReturnType<typeof createNewsService>;
