// News module: company news (Finnhub company-news or the simulated provider), deduplicated,
// scored for sentiment as an exact decimal, listed at GET /v1/news and published on
// `news.published`.
import type { Clock } from '../../platform/clock.ts';
import type { Database } from '../../platform/db/index.ts';
import type { Guards } from '../../platform/http/principal.ts';
import type { App } from '../../platform/http/types.ts';
import type { Logger } from '../../platform/logger.ts';
import type { PubSub } from '../../platform/pubsub.ts';
import type { NewsItem } from '../market/providers/index.ts';
import { createNewsRepository } from './news.repository.ts';
import { newsRoutes } from './news.routes.ts';
import { createNewsService, type NewsService, type UserSymbols } from './news.service.ts';

export function registerNews(
  app: App,
  deps: {
    db: Database;
    pubsub: PubSub;
    clock: Clock;
    logger: Logger;
    guards: Guards;
    fetchNews: (symbol: string, from: Date, to: Date) => Promise<NewsItem[]>;
    userSymbols: UserSymbols;
  },
): NewsService {
  const news = createNewsService({
    repo: createNewsRepository(deps.db),
    fetchNews: deps.fetchNews,
    userSymbols: deps.userSymbols,
    pubsub: deps.pubsub,
    clock: deps.clock,
    logger: deps.logger,
  });
  newsRoutes(app, { guards: deps.guards, news });
  return news;
}

export { createNewsService, httpUrl, NEWS_PUBLISHED, type NewsService } from './news.service.ts';
export { sentimentScore } from './sentiment.ts';
