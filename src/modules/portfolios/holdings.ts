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
import { convert, divRoundHalfUp, INPUT_SCALE, parseScaled, plainFixed, SCALE, SCALED_ONE, scaledFromDecimal, type Amount, type Decimal, type Scaled } from '../../money/index.ts';
import type { LedgerTransaction, Quote, TransactionFields } from './portfolios.types.ts';
import { Quantity } from './quantity.ts';

/**
 * Decimal places of the cost share taken from a partly sold lot. Far below any currency
 * unit; the lot keeps the rest of its cost, so lot costs still add up exactly.
 */
export const COST_SCALE = 30;

export interface Lot {
  /** The buy that opened the lot. */
  transactionId: string;
  acquiredAt: Date;
  quantity: Quantity;
  /** Remaining cost of the lot in base currency, fee included; exact. */
  cost: Amount;
}

export interface Position {
  symbol: string;
  /** Open lots, oldest first. */
  lots: Lot[];
  /** Sum of the lots' quantities (kept alongside for speed; always equal). */
  quantity: Quantity;
  realizedPnl: Amount;
  dividends: Amount;
  interest: Amount;
  /** All fees paid on this symbol (trade fees included; they are also inside cost and realized P&L). */
  fees: Amount;
  /** Currency and fx_rate of the latest buy/sell: used to convert the quote to base currency. */
  currency: string | null;
  fxRate: Scaled;
}

export class InsufficientQuantityError extends Error {
  readonly transactionId: string;
  readonly symbol: string;
  readonly executedAt: Date;
  readonly held: Quantity;
  readonly requested: Scaled;

  constructor(tx: LedgerTransaction, held: Quantity, requested: Scaled) {
    super(`sell of ${plainFixed(requested, INPUT_SCALE)} ${tx.symbol ?? ''} exceeds the ${held.format(SCALE.quantity)} held at ${tx.executedAt.toISOString()}`);
    this.name = 'InsufficientQuantityError';
    this.transactionId = tx.id;
    this.symbol = tx.symbol ?? '';
    this.executedAt = tx.executedAt;
    this.held = held;
    this.requested = requested;
  }
}

function required<T>(value: T | null, field: string, tx: LedgerTransaction): T {
  if (value === null) throw new TypeError(`${tx.type} transaction ${tx.id} has no ${field}`);
  return value;
}

const scaledOrNull = (value: Decimal | null): Scaled | null => (value === null ? null : scaledFromDecimal(value));

/** A validated transaction (money as Decimal) in the form the engine replays. */
export function toLedger<T extends TransactionFields>(tx: T): Omit<T, 'quantity' | 'price' | 'amount' | 'fee' | 'fxRate'> & LedgerTransaction {
  return {
    ...tx,
    quantity: scaledOrNull(tx.quantity),
    price: scaledOrNull(tx.price),
    amount: scaledOrNull(tx.amount),
    fee: scaledFromDecimal(tx.fee),
    fxRate: scaledFromDecimal(tx.fxRate),
  };
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
 * Amounts are BigInt counts of 10^-90 of the base currency (src/money/fixed.ts), so
 * every sum and product is exact and costs one BigInt operation.
 */
export class Ledger {
  readonly positions = new Map<string, Position>();
  cash: Amount = 0n;
  deposits: Amount = 0n;
  withdrawals: Amount = 0n;
  /** Portfolio-wide totals of income and fees (symbol-level ones included). */
  dividends: Amount = 0n;
  interest: Amount = 0n;
  fees: Amount = 0n;
  realizedPnl: Amount = 0n;

  private position(symbol: string): Position {
    let position = this.positions.get(symbol);
    if (position === undefined) {
      position = {
        symbol,
        lots: [],
        quantity: Quantity.ZERO,
        realizedPnl: 0n,
        dividends: 0n,
        interest: 0n,
        fees: 0n,
        currency: null,
        fxRate: SCALED_ONE,
      };
      this.positions.set(symbol, position);
    }
    return position;
  }

  /** Applies one transaction; throws InsufficientQuantityError for a sell beyond the holding. */
  apply(tx: LedgerTransaction): void {
    const fee = convert(tx.fee, tx.fxRate);
    this.fees += fee;
    switch (tx.type) {
      case 'deposit': {
        const amount = convert(required(tx.amount, 'amount', tx), tx.fxRate);
        this.deposits += amount;
        this.cash += amount - fee;
        return;
      }
      case 'withdrawal': {
        const amount = convert(required(tx.amount, 'amount', tx), tx.fxRate);
        this.withdrawals += amount;
        this.cash -= amount + fee;
        return;
      }
      case 'buy':
        return this.buy(tx, fee);
      case 'sell':
        return this.sell(tx, fee);
      case 'dividend': {
        const amount = convert(required(tx.amount, 'amount', tx), tx.fxRate);
        const position = this.position(required(tx.symbol, 'symbol', tx));
        position.dividends += amount;
        position.fees += fee;
        this.dividends += amount;
        this.cash += amount - fee;
        return;
      }
      case 'interest': {
        const amount = convert(required(tx.amount, 'amount', tx), tx.fxRate);
        if (tx.symbol !== null) {
          const position = this.position(tx.symbol);
          position.interest += amount;
          position.fees += fee;
        }
        this.interest += amount;
        this.cash += amount - fee;
        return;
      }
      case 'fee': {
        const amount = convert(required(tx.amount, 'amount', tx), tx.fxRate);
        if (tx.symbol !== null) this.position(tx.symbol).fees += amount + fee;
        this.fees += amount;
        this.cash -= amount + fee;
        return;
      }
      case 'split': {
        const position = this.position(required(tx.symbol, 'symbol', tx));
        const numerator = BigInt(required(tx.ratioNumerator, 'ratio_numerator', tx));
        const denominator = BigInt(required(tx.ratioDenominator, 'ratio_denominator', tx));
        for (const lot of position.lots) lot.quantity = lot.quantity.scale(numerator, denominator);
        position.quantity = position.quantity.scale(numerator, denominator);
        position.fees += fee;
        this.cash -= fee;
        return;
      }
    }
  }

  private buy(tx: LedgerTransaction, fee: Amount): void {
    const quantity = required(tx.quantity, 'quantity', tx);
    const gross = quantity * required(tx.price, 'price', tx) * tx.fxRate;
    const position = this.position(required(tx.symbol, 'symbol', tx));
    const units = Quantity.fromScaled(quantity);
    position.lots.push({ transactionId: tx.id, acquiredAt: tx.executedAt, quantity: units, cost: gross + fee });
    position.quantity = position.quantity.plus(units);
    position.fees += fee;
    position.currency = tx.currency;
    position.fxRate = tx.fxRate;
    this.cash -= gross + fee;
  }

  private sell(tx: LedgerTransaction, fee: Amount): void {
    const requested = required(tx.quantity, 'quantity', tx);
    const symbol = required(tx.symbol, 'symbol', tx);
    const position = this.positions.get(symbol);
    const held = position?.quantity ?? Quantity.ZERO;
    let remaining = Quantity.fromScaled(requested);
    // After a split that leaves a non-terminating quantity (10/3), the user can only
    // type the displayed value (3.3333333333): selling exactly that closes the position.
    if (!held.isTerminating() && held.roundedScaled(SCALE.quantity) === requested) remaining = held;
    if (position === undefined || remaining.cmp(held) > 0) throw new InsufficientQuantityError(tx, held, requested);

    let consumedCost: Amount = 0n;
    position.quantity = position.quantity.minus(remaining);
    while (remaining.isPositive()) {
      const lot = position.lots[0];
      if (lot === undefined) throw new InsufficientQuantityError(tx, held, requested); // unreachable: quantity == Σ lots
      if (lot.quantity.cmp(remaining) <= 0) {
        consumedCost += lot.cost;
        remaining = remaining.minus(lot.quantity);
        position.lots.shift();
      } else {
        // The one rounding in the engine: the share of a partly sold lot's cost, to
        // COST_SCALE places. The lot keeps cost − share, so Σ costs stays exact.
        const part = remaining.shareOf(lot.quantity, lot.cost, COST_SCALE);
        lot.cost -= part;
        lot.quantity = lot.quantity.minus(remaining);
        consumedCost += part;
        remaining = Quantity.ZERO;
      }
    }
    const gross = requested * required(tx.price, 'price', tx) * tx.fxRate;
    const pnl = gross - fee - consumedCost;
    position.realizedPnl += pnl;
    position.fees += fee;
    position.currency = tx.currency;
    position.fxRate = tx.fxRate;
    this.realizedPnl += pnl;
    this.cash += gross - fee;
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
  quantity: Quantity;
  cost: Amount;
}

export interface HoldingValue {
  symbol: string;
  quantity: Quantity;
  costBasis: Amount;
  lots: readonly LotValue[];
  currency: string | null;
  /** The quote's price as entered by the provider; null without a quote. */
  price: Scaled | null;
  priceAsOf: Date | null;
  priceSource: string | null;
  stale: boolean;
  /** In base currency, converted with the fx_rate of the latest trade; null without a quote. */
  marketValue: Amount | null;
  unrealizedPnl: Amount | null;
  realizedPnl: Amount;
  dividends: Amount;
  interest: Amount;
  fees: Amount;
  /** Share of the priced holdings' market value in percent, rounded half-up to 30 places; null without a quote. */
  weight: Scaled | null;
}

export interface HoldingsValuation {
  items: HoldingValue[];
  cash: Amount;
  totals: {
    marketValue: Amount;
    costBasis: Amount;
    unrealizedPnl: Amount;
    realizedPnl: Amount;
    dividends: Amount;
    interest: Amount;
    fees: Amount;
    deposits: Amount;
    withdrawals: Amount;
    netContributions: Amount;
    cash: Amount;
    /** market value of priced holdings + cash. */
    totalValue: Amount;
    /** True when any open holding has a stale quote or none at all. */
    stale: boolean;
    unpricedSymbols: string[];
  };
}

/** An amount's share of a positive total, in percent, half-up at 30 places. */
function percentOf(part: Amount, total: Amount): Scaled {
  return divRoundHalfUp(part * 100n * SCALED_ONE, total);
}

/** Values the ledger's positions at the given quotes (symbols without one stay unpriced). */
export function valueHoldings(ledger: Ledger, quotes: ReadonlyMap<string, Quote>, options: { includeClosed?: boolean } = {}): HoldingsValuation {
  const items: HoldingValue[] = [];
  let marketValue: Amount = 0n;
  let costBasis: Amount = 0n;
  let unrealized: Amount = 0n;
  let stale = false;
  const unpriced: string[] = [];
  const symbols = [...ledger.positions.keys()].sort();
  for (const symbol of symbols) {
    const position = ledger.positions.get(symbol);
    if (position === undefined) continue;
    const open = position.quantity.isPositive();
    if (!open && options.includeClosed !== true) continue;
    let cost: Amount = 0n;
    for (const lot of position.lots) cost += lot.cost;
    const quote = quotes.get(symbol);
    const price = quote === undefined ? null : parseScaled(quote.price, 'price');
    const value = price === null ? null : position.quantity.valueAt(price, position.fxRate);
    if (open) {
      if (quote === undefined) unpriced.push(symbol);
      if (quote === undefined || quote.stale) stale = true;
    }
    if (value !== null) {
      marketValue += value;
      unrealized += value - cost;
    }
    costBasis += cost;
    items.push({
      symbol,
      quantity: position.quantity,
      costBasis: cost,
      // Lots are never mutated once a ledger is valued (a cached ledger is read-only).
      lots: position.lots,
      currency: position.currency,
      price,
      priceAsOf: quote?.as_of ?? null,
      priceSource: quote?.source ?? null,
      stale: open && (quote === undefined || quote.stale),
      marketValue: value,
      unrealizedPnl: value === null ? null : value - cost,
      realizedPnl: position.realizedPnl,
      dividends: position.dividends,
      interest: position.interest,
      fees: position.fees,
      weight: null,
    });
  }
  if (marketValue > 0n) {
    for (const item of items) if (item.marketValue !== null) item.weight = percentOf(item.marketValue, marketValue);
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
      netContributions: ledger.deposits - ledger.withdrawals,
      cash: ledger.cash,
      totalValue: marketValue + ledger.cash,
      stale,
      unpricedSymbols: unpriced,
    },
  };
}
