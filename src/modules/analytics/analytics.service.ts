// Portfolio analytics: performance over a range and the cross-portfolio dashboard. Reads
// portfolios and transactions through the portfolios module, prices through the market
// module (both narrowed to what is needed here), and computes with the pure functions in
// performance.ts and dashboard.ts. No HTTP, no SQL.
import { exactFromPlain, exactMinus, formatAmount, formatAmountFixed, formatDecimal, formatFixed, rescale, SCALE, type Amount, type Decimal } from '../../money/index.ts';
import type { Clock } from '../../platform/clock.ts';
import { AppError } from '../../platform/errors.ts';
import type { Logger } from '../../platform/logger.ts';
import { valueHoldings, WEIGHT_SCALE, type Ledger, type Portfolio, type TransactionFields } from '../portfolios/index.ts';
import type { DashboardOut, PerformanceOut, PerformanceRange } from './analytics.schemas.ts';
import { pageHoldings, type DashboardHolding, type HoldingsPageQuery } from './dashboard.ts';
import { computePerformanceAsync, dayNumber, isComplete, dayString, utcDay, type DailyClose } from './performance.ts';

/** The sum of the amounts present (nulls are unpriced holdings). */
const sum = (values: ReadonlyArray<Amount | null>): Amount => values.reduce<Amount>((total, value) => total + (value ?? 0n), 0n);

/** A latest quote as the market module's `latestQuotes` gives it. */
export interface LatestQuote {
  symbol: string;
  price: string;
  previous_close: string | null;
  as_of: Date;
  stale: boolean;
  source: string;
}

/** The market module's service, narrowed. */
export interface MarketPrices {
  latestQuotes: (symbols: string[]) => Promise<Map<string, LatestQuote>>;
  dailyCloses: (symbols: string[], from: Date, to: Date) => Promise<Map<string, Array<{ date: string; close: string }>>>;
  /** Asks the history provider for whatever part of [from, to] is not yet covered (stored history only when there is none). */
  fillDailyHistory: (symbols: string[], from: Date, to: Date) => Promise<void>;
}

export interface AnalyticsServiceDeps {
  /** Ownership check: another user's portfolio throws 404 not_found. */
  ownedPortfolio: (userId: string, portfolioId: string) => Promise<Portfolio>;
  listPortfolios: (userId: string) => Promise<Portfolio[]>;
  /** A portfolio's transactions in replay order. */
  portfolioTransactions: (userId: string, portfolioId: string) => Promise<TransactionFields[]>;
  /** A portfolio's replayed ledger (cached by the portfolios service per portfolio revision). */
  ledgerOf: (userId: string, portfolioId: string) => Promise<{ portfolio: Portfolio; ledger: Ledger }>;
  /** Absent when no market module is wired: holdings are valued at trade prices only. */
  market?: MarketPrices | undefined;
  clock: Clock;
  logger: Logger;
}


export interface PerformanceQuery {
  range: PerformanceRange;
  from?: string | undefined;
  to?: string | undefined;
}

/** How far before a period to look for a close to carry into it, before asking for all history. */
const CLOSE_LOOKBACK_DAYS = 31;

const invalidRange = (detail: string, field: string) =>
  new AppError(400, 'invalid_range', 'Bad request', { detail, errors: [{ field: `querystring.${field}`, message: detail }] });

/** Same calendar day `months` earlier (clamped to the month's end), as a day number. */
function monthsBefore(day: number, months: number): number {
  const d = new Date(day * 86_400_000);
  const year = d.getUTCFullYear();
  const month = d.getUTCMonth() - months;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return Date.UTC(year, month, d.getUTCDate() < lastDay ? d.getUTCDate() : lastDay) / 86_400_000;
}

/**
 * The period a range names, as inclusive UTC days. 1m/3m/1y: the days after the same
 * calendar day one/three/twelve months ago, up to today (the start value is that day's
 * closing value). ytd: 1 January to today. max: the first transaction's day to today.
 * custom: from..to as given (from ≤ to ≤ today). A period never starts before the first
 * transaction (there is nothing to value before it).
 */
export function resolveRange(query: PerformanceQuery, today: string, firstDay: string | null): { from: string; to: string } {
  const todayNumber = dayNumber(today);
  const hasCustom = query.from !== undefined || query.to !== undefined;
  if (query.range !== 'custom' && hasCustom) throw invalidRange('from and to are only allowed with range=custom', 'range');
  let from: number;
  let to = todayNumber;
  switch (query.range) {
    case '1m':
      from = monthsBefore(todayNumber, 1) + 1;
      break;
    case '3m':
      from = monthsBefore(todayNumber, 3) + 1;
      break;
    case '1y':
      from = monthsBefore(todayNumber, 12) + 1;
      break;
    case 'ytd':
      from = Date.UTC(new Date(todayNumber * 86_400_000).getUTCFullYear(), 0, 1) / 86_400_000;
      break;
    case 'max':
      from = firstDay === null ? todayNumber : dayNumber(firstDay);
      break;
    case 'custom': {
      if (query.from === undefined || query.to === undefined) throw invalidRange('range=custom needs both from and to (YYYY-MM-DD)', query.from === undefined ? 'from' : 'to');
      from = dayNumber(query.from);
      to = dayNumber(query.to);
      if (!Number.isInteger(from)) throw invalidRange('from is not a valid date', 'from');
      if (!Number.isInteger(to)) throw invalidRange('to is not a valid date', 'to');
      if (from > to) throw invalidRange('from must not be after to', 'from');
      if (to > todayNumber) throw invalidRange('to must not be in the future', 'to');
      break;
    }
  }
  if (firstDay !== null && from < dayNumber(firstDay)) from = dayNumber(firstDay) < to ? dayNumber(firstDay) : to;
  return { from: dayString(from), to: dayString(to) };
}

export function createAnalyticsService(deps: AnalyticsServiceDeps) {
  const { market, clock, logger } = deps;

  /**
   * Closes from shortly before `from` to `to`, fetched from the history provider first
   * where not yet covered (so the answer does not depend on which candles were requested
   * before); for a symbol with none in that window, all its stored history up to `to`.
   */
  async function closesFor(symbols: string[], from: string, to: string, firstDay: string): Promise<Map<string, DailyClose[]>> {
    if (market === undefined || symbols.length === 0) return new Map();
    const toDate = new Date(`${to}T23:59:59.999Z`);
    const windowStart = new Date((dayNumber(from) - CLOSE_LOOKBACK_DAYS) * 86_400_000);
    await market.fillDailyHistory(symbols, windowStart, new Date((dayNumber(to) + 1) * 86_400_000));
    const closes = await market.dailyCloses(symbols, windowStart, toDate);
    const missing = symbols.filter((s) => (closes.get(s) ?? []).every((c) => dayNumber(c.date) >= dayNumber(from)));
    if (missing.length > 0 && dayNumber(firstDay) < dayNumber(from)) {
      const older = await market.dailyCloses(missing, new Date(`${firstDay}T00:00:00.000Z`), toDate);
      for (const [symbol, list] of older) closes.set(symbol, list);
    }
    return closes;
  }

  async function performance(userId: string, portfolioId: string, query: PerformanceQuery): Promise<PerformanceOut> {
    const portfolio = await deps.ownedPortfolio(userId, portfolioId);
    const transactions = await deps.portfolioTransactions(userId, portfolioId);
    // The first transaction in replay order (earliest; the earlier-listed of a tie), in one pass rather than a sort.
    let first: TransactionFields | undefined;
    for (const tx of transactions) if (first === undefined || tx.executedAt.getTime() < first.executedAt.getTime()) first = tx;
    const firstDay = first === undefined ? null : utcDay(first.executedAt);
    const { from, to } = resolveRange(query, utcDay(clock.now()), firstDay);
    const symbols = [...new Set(transactions.flatMap((tx) => (tx.symbol !== null && (tx.type === 'buy' || tx.type === 'sell' || tx.type === 'split') ? [tx.symbol] : [])))].sort();
    const closes = await closesFor(symbols, from, to, firstDay ?? from);
    const result = await computePerformanceAsync({ transactions, closes, from, to });
    logger.debug({ event: 'performance_computed', portfolioId, days: result.days, symbols: symbols.length }, 'performance computed');

    const ccy = portfolio.baseCurrency;
    const amount = (value: Decimal) => formatAmount(value, ccy);
    const rate = (value: Decimal | null) => (value === null ? null : formatDecimal(value, 'rate'));
    return {
      portfolio_id: portfolio.id,
      base_currency: ccy,
      range: query.range,
      from: result.from,
      to: result.to,
      days: result.days,
      step: result.step,
      start_value: amount(result.startValue),
      end_value: amount(result.endValue),
      contributions: amount(result.contributions),
      withdrawals: amount(result.withdrawals),
      net_contributions: amount(result.netContributions),
      total_gain: amount(result.gain),
      simple_return: rate(result.simpleReturn),
      time_weighted_return: rate(result.twr),
      time_weighted_return_annualized: rate(result.twrAnnualized),
      money_weighted_return: {
        status: result.xirr.status,
        rate: rate(result.xirr.rate),
        method: result.xirr.method,
        iterations: result.xirr.iterations,
      },
      data_quality: {
        complete: isComplete(result.quality),
        symbols: result.quality.map((q) => ({
          symbol: q.symbol,
          days_held: q.daysHeld,
          close_days: q.closeDays,
          carried_forward_days: q.carriedForwardDays,
          longest_carry_days: q.longestCarryDays,
          trade_price_days: q.tradePriceDays,
          unpriced_days: q.unpricedDays,
          split_adjusted_history_restored: q.splitAdjustedHistoryRestored,
        })),
      },
      series: result.series.map((p) => ({
        date: p.date,
        value: amount(p.value),
        net_contributions: amount(p.netContributions),
        time_weighted_return: formatDecimal(p.twr, 'rate'),
      })),
    };
  }

  /**
   * Every open holding of every portfolio of the user, valued at the latest quotes, with
   * all amounts on one scale: the largest any portfolio or day change needs, so sorting
   * and totals across portfolios compare exact values.
   */
  async function allHoldings(userId: string): Promise<{ holdings: DashboardHolding[]; portfolios: Array<{ portfolio: Portfolio; cash: Amount; stale: boolean }>; scale: number }> {
    const portfolios = await deps.listPortfolios(userId);
    // Replays come from the portfolios service's cache (recomputed only after a change).
    // A portfolio deleted between the two reads is simply left out.
    const found = await Promise.all(
      portfolios.map((p) =>
        deps.ledgerOf(userId, p.id).catch((err: unknown) => {
          if (err instanceof AppError && err.status === 404) return null;
          throw err;
        }),
      ),
    );
    const ledgers = found.filter((entry) => entry !== null);
    const symbols = [...new Set(ledgers.flatMap(({ ledger }) => [...ledger.positions.values()].filter((p) => p.quantity.isPositive()).map((p) => p.symbol)))];
    const quotes: Map<string, LatestQuote> = market === undefined || symbols.length === 0 ? new Map<string, LatestQuote>() : await market.latestQuotes(symbols);

    let scale = 0;
    const valued = ledgers.map(({ portfolio, ledger }) => {
      const valuation = valueHoldings(ledger, quotes);
      if (valuation.scale > scale) scale = valuation.scale;
      const items = valuation.items.map((item) => {
        // Day change: quantity × (price − previous close) × the position's fx_rate.
        const previous = quotes.get(item.symbol)?.previous_close ?? null;
        const fxRate = ledger.positions.get(item.symbol)?.fxRate;
        if (item.price === null || previous === null || fxRate === undefined) return { item, change: null };
        const move = exactMinus(item.price, exactFromPlain(previous, 'previous_close'));
        const places = item.quantity.valuePlaces(move, fxRate);
        if (places > scale) scale = places;
        return { item, change: { move, fxRate } };
      });
      return { portfolio, valuation, items };
    });

    const holdings: DashboardHolding[] = [];
    const summaries: Array<{ portfolio: Portfolio; cash: Amount; stale: boolean }> = [];
    for (const { portfolio, valuation, items } of valued) {
      const up = (value: Amount) => rescale(value, valuation.scale, scale);
      summaries.push({ portfolio, cash: up(valuation.cash), stale: valuation.totals.stale });
      for (const { item, change } of items) {
        holdings.push({
          portfolioId: portfolio.id,
          portfolioName: portfolio.name,
          baseCurrency: portfolio.baseCurrency,
          symbol: item.symbol,
          quantity: item.quantity,
          price: item.price,
          stale: item.stale,
          costBasis: up(item.costBasis),
          marketValue: item.marketValue === null ? null : up(item.marketValue),
          unrealizedPnl: item.unrealizedPnl === null ? null : up(item.unrealizedPnl),
          realizedPnl: up(item.realizedPnl),
          weight: item.weight,
          dayChange: change === null ? null : item.quantity.valueAt(change.move, change.fxRate, scale),
        });
      }
    }
    return { holdings, portfolios: summaries, scale };
  }

  async function dashboard(userId: string, query: HoldingsPageQuery): Promise<DashboardOut> {
    const { holdings, portfolios, scale } = await allHoldings(userId);
    const page = pageHoldings(holdings, query, scale);

    // Totals per base currency: amounts in different currencies are never added together.
    const currencies = [...new Set(portfolios.map((p) => p.portfolio.baseCurrency))].sort();
    const totals = currencies.map((ccy) => {
      const mine = holdings.filter((h) => h.baseCurrency === ccy);
      const summaries = portfolios.filter((p) => p.portfolio.baseCurrency === ccy);
      const marketValue = sum(mine.map((h) => h.marketValue));
      const cash = sum(summaries.map((p) => p.cash));
      const amount = (value: Amount) => formatAmountFixed(value, scale, ccy);
      return {
        currency: ccy,
        portfolios: summaries.length,
        holdings: mine.length,
        market_value: amount(marketValue),
        cost_basis: amount(sum(mine.map((h) => h.costBasis))),
        unrealized_pnl: amount(sum(mine.map((h) => h.unrealizedPnl))),
        realized_pnl: amount(sum(mine.map((h) => h.realizedPnl))),
        day_change: amount(sum(mine.map((h) => h.dayChange))),
        cash: amount(cash),
        total_value: amount(marketValue + cash),
        stale: summaries.some((p) => p.stale),
      };
    });

    return {
      totals,
      items: page.items.map((h) => {
        const amount = (value: Amount | null) => (value === null ? null : formatAmountFixed(value, scale, h.baseCurrency));
        return {
          portfolio_id: h.portfolioId,
          portfolio_name: h.portfolioName,
          base_currency: h.baseCurrency,
          symbol: h.symbol,
          quantity: h.quantity.format(SCALE.quantity),
          price: h.price === null ? null : formatFixed(h.price.units, h.price.places, SCALE.price, true),
          stale: h.stale,
          cost_basis: formatAmountFixed(h.costBasis, scale, h.baseCurrency),
          market_value: amount(h.marketValue),
          unrealized_pnl: amount(h.unrealizedPnl),
          realized_pnl: formatAmountFixed(h.realizedPnl, scale, h.baseCurrency),
          weight: h.weight === null ? null : formatFixed(h.weight, WEIGHT_SCALE, SCALE.percent, true),
          day_change: amount(h.dayChange),
        };
      }),
      next_cursor: page.nextCursor,
    };
  }

  return { performance, dashboard };
}

export type AnalyticsService = ReturnType<typeof createAnalyticsService>;
