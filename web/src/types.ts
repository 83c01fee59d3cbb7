// Shapes of the API responses the pages read (see /openapi.json). Amounts are strings.
export interface Portfolio {
  id: string;
  name: string;
  base_currency: string;
}
export interface DashboardTotal {
  currency: string;
  portfolios: number;
  holdings: number;
  market_value: string;
  cost_basis: string;
  unrealized_pnl: string;
  day_change: string;
  cash: string;
  total_value: string;
  stale: boolean;
}
export interface DashboardItem {
  portfolio_id: string;
  portfolio_name: string;
  base_currency: string;
  symbol: string;
  quantity: string;
  price: string | null;
  market_value: string | null;
  unrealized_pnl: string | null;
  weight: string | null;
  day_change: string | null;
}
export interface Dashboard {
  totals: DashboardTotal[];
  items: DashboardItem[];
}
export interface Performance {
  base_currency: string;
  from: string;
  to: string;
  start_value: string;
  end_value: string;
  total_gain: string;
  time_weighted_return: string | null;
  time_weighted_return_annualized: string | null;
  money_weighted_return: { status: string; rate: string | null };
  series: Array<{ date: string; value: string; net_contributions: string }>;
}
export interface Holding {
  symbol: string;
  quantity: string;
  average_cost: string | null;
  cost_basis: string;
  currency: string | null;
  price: string | null;
  stale: boolean;
  market_value: string | null;
  unrealized_pnl: string | null;
  realized_pnl: string;
  dividends: string;
  weight: string | null;
  lots: Array<{ transaction_id: string; acquired_at: string; quantity: string; unit_cost: string; cost_basis: string }>;
}
export interface Holdings {
  base_currency: string;
  items: Holding[];
  cash: string;
  totals: { market_value: string; cost_basis: string; unrealized_pnl: string; realized_pnl: string; total_value: string; cash: string };
}
export interface Transaction {
  id: string;
  type: string;
  symbol: string | null;
  quantity: string | null;
  price: string | null;
  amount: string | null;
  fee: string;
  currency: string;
  executed_at: string;
}
export interface ImportResult {
  dry_run: boolean;
  valid: boolean;
  rows: number;
  imported: number;
  would_import: number;
  duplicates: number;
  errors: Array<{ row: number; field: string; reason: string }>;
}
export interface Quote {
  symbol: string;
  price: string;
  previous_close: string | null;
  as_of: string;
  stale: boolean;
  source: string;
}
