import { Type } from 'typebox';

const Entry = (description: string, daily: boolean) =>
  Type.Object(
    {
      usage: Type.Integer({ minimum: 0 }),
      limit: Type.Integer({ minimum: 0 }),
      reset: daily
        ? Type.String({ format: 'date-time', description: 'next UTC midnight, when usage returns to 0' })
        : Type.Null({ description: 'a standing count: it falls when the resources are deleted' }),
    },
    { description },
  );

export const QuotaSchema = Type.Object({
  tier: Type.Union([Type.Literal('free'), Type.Literal('pro')]),
  api_requests_per_day: Entry('authenticated API requests today (UTC)', true),
  alerts: Entry('alerts defined', false),
  watchlist_symbols: Entry('symbols on the watchlist', false),
  ws_connections: Entry('open WebSocket connections', false),
  templates: Entry('report templates', false),
  portfolios: Entry('portfolios', false),
  transactions_per_portfolio: Entry('transactions in one portfolio: usage is your fullest portfolio', false),
  splits_per_portfolio: Entry('split transactions in one portfolio: usage is the portfolio with the most', false),
});
