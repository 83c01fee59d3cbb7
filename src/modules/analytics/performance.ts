// Portfolio performance as pure functions over exact decimals (FAIL-002): a daily value
// series, time-weighted return (TWR), money-weighted return (XIRR), simple total return
// and net contributions. docs/performance.md states every definition and convention;
// the comments here say why the code follows them. Nothing in this file does I/O.
import { Decimal } from '../../money/index.ts';

export type PerfTransactionType = 'buy' | 'sell' | 'dividend' | 'interest' | 'fee' | 'split' | 'deposit' | 'withdrawal';

/** One stored transaction, reduced to what valuation needs. */
export interface PerfTransaction {
  type: PerfTransactionType;
  symbol: string | null;
  quantity: Decimal | null;
  price: Decimal | null;
  amount: Decimal | null;
  fee: Decimal;
  /** Rate to the portfolio's base currency (1 when the transaction is in the base currency). */
  fxRate: Decimal;
  executedAt: Date;
  ratioNumerator: number | null;
  ratioDenominator: number | null;
}

export interface DailyClose {
  date: string;
  close: string;
}

export interface PerformanceInput {
  transactions: readonly PerfTransaction[];
  /** Stored daily closes per symbol, oldest first (the market service's `dailyCloses`). */
  closes: ReadonlyMap<string, readonly DailyClose[]>;
  /** First and last day of the period, inclusive, as YYYY-MM-DD (UTC days). */
  from: string;
  to: string;
}

export interface SeriesPoint {
  date: string;
  /** Portfolio value at the end of the day, in the base currency. */
  value: Decimal;
  /** External flow of the day (deposits − withdrawals + implicit contributions). */
  flow: Decimal;
  /** Net contributions since the start of the period, cumulative. */
  netContributions: Decimal;
  /** Time-weighted return since the start of the period, cumulative (0.05 = 5 %). */
  twr: Decimal;
}

export type XirrStatus = 'ok' | 'no_cash_flows' | 'no_solution';

export interface XirrResult {
  status: XirrStatus;
  /** Annual rate (0.05 = 5 % a year); null unless status is 'ok'. */
  rate: Decimal | null;
  iterations: number;
  method: 'newton' | 'bisection' | null;
}

export interface CashFlow {
  /** Time from the start of the period, in days (Actual/365: years = days / 365). */
  days: number;
  /** Investor's view: money put in is negative, money taken out (or the final value) positive. */
  amount: Decimal;
}

export interface PerformanceResult {
  from: string;
  to: string;
  days: number;
  startValue: Decimal;
  endValue: Decimal;
  /** Money put in during the period: deposits plus implicit contributions. */
  contributions: Decimal;
  withdrawals: Decimal;
  netContributions: Decimal;
  /** endValue − startValue − netContributions. */
  gain: Decimal;
  /** gain / (startValue + contributions); null when that denominator is 0. */
  simpleReturn: Decimal | null;
  /** Cumulative TWR over the period; null when no capital was at work on any day. */
  twr: Decimal | null;
  /** (1 + twr)^(365 / days) − 1, only for periods of at least 365 days. */
  twrAnnualized: Decimal | null;
  xirr: XirrResult;
  cashFlows: CashFlow[];
  series: SeriesPoint[];
}

const ZERO = new Decimal(0);
const ONE = new Decimal(1);
const DAYS_PER_YEAR = new Decimal(365);
const MS_PER_DAY = 86_400_000;

// ---------------------------------------------------------------------------------------
// Days. Day numbers are integers (days since 1970-01-01 UTC); dates, not money.

export function dayNumber(date: string): number {
  return Date.parse(`${date}T00:00:00.000Z`) / MS_PER_DAY;
}

export function dayString(day: number): string {
  return new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
}

export function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

// ---------------------------------------------------------------------------------------
// XIRR

/** Iterative solvers stop when a step (Newton) or the bracket (bisection) is this small. */
export const XIRR_RATE_TOLERANCE = new Decimal('1e-24');
const NEWTON_MAX_ITERATIONS = 60;
const BISECTION_MAX_ITERATIONS = 500;
/** Rates are searched in (−1 + 1e-12, 1e6]: from −99.9999999999 % to 100,000,000 % a year. */
const LOWER_BOUND = new Decimal('-0.999999999999');
const UPPER_BOUNDS = ['1', '10', '100', '1000', '1000000'].map((v) => new Decimal(v));

/** NPV(r) = Σ c_i · (1 + r)^(−t_i), t_i = days_i / 365. */
export function npv(flows: readonly CashFlow[], rate: Decimal): Decimal {
  return npvAndSlope(flows, rate).value;
}

/**
 * NPV and dNPV/dr = Σ −t_i · c_i · (1 + r)^(−t_i − 1) in one pass: ln(1 + r) once, then
 * one exp per flow (fractional powers are the expensive part of exact arithmetic).
 */
function npvAndSlope(flows: readonly CashFlow[], rate: Decimal): { value: Decimal; slope: Decimal } {
  const base = ONE.plus(rate);
  const logBase = base.ln();
  let value = ZERO;
  let slope = ZERO;
  for (const flow of flows) {
    if (flow.amount.isZero()) continue;
    if (flow.days === 0) {
      value = value.plus(flow.amount);
      continue;
    }
    const years = new Decimal(flow.days).div(DAYS_PER_YEAR);
    const discounted = flow.amount.times(years.times(logBase).negated().exp());
    value = value.plus(discounted);
    slope = slope.minus(years.times(discounted).div(base));
  }
  return { value, slope };
}

/**
 * The annual rate r with NPV(r) = 0. Newton's method from `guess` first; when it leaves
 * (−1, ∞), meets a zero derivative or does not settle, a bracketed search: find rates
 * where NPV has opposite signs, then Newton steps that stay inside the bracket, bisection
 * otherwise (so it always converges). No sign change among the flows (all in, or all
 * out) means no rate exists ('no_solution'), and so does a bracket search that finds no
 * sign change. With several sign changes several rates can exist; the one found is
 * reported.
 */
export function xirr(flows: readonly CashFlow[], guess: Decimal = new Decimal('0.1')): XirrResult {
  const nonZero = flows.filter((f) => !f.amount.isZero());
  if (nonZero.length === 0) return { status: 'no_cash_flows', rate: null, iterations: 0, method: null };
  const hasIn = nonZero.some((f) => f.amount.lt(ZERO));
  const hasOut = nonZero.some((f) => f.amount.gt(ZERO));
  const days = nonZero.map((f) => f.days);
  const span = days.reduce((a, b) => (a > b ? a : b)) - days.reduce((a, b) => (a < b ? a : b));
  if (!hasIn || !hasOut || span === 0) return { status: 'no_solution', rate: null, iterations: 0, method: null };

  let rate = guess.lte(LOWER_BOUND) ? new Decimal('0.1') : guess;
  for (let i = 1; i <= NEWTON_MAX_ITERATIONS; i++) {
    const { value, slope } = npvAndSlope(nonZero, rate);
    if (value.isZero()) return { status: 'ok', rate, iterations: i, method: 'newton' };
    if (slope.isZero()) break;
    const next = rate.minus(value.div(slope));
    if (!next.isFinite() || next.lte(LOWER_BOUND)) break;
    if (next.minus(rate).abs().lte(XIRR_RATE_TOLERANCE)) return { status: 'ok', rate: next, iterations: i, method: 'newton' };
    rate = next;
  }
  return bracketed(nonZero);
}

function bracketed(flows: readonly CashFlow[]): XirrResult {
  let lo = LOWER_BOUND;
  const loNegative = npv(flows, lo).lt(ZERO);
  let hi: Decimal | undefined;
  for (const candidate of UPPER_BOUNDS) {
    const value = npv(flows, candidate);
    if (value.isZero()) return { status: 'ok', rate: candidate, iterations: 0, method: 'bisection' };
    if (value.lt(ZERO) !== loNegative) {
      hi = candidate;
      break;
    }
  }
  if (hi === undefined) return { status: 'no_solution', rate: null, iterations: 0, method: 'bisection' };
  let rate = lo.plus(hi).div(2);
  for (let i = 1; i <= BISECTION_MAX_ITERATIONS; i++) {
    const { value, slope } = npvAndSlope(flows, rate);
    if (value.isZero()) return { status: 'ok', rate, iterations: i, method: 'bisection' };
    if (value.lt(ZERO) === loNegative) lo = rate;
    else hi = rate;
    const newton = slope.isZero() ? null : rate.minus(value.div(slope));
    const next = newton !== null && newton.gt(lo) && newton.lt(hi) ? newton : lo.plus(hi).div(2);
    if (next.minus(rate).abs().lte(XIRR_RATE_TOLERANCE) || hi.minus(lo).lte(XIRR_RATE_TOLERANCE)) {
      return { status: 'ok', rate: next, iterations: i, method: 'bisection' };
    }
    rate = next;
  }
  return { status: 'ok', rate, iterations: BISECTION_MAX_ITERATIONS, method: 'bisection' };
}

// ---------------------------------------------------------------------------------------
// Valuation and returns

interface Position {
  quantity: Decimal;
  /** Last trade price (split-adjusted) and the day it was set: the fallback before any close. */
  tradePrice: Decimal | null;
  tradeDay: number;
  /** fx rate of the most recent trade in this symbol, used to value it in the base currency. */
  fxRate: Decimal;
}

interface CloseCursor {
  closes: readonly DailyClose[];
  next: number;
  price: Decimal | null;
  day: number;
}

/**
 * State of the portfolio while transactions are replayed in time order. Cash is kept in
 * the base currency and never goes below zero: whatever a transaction needs beyond the
 * cash held (a buy recorded without a deposit, a fee) counts as an implicit contribution,
 * i.e. money the owner brought in from outside at that moment.
 */
class Replay {
  cash = ZERO;
  readonly positions = new Map<string, Position>();

  /** Applies one transaction; returns its external flow (deposit +, withdrawal −, implicit +). */
  apply(tx: PerfTransaction): Decimal {
    const fx = tx.fxRate;
    const fee = tx.fee.times(fx);
    let flow = ZERO;
    switch (tx.type) {
      case 'deposit': {
        const amount = (tx.amount ?? ZERO).times(fx);
        flow = amount;
        this.cash = this.cash.plus(amount).minus(fee);
        break;
      }
      case 'withdrawal': {
        const amount = (tx.amount ?? ZERO).times(fx);
        flow = amount.negated();
        this.cash = this.cash.minus(amount).minus(fee);
        break;
      }
      case 'buy':
      case 'sell': {
        const position = this.position(tx.symbol ?? '');
        const quantity = tx.quantity ?? ZERO;
        const price = tx.price ?? ZERO;
        const gross = quantity.times(price).times(fx);
        if (tx.type === 'buy') {
          position.quantity = position.quantity.plus(quantity);
          this.cash = this.cash.minus(gross).minus(fee);
        } else {
          position.quantity = position.quantity.minus(quantity);
          this.cash = this.cash.plus(gross).minus(fee);
        }
        position.tradePrice = price;
        position.tradeDay = dayNumber(utcDay(tx.executedAt));
        position.fxRate = fx;
        break;
      }
      case 'dividend':
      case 'interest':
        this.cash = this.cash.plus((tx.amount ?? ZERO).times(fx)).minus(fee);
        break;
      case 'fee':
        this.cash = this.cash.minus((tx.amount ?? ZERO).times(fx)).minus(fee);
        break;
      case 'split': {
        const position = this.position(tx.symbol ?? '');
        const numerator = new Decimal(tx.ratioNumerator ?? 1);
        const denominator = new Decimal(tx.ratioDenominator ?? 1);
        position.quantity = position.quantity.times(numerator).div(denominator);
        if (position.tradePrice !== null) position.tradePrice = position.tradePrice.times(denominator).div(numerator);
        this.cash = this.cash.minus(fee);
        break;
      }
    }
    if (this.cash.lt(ZERO)) {
      flow = flow.minus(this.cash);
      this.cash = ZERO;
    }
    return flow;
  }

  private position(symbol: string): Position {
    let position = this.positions.get(symbol);
    if (position === undefined) {
      position = { quantity: ZERO, tradePrice: null, tradeDay: Number.NEGATIVE_INFINITY, fxRate: ONE };
      this.positions.set(symbol, position);
    }
    return position;
  }
}

/** Price of a symbol at the end of `day`: the most recent of its last close and its last trade. */
function priceAt(position: Position, cursor: CloseCursor | undefined, day: number): Decimal | null {
  if (cursor !== undefined) {
    while (cursor.next < cursor.closes.length) {
      const bar = cursor.closes[cursor.next];
      if (bar === undefined) break;
      const barDay = dayNumber(bar.date);
      if (barDay > day) break;
      cursor.price = new Decimal(bar.close);
      cursor.day = barDay;
      cursor.next++;
    }
    // A close on the same day as a trade is the later price (it is the end of that day).
    if (cursor.price !== null && cursor.day >= position.tradeDay) return cursor.price;
  }
  return position.tradePrice;
}

function valueAt(replay: Replay, cursors: Map<string, CloseCursor>, day: number): Decimal {
  let value = replay.cash;
  for (const [symbol, position] of replay.positions) {
    if (position.quantity.isZero()) continue;
    const price = priceAt(position, cursors.get(symbol), day);
    if (price === null) continue;
    value = value.plus(position.quantity.times(price).times(position.fxRate));
  }
  return value;
}

/** Transactions in time order; ties keep their given order (the caller's stable order). */
function chronological(transactions: readonly PerfTransaction[]): PerfTransaction[] {
  return transactions
    .map((tx, index) => ({ tx, index }))
    .sort((a, b) => a.tx.executedAt.getTime() - b.tx.executedAt.getTime() || a.index - b.index)
    .map(({ tx }) => tx);
}

/**
 * Replays every transaction and values the portfolio at the end of each calendar day from
 * `from` to `to`. Sub-period returns are daily and chained:
 *   r_d = V_d / (V_{d−1} + F_d) − 1,    TWR = Π (1 + r_d) − 1,
 * where F_d is the day's external flow, taken at the start of the day (so money deposited
 * and invested on a day earns that day's move). A day whose V_{d−1} + F_d is not positive
 * has no capital at work and contributes r_d = 0.
 */
export function computePerformance(input: PerformanceInput): PerformanceResult {
  const fromDay = dayNumber(input.from);
  const toDay = dayNumber(input.to);
  if (!(fromDay <= toDay)) throw new RangeError(`from (${input.from}) must not be after to (${input.to})`);

  const replay = new Replay();
  const cursors = new Map<string, CloseCursor>();
  for (const [symbol, closes] of input.closes) cursors.set(symbol, { closes, next: 0, price: null, day: Number.NEGATIVE_INFINITY });

  const ordered = chronological(input.transactions);
  let next = 0;
  // Everything before the period only shapes the starting value.
  while (next < ordered.length) {
    const tx = ordered[next];
    if (tx === undefined || dayNumber(utcDay(tx.executedAt)) >= fromDay) break;
    replay.apply(tx);
    next++;
  }
  const startValue = valueAt(replay, cursors, fromDay - 1);

  const series: SeriesPoint[] = [];
  const cashFlows: CashFlow[] = [];
  let previous = startValue;
  let growth = ONE;
  let anyCapital = false;
  let contributions = ZERO;
  let withdrawals = ZERO;
  let netContributions = ZERO;
  if (!startValue.isZero()) cashFlows.push({ days: 0, amount: startValue.negated() });

  for (let day = fromDay; day <= toDay; day++) {
    let flow = ZERO;
    while (next < ordered.length) {
      const tx = ordered[next];
      if (tx === undefined || dayNumber(utcDay(tx.executedAt)) > day) break;
      const txFlow = replay.apply(tx);
      if (tx.type === 'withdrawal') {
        // A withdrawal's flow is −amount plus whatever had to be brought in to cover it.
        const amount = (tx.amount ?? ZERO).times(tx.fxRate);
        withdrawals = withdrawals.plus(amount);
        contributions = contributions.plus(txFlow.plus(amount));
      } else {
        contributions = contributions.plus(txFlow);
      }
      flow = flow.plus(txFlow);
      next++;
    }
    const value = valueAt(replay, cursors, day);
    const base = previous.plus(flow);
    if (base.gt(ZERO)) {
      growth = growth.times(value.div(base));
      anyCapital = true;
    }
    netContributions = netContributions.plus(flow);
    if (!flow.isZero()) cashFlows.push({ days: day - fromDay, amount: flow.negated() });
    series.push({ date: dayString(day), value, flow, netContributions, twr: growth.minus(ONE) });
    previous = value;
  }

  const days = toDay - fromDay + 1;
  const endValue = previous;
  if (!endValue.isZero()) cashFlows.push({ days, amount: endValue });
  const gain = endValue.minus(startValue).minus(netContributions);
  const invested = startValue.plus(contributions);
  const twr = anyCapital ? growth.minus(ONE) : null;
  const twrAnnualized =
    twr !== null && days >= 365 && growth.gt(ZERO) ? growth.pow(DAYS_PER_YEAR.div(days)).minus(ONE) : null;
  return {
    from: input.from,
    to: input.to,
    days,
    startValue,
    endValue,
    contributions,
    withdrawals,
    netContributions,
    gain,
    simpleReturn: invested.gt(ZERO) ? gain.div(invested) : null,
    twr,
    twrAnnualized,
    xirr: xirr(mergeSameDay(cashFlows), simpleGuess(gain, invested, days)),
    cashFlows,
    series,
  };
}

/** Flows on the same day are one flow (the end value lands on day `days`, after the last). */
function mergeSameDay(flows: readonly CashFlow[]): CashFlow[] {
  const merged: CashFlow[] = [];
  for (const flow of flows) {
    const last = merged.at(-1);
    if (last !== undefined && last.days === flow.days) last.amount = last.amount.plus(flow.amount);
    else merged.push({ ...flow });
  }
  return merged;
}

/** Newton starts from the simple return, annualised linearly, kept inside (−0.9, 10). */
function simpleGuess(gain: Decimal, invested: Decimal, days: number): Decimal {
  if (!invested.gt(ZERO)) return new Decimal('0.1');
  const guess = gain.div(invested).times(DAYS_PER_YEAR).div(days);
  return Decimal.max(new Decimal('-0.9'), Decimal.min(new Decimal(10), guess));
}
