// Request and response schemas of the analytics routes. Every sort and filter is an enum
// or a value with a strict grammar, so a payload such as `name;DROP TABLE …` or
// `1 OR 1=1` fails validation with a 400 before any code runs (FAIL-016).
import { DateOrDateTime } from '../../platform/http/time-params.ts';
import { Type, type Static } from 'typebox';
import { CursorParam } from '../../platform/http/cursor.ts';
import { SYMBOL_INPUT_PATTERN } from '../market/symbols.ts';
import { DASHBOARD_SORTS, SORT_ORDERS } from './dashboard.ts';

/** Market values are never negative, so the minimum is an unsigned decimal. */
const UNSIGNED_DECIMAL_PATTERN = '^[0-9]{1,30}(\\.[0-9]{1,30})?$';

const Uuid = () => Type.String({ format: 'uuid' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);
const Amount = (description = 'amount in the base currency, rounded half-up to its minor unit') => Type.String({ description });
const Rate = (description: string) => Nullable(Type.String({ description: `${description}; a fraction (0.05 = 5 %), 10 decimal places` }));


/** The periods of `GET …/performance`; the service resolves each to dates. */
export const PERFORMANCE_RANGES = ['1m', '3m', 'ytd', '1y', 'max', 'custom'] as const;
export type PerformanceRange = (typeof PERFORMANCE_RANGES)[number];

export const PerformanceParams = Type.Object({ id: Uuid() }, { additionalProperties: false });

export const PerformanceQuery = Type.Object(
  {
    range: Type.Optional(Type.Union(PERFORMANCE_RANGES.map((r) => Type.Literal(r)), { default: '1y', description: 'period; custom needs from and to' })),
    from: Type.Optional(DateOrDateTime('first day (UTC; a date-time means its UTC day), inclusive; range=custom only')),
    to: Type.Optional(DateOrDateTime('last day (UTC; a date-time means its UTC day), inclusive, not in the future; range=custom only')),
  },
  { additionalProperties: false },
);
export type PerformanceQuery = Static<typeof PerformanceQuery>;

export const PerformanceOut = Type.Object({
  portfolio_id: Uuid(),
  base_currency: Type.String(),
  range: Type.String(),
  from: Type.String({ format: 'date' }),
  to: Type.String({ format: 'date' }),
  days: Type.Integer({ description: 'calendar days in the period, inclusive' }),
  step: Type.Union([Type.Literal('day'), Type.Literal('week'), Type.Literal('month')], {
    description: 'spacing of series: daily up to 1,100 days, then weekly (ending on to) up to 1,100 weeks, then the last day of each month and to',
  }),
  start_value: Amount('value at the end of the day before the period'),
  end_value: Amount('value at the end of the last day'),
  contributions: Amount('deposits plus implicit contributions during the period'),
  withdrawals: Amount('withdrawals during the period'),
  net_contributions: Amount('contributions − withdrawals'),
  total_gain: Amount('end_value − start_value − net_contributions'),
  simple_return: Rate('total_gain / (start_value + contributions)'),
  time_weighted_return: Rate('daily sub-period returns chained over the period, not annualised'),
  time_weighted_return_annualized: Rate('annualised TWR; only for periods of 365 days or more'),
  money_weighted_return: Type.Object({
    status: Type.Union([Type.Literal('ok'), Type.Literal('no_cash_flows'), Type.Literal('no_solution')]),
    rate: Rate('XIRR, annual rate, Actual/365'),
    method: Nullable(Type.Union([Type.Literal('newton'), Type.Literal('bisection')])),
    iterations: Type.Integer(),
  }),
  data_quality: Type.Object(
    {
      complete: Type.Boolean({
        description: 'true when every day each symbol was held is valued from that day’s close or a close carried over a market closure of at most 5 days',
      }),
      symbols: Type.Array(
        Type.Object({
          symbol: Type.String(),
          days_held: Type.Integer({ description: 'days of the period on which the symbol was held' }),
          close_days: Type.Integer({ description: 'days valued at that day’s close' }),
          carried_forward_days: Type.Integer({ description: 'days valued at an earlier close (the last one before the day)' }),
          longest_carry_days: Type.Integer({ description: 'the most days one close was carried over' }),
          trade_price_days: Type.Integer({ description: 'days valued at the last trade price: no close since that trade' }),
          unpriced_days: Type.Integer({ description: 'days with no price at all: the holding counted as 0' }),
          split_adjusted_history_restored: Type.Integer({
            description: 'recorded splits across which the stored closes were split-adjusted; the closes before each were restored to as-traded prices',
          }),
        }),
      ),
    },
    { description: 'how the values were priced, per symbol held during the period (docs/performance.md, "Data quality")' },
  ),
  series: Type.Array(
    Type.Object({
      date: Type.String({ format: 'date' }),
      value: Amount(),
      net_contributions: Amount('cumulative since the start of the period'),
      time_weighted_return: Type.String({ description: 'cumulative TWR since the start of the period' }),
    }),
  ),
});
export type PerformanceOut = Static<typeof PerformanceOut>;

export const DashboardQuery = Type.Object(
  {
    sort: Type.Optional(Type.Union(DASHBOARD_SORTS.map((s) => Type.Literal(s)), { default: 'market_value' })),
    order: Type.Optional(Type.Union(SORT_ORDERS.map((o) => Type.Literal(o)), { default: 'desc' })),
    symbol: Type.Optional(Type.String({ pattern: SYMBOL_INPUT_PATTERN, minLength: 1, maxLength: 15, description: 'symbol prefix, any case' })),
    portfolio_id: Type.Optional(Uuid()),
    min_market_value: Type.Optional(Type.String({ pattern: UNSIGNED_DECIMAL_PATTERN, maxLength: 61, description: 'unsigned decimal string; holdings worth less (or unpriced) are left out' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    cursor: Type.Optional(CursorParam()),
  },
  { additionalProperties: false },
);
export type DashboardQuery = Static<typeof DashboardQuery>;

export const DashboardOut = Type.Object({
  totals: Type.Array(
    Type.Object({
      currency: Type.String({ description: 'base currency; portfolios with different base currencies are totalled separately' }),
      portfolios: Type.Integer(),
      holdings: Type.Integer(),
      market_value: Amount(),
      cost_basis: Amount(),
      unrealized_pnl: Amount(),
      realized_pnl: Amount(),
      day_change: Amount(),
      cash: Amount(),
      total_value: Amount(),
      stale: Type.Boolean(),
    }),
  ),
  items: Type.Array(
    Type.Object({
      portfolio_id: Uuid(),
      portfolio_name: Type.String(),
      base_currency: Type.String(),
      symbol: Type.String(),
      quantity: Type.String(),
      price: Nullable(Type.String()),
      stale: Type.Boolean(),
      cost_basis: Amount(),
      market_value: Nullable(Amount()),
      unrealized_pnl: Nullable(Amount()),
      realized_pnl: Amount(),
      weight: Nullable(Type.String({ description: 'percent of its portfolio’s priced market value' })),
      day_change: Nullable(Amount()),
    }),
  ),
  next_cursor: Nullable(Type.String()),
});
export type DashboardOut = Static<typeof DashboardOut>;
