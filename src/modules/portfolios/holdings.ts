// The holdings engine: a pure replay of a portfolio's transactions into positions with
// FIFO lots, realized P&L, income, fees and cash, all in the portfolio's base currency
// and all exact (FAIL-002). No I/O: the service loads transactions and quotes and hands
// them in, so the same code serves the API, the import validation, the analytics and
// the property tests.
//
// Rules (docs/portfolios.md explains them for users):
// - Replay order is executed_at, then the order transactions were recorded.
// - Every amount is converted to base currency with the transaction's own fx_rate
//   (base units per unit of the transaction currency).
// - A buy opens a lot whose cost is (quantity × price + fee) × fx_rate. Lot cost is held
//   as an exact total; cost per share is derived (cost ÷ quantity) only for display, so a
//   per-share cost that does not terminate (100 / 3) never loses anything.
// - A sell consumes lots oldest first. A partly sold lot gives up cost × (sold ÷ lot
//   quantity), rounded to COST_SCALE (30) places, and keeps the difference, so lot costs
//   always add up to what was paid.
//   Realized P&L = (quantity × price − fee) × fx_rate − cost of the lots consumed.
// - A split multiplies every open lot's quantity by numerator/denominator exactly
//   (quantities are rationals, see quantity.ts); lot costs do not change.
// - Cash: deposits and sells add, withdrawals and buys subtract, income adds net of its
//   fee, fee transactions subtract amount plus fee. Cash may go negative (a portfolio
//   that does not record its deposits).
import { Decimal, SCALE, toPlain } from '../../money/index.ts';
import type { LedgerTransaction, Quote } from './portfolios.types.ts';
import { Quantity } from './quantity.ts';

const ZERO = new Decimal(0);

/**
 * Decimal places of the cost share taken from a partly sold lot. Far below any currency
 * unit, and small enough that sums and differences of such values stay within the
 * 60 significant digits of Decimal, so they are exact.
 */
export const COST_SCALE = 30;

export interface Lot {
  /** The buy that opened the lot. */
  transactionId: string;
  acquiredAt: Date;
  quantity: Quantity;
  /** Remaining cost of the lot in base currency, fee included; exact. */
  cost: Decimal;
}

export interface Position {
  symbol: string;
  /** Open lots, oldest first. */
  lots: Lot[];
  /** Sum of the lots' quantities (kept alongside for speed; always equal). */
  quantity: Quantity;
  realizedPnl: Decimal;
  dividends: Decimal;
  interest: Decimal;
  /** All fees paid on this symbol (trade fees included; they are also inside cost and realized P&L). */
  fees: Decimal;
  /** Currency and fx_rate of the latest buy/sell: used to convert the quote to base currency. */
  currency: string | null;
  fxRate: Decimal;
}

export class InsufficientQuantityError extends Error {
  readonly transactionId: string;
  readonly symbol: string;
  readonly executedAt: Date;
  readonly held: Decimal;
  readonly requested: Decimal;

  constructor(tx: LedgerTransaction, held: Quantity, requested: Decimal) {
    super(`sell of ${toPlain(requested)} ${tx.symbol ?? ''} exceeds the ${toPlain(held.toDecimal())} held at ${tx.executedAt.toISOString()}`);
    this.name = 'InsufficientQuantityError';
    this.transactionId = tx.id;
    this.symbol = tx.symbol ?? '';
    this.executedAt = tx.executedAt;
    this.held = held.toDecimal();
    this.requested = requested;
  }
}

function base(value: Decimal, tx: LedgerTransaction): Decimal {
  return value.times(tx.fxRate);
}

function required<T>(value: T | null, field: string, tx: LedgerTransaction): T {
  if (value === null) throw new TypeError(`${tx.type} transaction ${tx.id} has no ${field}`);
  return value;
}

/** Stable replay order: executed_at, ties keep the input order (the recorded order). */
export function sortForReplay<T extends Pick<LedgerTransaction, 'executedAt'>>(transactions: readonly T[]): T[] {
  return transactions
    .map((tx, index) => ({ tx, index }))
    .sort((a, b) => a.tx.executedAt.getTime() - b.tx.executedAt.getTime() || a.index - b.index)
    .map((entry) => entry.tx);
}

/**
 * Positions and cash, built by applying transactions in replay order. Analytics can
 * apply transactions one at a time and read the state between them (value on a date).
 */
export class Ledger {
  readonly positions = new Map<string, Position>();
  cash = ZERO;
  deposits = ZERO;
  withdrawals = ZERO;
  /** Portfolio-wide totals of income and fees (symbol-level ones included). */
  dividends = ZERO;
  interest = ZERO;
  fees = ZERO;
  realizedPnl = ZERO;

  private position(symbol: string): Position {
    let position = this.positions.get(symbol);
    if (position === undefined) {
      position = {
        symbol,
        lots: [],
        quantity: Quantity.ZERO,
        realizedPnl: ZERO,
        dividends: ZERO,
        interest: ZERO,
        fees: ZERO,
        currency: null,
        fxRate: new Decimal(1),
      };
      this.positions.set(symbol, position);
    }
    return position;
  }

  /** Applies one transaction; throws InsufficientQuantityError for a sell beyond the holding. */
  apply(tx: LedgerTransaction): void {
    const fee = base(tx.fee, tx);
    this.fees = this.fees.plus(fee);
    switch (tx.type) {
      case 'deposit': {
        const amount = base(required(tx.amount, 'amount', tx), tx);
        this.deposits = this.deposits.plus(amount);
        this.cash = this.cash.plus(amount).minus(fee);
        return;
      }
      case 'withdrawal': {
        const amount = base(required(tx.amount, 'amount', tx), tx);
        this.withdrawals = this.withdrawals.plus(amount);
        this.cash = this.cash.minus(amount).minus(fee);
        return;
      }
      case 'buy':
        return this.buy(tx, fee);
      case 'sell':
        return this.sell(tx, fee);
      case 'dividend': {
        const amount = base(required(tx.amount, 'amount', tx), tx);
        const position = this.position(required(tx.symbol, 'symbol', tx));
        position.dividends = position.dividends.plus(amount);
        position.fees = position.fees.plus(fee);
        this.dividends = this.dividends.plus(amount);
        this.cash = this.cash.plus(amount).minus(fee);
        return;
      }
      case 'interest': {
        const amount = base(required(tx.amount, 'amount', tx), tx);
        if (tx.symbol !== null) {
          const position = this.position(tx.symbol);
          position.interest = position.interest.plus(amount);
          position.fees = position.fees.plus(fee);
        }
        this.interest = this.interest.plus(amount);
        this.cash = this.cash.plus(amount).minus(fee);
        return;
      }
      case 'fee': {
        const amount = base(required(tx.amount, 'amount', tx), tx);
        if (tx.symbol !== null) {
          const position = this.position(tx.symbol);
          position.fees = position.fees.plus(amount).plus(fee);
        }
        this.fees = this.fees.plus(amount);
        this.cash = this.cash.minus(amount).minus(fee);
        return;
      }
      case 'split': {
        const position = this.position(required(tx.symbol, 'symbol', tx));
        const numerator = BigInt(required(tx.ratioNumerator, 'ratio_numerator', tx));
        const denominator = BigInt(required(tx.ratioDenominator, 'ratio_denominator', tx));
        for (const lot of position.lots) lot.quantity = lot.quantity.scale(numerator, denominator);
        position.quantity = position.quantity.scale(numerator, denominator);
        position.fees = position.fees.plus(fee);
        this.cash = this.cash.minus(fee);
        return;
      }
    }
  }

  private buy(tx: LedgerTransaction, fee: Decimal): void {
    const quantity = required(tx.quantity, 'quantity', tx);
    const gross = base(quantity.times(required(tx.price, 'price', tx)), tx);
    const position = this.position(required(tx.symbol, 'symbol', tx));
    const units = Quantity.fromDecimal(quantity);
    position.lots.push({ transactionId: tx.id, acquiredAt: tx.executedAt, quantity: units, cost: gross.plus(fee) });
    position.quantity = position.quantity.plus(units);
    position.fees = position.fees.plus(fee);
    position.currency = tx.currency;
    position.fxRate = tx.fxRate;
    this.cash = this.cash.minus(gross).minus(fee);
  }

  private sell(tx: LedgerTransaction, fee: Decimal): void {
    const requested = required(tx.quantity, 'quantity', tx);
    const symbol = required(tx.symbol, 'symbol', tx);
    const position = this.positions.get(symbol);
    const held = position?.quantity ?? Quantity.ZERO;
    let remaining = Quantity.fromDecimal(requested);
    // After a split that leaves a non-terminating quantity (10/3), the user can only
    // type the displayed value (3.3333333333): selling exactly that closes the position.
    if (!held.isTerminating() && held.toDecimal().toDecimalPlaces(SCALE.quantity).eq(requested)) remaining = held;
    if (position === undefined || remaining.cmp(held) > 0) throw new InsufficientQuantityError(tx, held, requested);

    let consumedCost = ZERO;
    position.quantity = position.quantity.minus(remaining);
    while (remaining.isPositive()) {
      const lot = position.lots[0];
      if (lot === undefined) throw new InsufficientQuantityError(tx, held, requested); // unreachable: quantity == Σ lots
      if (lot.quantity.cmp(remaining) <= 0) {
        consumedCost = consumedCost.plus(lot.cost);
        remaining = remaining.minus(lot.quantity);
        position.lots.shift();
      } else {
        // The one rounding in the engine: the share of a partly sold lot's cost, to
        // COST_SCALE places. The lot keeps cost − share, so Σ costs stays exact.
        const part = remaining.ratioTo(lot.quantity).times(lot.cost).toDecimalPlaces(COST_SCALE, Decimal.ROUND_HALF_UP);
        lot.cost = lot.cost.minus(part);
        lot.quantity = lot.quantity.minus(remaining);
        consumedCost = consumedCost.plus(part);
        remaining = Quantity.ZERO;
      }
    }
    const gross = base(requested.times(required(tx.price, 'price', tx)), tx);
    const pnl = gross.minus(fee).minus(consumedCost);
    position.realizedPnl = position.realizedPnl.plus(pnl);
    position.fees = position.fees.plus(fee);
    position.currency = tx.currency;
    position.fxRate = tx.fxRate;
    this.realizedPnl = this.realizedPnl.plus(pnl);
    this.cash = this.cash.plus(gross).minus(fee);
  }
}

/** Replays transactions (in replay order) into a ledger. */
export function replay(transactions: readonly LedgerTransaction[]): Ledger {
  const ledger = new Ledger();
  for (const tx of sortForReplay(transactions)) ledger.apply(tx);
  return ledger;
}

export interface LotValue {
  transactionId: string;
  acquiredAt: Date;
  quantity: Decimal;
  cost: Decimal;
  unitCost: Decimal;
}

export interface HoldingValue {
  symbol: string;
  quantity: Decimal;
  costBasis: Decimal;
  averageCost: Decimal | null;
  lots: LotValue[];
  currency: string | null;
  price: Decimal | null;
  priceAsOf: Date | null;
  priceSource: string | null;
  stale: boolean;
  /** In base currency, converted with the fx_rate of the latest trade; null without a quote. */
  marketValue: Decimal | null;
  unrealizedPnl: Decimal | null;
  realizedPnl: Decimal;
  dividends: Decimal;
  interest: Decimal;
  fees: Decimal;
  /** Share of the priced holdings' market value, in percent; null without a quote. */
  weight: Decimal | null;
}

export interface HoldingsValuation {
  items: HoldingValue[];
  cash: Decimal;
  totals: {
    marketValue: Decimal;
    costBasis: Decimal;
    unrealizedPnl: Decimal;
    realizedPnl: Decimal;
    dividends: Decimal;
    interest: Decimal;
    fees: Decimal;
    deposits: Decimal;
    withdrawals: Decimal;
    netContributions: Decimal;
    cash: Decimal;
    /** market value of priced holdings + cash. */
    totalValue: Decimal;
    /** True when any open holding has a stale quote or none at all. */
    stale: boolean;
    unpricedSymbols: string[];
  };
}

/** Values the ledger's positions at the given quotes (symbols without one stay unpriced). */
export function valueHoldings(ledger: Ledger, quotes: ReadonlyMap<string, Quote>, options: { includeClosed?: boolean } = {}): HoldingsValuation {
  const items: HoldingValue[] = [];
  let marketValue = ZERO;
  let costBasis = ZERO;
  let unrealized = ZERO;
  let stale = false;
  const unpriced: string[] = [];
  const symbols = [...ledger.positions.keys()].sort();
  for (const symbol of symbols) {
    const position = ledger.positions.get(symbol);
    if (position === undefined) continue;
    const open = position.quantity.isPositive();
    if (!open && options.includeClosed !== true) continue;
    const quantity = position.quantity.toDecimal();
    let cost = ZERO;
    const lots = position.lots.map((lot) => {
      cost = cost.plus(lot.cost);
      return {
        transactionId: lot.transactionId,
        acquiredAt: lot.acquiredAt,
        quantity: lot.quantity.toDecimal(),
        cost: lot.cost,
        unitCost: lot.cost.div(lot.quantity.toDecimal()),
      };
    });
    const quote = quotes.get(symbol);
    const price = quote === undefined ? null : new Decimal(quote.price);
    const value = price === null ? null : position.quantity.times(price).times(position.fxRate);
    if (open) {
      if (quote === undefined) unpriced.push(symbol);
      if (quote === undefined || quote.stale) stale = true;
    }
    if (value !== null) {
      marketValue = marketValue.plus(value);
      unrealized = unrealized.plus(value.minus(cost));
    }
    costBasis = costBasis.plus(cost);
    items.push({
      symbol,
      quantity,
      costBasis: cost,
      averageCost: open ? cost.div(quantity) : null,
      lots,
      currency: position.currency,
      price,
      priceAsOf: quote?.as_of ?? null,
      priceSource: quote?.source ?? null,
      stale: open && (quote === undefined || quote.stale),
      marketValue: value,
      unrealizedPnl: value === null ? null : value.minus(cost),
      realizedPnl: position.realizedPnl,
      dividends: position.dividends,
      interest: position.interest,
      fees: position.fees,
      weight: null,
    });
  }
  for (const item of items) {
    if (item.marketValue !== null && !marketValue.isZero()) item.weight = item.marketValue.div(marketValue).times(100);
  }
  return {
    items,
    cash: ledger.cash,
    totals: {
      marketValue,
      costBasis,
      unrealizedPnl: unrealized,
      realizedPnl: ledger.realizedPnl,
      dividends: ledger.dividends,
      interest: ledger.interest,
      fees: ledger.fees,
      deposits: ledger.deposits,
      withdrawals: ledger.withdrawals,
      netContributions: ledger.deposits.minus(ledger.withdrawals),
      cash: ledger.cash,
      totalValue: marketValue.plus(ledger.cash),
      stale,
      unpricedSymbols: unpriced,
    },
  };
}
