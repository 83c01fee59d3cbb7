// Portfolio performance as pure functions over exact decimals (FAIL-002): a daily value
// series, time-weighted return (TWR), money-weighted return (XIRR), simple total return
// and net contributions. docs/performance.md states every definition and convention;
// the comments here say why the code follows them. Nothing in this file does I/O.
// The long loops (one step per day of the period, one per cash flow of an XIRR iteration)
// are generators: computePerformance runs them straight through, computePerformanceAsync
// gives the event loop a turn whenever a slice has run SLICE_MS (FAIL-023).
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Decimal, toPlain } from '../../money/index.ts';

/** A computation that pauses (yields) at points where it may give the event loop a turn. */
type Steps<T> = Generator<undefined, T, undefined>;

function runSync<T>(steps: Steps<T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done === true) return step.value;
  }
}

/** Longest run of computation between two turns of the event loop, ms. */
export const SLICE_MS = 10;

async function runSliced<T>(steps: Steps<T>, sliceMs: number): Promise<T> {
  let sliceStart = performance.now();
  for (;;) {
    const step = steps.next();
    if (step.done === true) return step.value;
    if (performance.now() - sliceStart >= sliceMs) {
      await nextTurn();
      sliceStart = performance.now();
    }
  }
}

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

/**
 * Spacing of the series: one point per day up to DAILY_POINTS_MAX days, then one per week
 * (ending on `to`) up to WEEKLY_POINTS_MAX weeks, then one per calendar month (its last
 * day, and `to`). Returns are still chained daily; only the points reported thin out, so a
 * long period (back to 1900: ~46,000 days) answers ~1,500 points instead of one per day.
 */
export type SeriesStep = 'day' | 'week' | 'month';
export const DAILY_POINTS_MAX = 1_100;
export const WEEKLY_POINTS_MAX = 1_100;

export function seriesStep(days: number): SeriesStep {
  if (days <= DAILY_POINTS_MAX) return 'day';
  if (days <= WEEKLY_POINTS_MAX * 7) return 'week';
  return 'month';
}

export interface SeriesPoint {
  date: string;
  /** Portfolio value at the end of the day, in the base currency. */
  value: Decimal;
  /** External flow since the previous point (deposits − withdrawals + implicit contributions); a day's with step `day`. */
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
  /** Spacing of `series`. */
  step: SeriesStep;
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
  /** Per symbol held during the period, by symbol: how its days were priced. */
  quality: SymbolQuality[];
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
  return runSync(npvAndSlope(flows, rate)).value;
}

/** Flows discounted between two pauses (each is an exp and a ln-sized multiplication). */
const FLOWS_PER_STEP = 16;

/**
 * NPV and dNPV/dr = Σ −t_i · c_i · (1 + r)^(−t_i − 1) in one pass: ln(1 + r) once, then
 * one exp per flow (fractional powers are the expensive part of exact arithmetic).
 */
function* npvAndSlope(flows: readonly CashFlow[], rate: Decimal): Steps<{ value: Decimal; slope: Decimal }> {
  const base = ONE.plus(rate);
  const logBase = base.ln();
  let value = ZERO;
  let slope = ZERO;
  for (const [index, flow] of flows.entries()) {
    if (index % FLOWS_PER_STEP === FLOWS_PER_STEP - 1) yield;
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
  return runSync(xirrSteps(flows, guess));
}

function* xirrSteps(flows: readonly CashFlow[], guess: Decimal): Steps<XirrResult> {
  const nonZero = flows.filter((f) => !f.amount.isZero());
  if (nonZero.length === 0) return { status: 'no_cash_flows', rate: null, iterations: 0, method: null };
  const hasIn = nonZero.some((f) => f.amount.lt(ZERO));
  const hasOut = nonZero.some((f) => f.amount.gt(ZERO));
  const days = nonZero.map((f) => f.days);
  const span = days.reduce((a, b) => (a > b ? a : b)) - days.reduce((a, b) => (a < b ? a : b));
  if (!hasIn || !hasOut || span === 0) return { status: 'no_solution', rate: null, iterations: 0, method: null };

  let rate = guess.lte(LOWER_BOUND) ? new Decimal('0.1') : guess;
  for (let i = 1; i <= NEWTON_MAX_ITERATIONS; i++) {
    const { value, slope } = yield* npvAndSlope(nonZero, rate);
    if (value.isZero()) return { status: 'ok', rate, iterations: i, method: 'newton' };
    if (slope.isZero()) break;
    const next = rate.minus(value.div(slope));
    if (!next.isFinite() || next.lte(LOWER_BOUND)) break;
    if (next.minus(rate).abs().lte(XIRR_RATE_TOLERANCE)) return { status: 'ok', rate: next, iterations: i, method: 'newton' };
    rate = next;
  }
  return yield* bracketed(nonZero);
}

function* bracketed(flows: readonly CashFlow[]): Steps<XirrResult> {
  let lo = LOWER_BOUND;
  const loNegative = (yield* npvAndSlope(flows, lo)).value.lt(ZERO);
  let hi: Decimal | undefined;
  for (const candidate of UPPER_BOUNDS) {
    const { value } = yield* npvAndSlope(flows, candidate);
    if (value.isZero()) return { status: 'ok', rate: candidate, iterations: 0, method: 'bisection' };
    if (value.lt(ZERO) !== loNegative) {
      hi = candidate;
      break;
    }
  }
  if (hi === undefined) return { status: 'no_solution', rate: null, iterations: 0, method: 'bisection' };
  let rate = lo.plus(hi).div(2);
  for (let i = 1; i <= BISECTION_MAX_ITERATIONS; i++) {
    const { value, slope } = yield* npvAndSlope(flows, rate);
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

/** How a held position's price at the end of a day was found. */
export type PriceBasis = 'close' | 'carried_forward' | 'trade_price' | 'unpriced';

/**
 * Price of a symbol at the end of `day`: the most recent of its last close and its last
 * trade, and how it was found: that day's close, an earlier close carried forward, the
 * last trade price (no close since the trade), or none at all.
 */
function priceAt(position: Position, cursor: CloseCursor | undefined, day: number): { price: Decimal | null; basis: PriceBasis; carriedDays: number } {
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
    if (cursor.price !== null && cursor.day >= position.tradeDay) {
      return cursor.day === day ? { price: cursor.price, basis: 'close', carriedDays: 0 } : { price: cursor.price, basis: 'carried_forward', carriedDays: day - cursor.day };
    }
  }
  return position.tradePrice === null ? { price: null, basis: 'unpriced', carriedDays: 0 } : { price: position.tradePrice, basis: 'trade_price', carriedDays: 0 };
}

/** Per symbol: how each day of the period on which it was held was priced. */
export interface SymbolQuality {
  symbol: string;
  daysHeld: number;
  closeDays: number;
  carriedForwardDays: number;
  /** The longest run of days one close was carried over (weekends and holidays: 1–4). */
  longestCarryDays: number;
  tradePriceDays: number;
  unpricedDays: number;
  /** Recorded splits across which the stored closes were split-adjusted and were restored to as-traded prices. */
  splitAdjustedHistoryRestored: number;
}

/** A close carried over more days than this means missing history, not a market closure. */
export const MAX_NORMAL_CARRY_DAYS = 5;

type QualityTracker = Map<string, SymbolQuality>;

function track(quality: QualityTracker, symbol: string, basis: PriceBasis, carriedDays: number): void {
  let q = quality.get(symbol);
  if (q === undefined) {
    q = { symbol, daysHeld: 0, closeDays: 0, carriedForwardDays: 0, longestCarryDays: 0, tradePriceDays: 0, unpricedDays: 0, splitAdjustedHistoryRestored: 0 };
    quality.set(symbol, q);
  }
  q.daysHeld++;
  switch (basis) {
    case 'close':
      q.closeDays++;
      break;
    case 'carried_forward':
      q.carriedForwardDays++;
      if (carriedDays > q.longestCarryDays) q.longestCarryDays = carriedDays;
      break;
    case 'trade_price':
      q.tradePriceDays++;
      break;
    case 'unpriced':
      q.unpricedDays++;
      break;
  }
}

/** Complete: every held day priced from a close of that day or one carried over a normal market closure. */
export function isComplete(quality: Iterable<SymbolQuality>): boolean {
  for (const q of quality) if (q.tradePriceDays > 0 || q.unpricedDays > 0 || q.longestCarryDays > MAX_NORMAL_CARRY_DAYS) return false;
  return true;
}

function valueAt(replay: Replay, cursors: Map<string, CloseCursor>, day: number, quality?: QualityTracker): Decimal {
  let value = replay.cash;
  for (const [symbol, position] of replay.positions) {
    if (position.quantity.isZero()) continue;
    const { price, basis, carriedDays } = priceAt(position, cursors.get(symbol), day);
    if (quality !== undefined) track(quality, symbol, basis, carriedDays);
    if (price === null) continue;
    value = value.plus(position.quantity.times(price).times(position.fxRate));
  }
  return value;
}

/**
 * Closes on one basis: as traded. A split the user recorded halves (2:1) the traded price
 * on its day, and the quantity doubles in the replay, so the value does not move. A
 * provider's split-adjusted history (Yahoo's closes) instead shows the earlier days at the
 * post-split scale; that is recognised at each recorded split from the closes either side:
 * last close before ÷ first close on or after the split day is nearer 1 than the ratio
 * (x² < ratio for a split, x² > ratio for a reverse split: the geometric midpoint), and then
 * every earlier close is multiplied by the ratio. Splits are taken latest first, so an earlier
 * split is judged on closes already restored for the later ones.
 */
export function closesAsTraded(closes: readonly DailyClose[], splits: ReadonlyArray<{ day: number; ratio: Decimal }>): { closes: DailyClose[]; restored: number } {
  let prices = closes.map((c) => ({ date: c.date, day: dayNumber(c.date), close: new Decimal(c.close) }));
  let restored = 0;
  for (const split of [...splits].sort((a, b) => b.day - a.day)) {
    if (split.ratio.eq(ONE) || !split.ratio.gt(ZERO)) continue;
    const after = prices.findIndex((p) => p.day >= split.day);
    if (after <= 0) continue; // no close on one side of the split
    const before = prices[after - 1];
    const first = prices[after];
    if (before === undefined || first === undefined || !first.close.gt(ZERO)) continue;
    const x = before.close.div(first.close);
    const adjusted = split.ratio.gt(ONE) ? x.times(x).lt(split.ratio) : x.times(x).gt(split.ratio);
    if (!adjusted) continue;
    restored++;
    prices = prices.map((p, i) => (i < after ? { ...p, close: p.close.times(split.ratio) } : p));
  }
  if (restored === 0) return { closes: [...closes], restored };
  return { closes: prices.map((p) => ({ date: p.date, close: toPlain(p.close) })), restored };
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
  return runSync(performanceSteps(input));
}

/**
 * The same result as computePerformance, computed in slices of at most `sliceMs` of work
 * (give or take one day's valuation or one cash flow's discounting) with a turn of the
 * event loop between them: a period of decades over many transactions never holds the
 * loop for long (FAIL-023). The arithmetic is identical; only when it runs differs.
 */
export function computePerformanceAsync(input: PerformanceInput, sliceMs: number = SLICE_MS): Promise<PerformanceResult> {
  return runSliced(performanceSteps(input), sliceMs);
}

function* performanceSteps(input: PerformanceInput): Steps<PerformanceResult> {
  const fromDay = dayNumber(input.from);
  const toDay = dayNumber(input.to);
  if (!(fromDay <= toDay)) throw new RangeError(`from (${input.from}) must not be after to (${input.to})`);

  const replay = new Replay();
  const cursors = new Map<string, CloseCursor>();
  const splitsOf = new Map<string, Array<{ day: number; ratio: Decimal }>>();
  for (const tx of input.transactions) {
    if (tx.type !== 'split' || tx.symbol === null) continue;
    const list = splitsOf.get(tx.symbol) ?? [];
    list.push({ day: dayNumber(utcDay(tx.executedAt)), ratio: new Decimal(tx.ratioNumerator ?? 1).div(tx.ratioDenominator ?? 1) });
    splitsOf.set(tx.symbol, list);
  }
  const restoredSplits = new Map<string, number>();
  for (const [symbol, stored] of input.closes) {
    yield;
    const { closes, restored } = closesAsTraded(stored, splitsOf.get(symbol) ?? []);
    if (restored > 0) restoredSplits.set(symbol, restored);
    cursors.set(symbol, { closes, next: 0, price: null, day: Number.NEGATIVE_INFINITY });
  }

  const ordered = chronological(input.transactions);
  let next = 0;
  // Everything before the period only shapes the starting value.
  while (next < ordered.length) {
    const tx = ordered[next];
    if (tx === undefined || dayNumber(utcDay(tx.executedAt)) >= fromDay) break;
    replay.apply(tx);
    next++;
    if (next % 256 === 0) yield;
  }
  const startValue = valueAt(replay, cursors, fromDay - 1);

  const quality: QualityTracker = new Map();
  const series: SeriesPoint[] = [];
  const cashFlows: CashFlow[] = [];
  let previous = startValue;
  let growth = ONE;
  let anyCapital = false;
  let contributions = ZERO;
  let withdrawals = ZERO;
  let netContributions = ZERO;
  if (!startValue.isZero()) cashFlows.push({ days: 0, amount: startValue.negated() });
  const step = seriesStep(toDay - fromDay + 1);
  const isPoint = (day: number): boolean => {
    if (step === 'day' || day === toDay) return true;
    if (step === 'week') return (toDay - day) % 7 === 0;
    return new Date((day + 1) * 86_400_000).getUTCDate() === 1; // the last day of its month
  };
  let flowSincePoint = ZERO;

  for (let day = fromDay; day <= toDay; day++) {
    yield;
    let flow = ZERO;
    while (next < ordered.length) {
      const tx = ordered[next];
      if (tx === undefined || dayNumber(utcDay(tx.executedAt)) > day) break;
      if (next % 256 === 255) yield;
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
    const value = valueAt(replay, cursors, day, quality);
    const base = previous.plus(flow);
    if (base.gt(ZERO)) {
      growth = growth.times(value.div(base));
      anyCapital = true;
    }
    netContributions = netContributions.plus(flow);
    if (!flow.isZero()) cashFlows.push({ days: day - fromDay, amount: flow.negated() });
    flowSincePoint = flowSincePoint.plus(flow);
    if (isPoint(day)) {
      series.push({ date: dayString(day), value, flow: flowSincePoint, netContributions, twr: growth.minus(ONE) });
      flowSincePoint = ZERO;
    }
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
    step,
    startValue,
    endValue,
    contributions,
    withdrawals,
    netContributions,
    gain,
    simpleReturn: invested.gt(ZERO) ? gain.div(invested) : null,
    twr,
    twrAnnualized,
    xirr: yield* xirrSteps(mergeSameDay(cashFlows), simpleGuess(gain, invested, days)),
    cashFlows,
    series,
    quality: [...quality.values()].map((q) => ({ ...q, splitAdjustedHistoryRestored: restoredSplits.get(q.symbol) ?? 0 })).sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0)),
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
