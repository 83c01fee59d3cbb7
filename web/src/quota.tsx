// A user's quota as the API answers it (`GET /v1/me/quota`, or an admin's
// `GET /v1/admin/users/:id/quota`): each limit with its usage and a progress bar.

type QuotaEntry = { usage: number; limit: number; reset: string | null };
export type Quota = { tier: string } & Record<string, QuotaEntry | string>;

const QUOTA_LABELS: Record<string, string> = {
  api_requests_per_day: 'API requests today',
  alerts: 'Alerts',
  watchlist_symbols: 'Watchlist symbols',
  ws_connections: 'Live connections',
  templates: 'Report templates',
  portfolios: 'Portfolios',
  transactions_per_portfolio: 'Transactions in the fullest portfolio',
  splits_per_portfolio: 'Splits in the fullest portfolio',
};

export function QuotaList({ quota, testId }: { quota: Quota; testId?: string }) {
  return (
    <ul class="quota" data-testid={testId}>
      {Object.entries(quota)
        .filter((e): e is [string, QuotaEntry] => typeof e[1] === 'object')
        .map(([key, q]) => (
          <li key={key}>
            <label>
              {QUOTA_LABELS[key] ?? key}: {q.usage} of {q.limit}
              <progress max={q.limit} value={Math.min(q.usage, q.limit)} />
            </label>
          </li>
        ))}
    </ul>
  );
}
