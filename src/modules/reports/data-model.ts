// The report data model of one portfolio (documented in docs/reports.md): holdings,
// allocation, performance over ranges, indicators per holding, recent alerts and news.
// Every number is a decimal string taken from the same services the API answers with and
// only re-written for reading (digit grouping, ratios as percent by moving the decimal
// point; holding weights are percentages already): no floating point anywhere, so a figure in a report equals the API's.
import { Decimal } from '../../money/index.ts';

export interface HoldingsSource {
  base_currency: string;
  items: Array<{
    symbol: string;
    quantity: string;
    average_cost: string | null;
    price: string | null;
    market_value: string | null;
    cost_basis: string;
    unrealized_pnl: string | null;
    weight: string | null;
    stale: boolean;
  }>;
  totals: { market_value: string; cost_basis: string; unrealized_pnl: string; realized_pnl: string; dividends: string; fees: string; cash: string; total_value: string; stale: boolean };
}

export interface PerformanceSource {
  range: string;
  from: string;
  to: string;
  start_value: string;
  end_value: string;
  total_gain: string;
  simple_return: string | null;
  time_weighted_return: string | null;
  series: Array<{ date: string; value: string }>;
}

export interface ReportSources {
  portfolio: { id: string; name: string; baseCurrency: string };
  holdings: HoldingsSource;
  performance: PerformanceSource[];
  /** Latest daily RSI 14 and SMA 20 of a symbol (null when there is no price history). */
  indicators: Array<{ symbol: string; as_of: string; close: string; rsi_14: string | null; sma_20: string | null }>;
  alerts: Array<{ symbol: string; kind: string; fired_at: string; value: string; threshold: string | null; message: string }>;
  news: Array<{ symbol: string; headline: string; source: string | null; url: string | null; published_at: string; sentiment: string }>;
}

/** `-1234567.5000` → `-1,234,567.5000`: digits unchanged, the integer part grouped. */
export function readable(value: string | null): string {
  if (value === null) return 'n/a';
  const match = /^(-?)(\d+)(\.\d+)?$/.exec(value);
  if (match === null) return value;
  const [, sign = '', int = '', frac = ''] = match;
  return `${sign}${int.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}${frac}`;
}

/** A ratio as a percent, exactly (the decimal point moved two places), with at least two decimals. */
export function percent(ratio: string | null): string {
  if (ratio === null) return 'n/a';
  const text = new Decimal(ratio).times(100).toFixed();
  const [int, frac = ''] = text.split('.');
  const trimmed = frac.replace(/0+$/, '');
  return `${int ?? '0'}.${trimmed.padEnd(2, '0')}`;
}

/** Rounded half up to `places` for reading (indicators carry 30 decimals). */
export function rounded(value: string | null, places: number): string | null {
  return value === null ? null : new Decimal(value).toDecimalPlaces(places, Decimal.ROUND_HALF_UP).toFixed(places);
}

/** Largest peak-to-trough fall of a value series, as a (negative or zero) ratio, with its peak and trough. */
export function maxDrawdown(series: Array<{ date: string; value: string }>): { ratio: string; peak: string | null; trough: string | null } {
  let peak: { date: string; value: Decimal } | undefined;
  let worst = { ratio: new Decimal(0), peak: null as string | null, trough: null as string | null };
  for (const point of series) {
    const value = new Decimal(point.value);
    if (peak === undefined || value.greaterThan(peak.value)) peak = { date: point.date, value };
    if (peak.value.greaterThan(0)) {
      const ratio = value.minus(peak.value).dividedBy(peak.value);
      if (ratio.lessThan(worst.ratio)) worst = { ratio, peak: peak.date, trough: point.date };
    }
  }
  return { ratio: worst.ratio.toDecimalPlaces(6, Decimal.ROUND_HALF_UP).toFixed(), peak: worst.peak, trough: worst.trough };
}

function rsiState(rsi: string | null): string {
  if (rsi === null) return 'n/a';
  const value = new Decimal(rsi);
  if (value.greaterThan(70)) return 'above 70';
  if (value.lessThan(30)) return 'below 30';
  return 'between 30 and 70';
}

export type ReportModel = ReturnType<typeof buildDataModel>;

export function buildDataModel(sources: ReportSources, generatedAt: Date) {
  const ccy = sources.holdings.base_currency;
  const t = sources.holdings.totals;
  const holdings = sources.holdings.items.map((h) => ({
    symbol: h.symbol,
    quantity: readable(h.quantity),
    average_cost: readable(h.average_cost),
    price: readable(h.price),
    market_value: readable(h.market_value),
    cost_basis: readable(h.cost_basis),
    unrealized_pnl: readable(h.unrealized_pnl),
    unrealized_pnl_percent:
      h.unrealized_pnl === null || new Decimal(h.cost_basis).isZero() ? 'n/a' : percent(new Decimal(h.unrealized_pnl).dividedBy(h.cost_basis).toDecimalPlaces(6, Decimal.ROUND_HALF_UP).toFixed()),
    weight_percent: readable(h.weight),
    day_change_percent: 'n/a',
    stale: h.stale ? 'yes' : 'no',
  }));
  const byWeight = [...sources.holdings.items].filter((h) => h.weight !== null).sort((a, b) => new Decimal(b.weight ?? '0').comparedTo(a.weight ?? '0'));
  return {
    generated_at: generatedAt.toISOString(),
    portfolio: { id: sources.portfolio.id, name: sources.portfolio.name, base_currency: ccy },
    totals: {
      market_value: readable(t.market_value),
      cost_basis: readable(t.cost_basis),
      unrealized_pnl: readable(t.unrealized_pnl),
      realized_pnl: readable(t.realized_pnl),
      dividends: readable(t.dividends),
      fees: readable(t.fees),
      cash: readable(t.cash),
      total_value: readable(t.total_value),
      stale: t.stale ? 'yes' : 'no',
    },
    holdings,
    allocation: byWeight.map((h) => ({ symbol: h.symbol, market_value: readable(h.market_value), weight_percent: readable(h.weight) })),
    performance: sources.performance.map((p) => ({
      range: p.range,
      from: p.from,
      to: p.to,
      start_value: readable(p.start_value),
      end_value: readable(p.end_value),
      total_gain: readable(p.total_gain),
      simple_return_percent: percent(p.simple_return),
      time_weighted_return_percent: percent(p.time_weighted_return),
      max_drawdown_percent: percent(maxDrawdown(p.series).ratio),
    })),
    indicators: sources.indicators.map((i) => {
      const rsi = rounded(i.rsi_14, 2);
      const sma = rounded(i.sma_20, 4);
      return {
        symbol: i.symbol,
        as_of: i.as_of,
        close: readable(i.close),
        rsi_14: rsi ?? 'n/a',
        rsi_state: rsiState(rsi),
        sma_20: sma === null ? 'n/a' : readable(sma),
        sma_20_position: sma === null ? 'n/a' : new Decimal(i.close).greaterThanOrEqualTo(sma) ? 'above' : 'below',
      };
    }),
    alerts: sources.alerts.map((a) => ({ ...a, value: readable(a.value), threshold: readable(a.threshold) })),
    news: sources.news.map((n) => ({ ...n, source: n.source ?? '', url: n.url ?? '' })),
    narrative: { text: '', sentences: [] as Array<{ text: string }> },
    ai: { available: false, text: '', note: '' },
  };
}
