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
//   quantity), rounded to COST_SCALE (10) places, and keeps the difference, so lot costs
//   always add up to what was paid.
//   Realized P&L = (quantity × price − fee) × fx_rate − cost of the lots consumed.
// - A split multiplies every open lot's quantity by numerator/denominator exactly
//   (quantities are rationals, see quantity.ts); lot costs do not change.
// - Cash: deposits and sells add, withdrawals and buys subtract, income adds net of its
//   fee, fee transactions subtract amount plus fee. Cash may go negative (a portfolio
//   that does not record its deposits).
import { setImmediate as nextTurn } from 'node:timers/promises';
import { divRoundHalfUp, EXACT_ONE, exactFromDecimal, exactFromPlain, plainExact, pow10, rescale, SCALE, type Amount, type Decimal, type Exact } from '../../money/index.ts';
import type { LedgerTransaction, Quote, TransactionFields } from './portfolios.types.ts';
import { Quantity } from './quantity.ts';

/**
 * Decimal places of the cost share taken from a partly sold lot. Far below any currency
 * unit; the lot keeps the rest of its cost, so lot costs still add up exactly. It is also
 * the smallest scale of a ledger's amounts.
 */
export const COST_SCALE = 10;

/** Share of a holding in its portfolio's priced market value: percent, half-up at these places. */
export const WEIGHT_SCALE = SCALE.percent;

export interface Lot {
  /** The buy that opened the lot. */
  transactionId: string;
  acquiredAt: Date;
  quantity: Quantity;
  /** Remaining cost of the lot in base currency (at the ledger's scale), fee included; exact. */
  cost: Amount;
}

export interface Position {
  symbol: string;
  /** Open lots, oldest first. */
  lots: Lot[];
  /** Sum of the lots' quantities (kept alongside for speed; always equal). */
  quantity: Quantity;
  /** Sum of the lots' costs (kept alongside for speed; always equal). */
  cost: Amount;
  realizedPnl: Amount;
  dividends: Amount;
  interest: Amount;
  /** All fees paid on this symbol (trade fees included; they are also inside cost and realized P&L). */
  fees: Amount;
  /** Currency and fx_rate of the latest buy/sell: used to convert the quote to base currency. */
  currency: string | null;
  fxRate: Exact;
}

export class InsufficientQuantityError extends Error {
  readonly transactionId: string;
  readonly symbol: string;
  readonly executedAt: Date;
  readonly held: Quantity;
  readonly requested: Exact;

  constructor(tx: LedgerTransaction, held: Quantity, requested: Exact) {
    super(`sell of ${plainExact(requested)} ${tx.symbol ?? ''} exceeds the ${held.format(SCALE.quantity)} held at ${tx.executedAt.toISOString()}`);
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

const exactOrNull = (value: Decimal | null): Exact | null => (value === null ? null : exactFromDecimal(value));

/** A validated transaction (money as Decimal) in the form the engine replays. */
export function toLedger<T extends TransactionFields>(tx: T): Omit<T, 'quantity' | 'price' | 'amount' | 'fee' | 'fxRate'> & LedgerTransaction {
  return {
    ...tx,
    quantity: exactOrNull(tx.quantity),
    price: exactOrNull(tx.price),
    amount: exactOrNull(tx.amount),
    fee: exactFromDecimal(tx.fee),
    fxRate: exactFromDecimal(tx.fxRate),
  };
}

/** Stable replay order: executed_at, ties keep the input order (the recorded order). */
export function sortForReplay<T extends Pick<LedgerTransaction, 'executedAt'>>(transactions: readonly T[]): T[] {
  return transactions
    .map((tx, index) => ({ tx, index }))
    .sort((a, b) => a.tx.executedAt.getTime() - b.tx.executedAt.getTime() || a.index - b.index)
    .map((entry) => entry.tx);
}

/** Places an amount of a transaction needs to be exact: entered places add up in a product. */
function placesNeeded(tx: LedgerTransaction): number {
  let places = tx.fee.places;
  if (tx.amount !== null && tx.amount.places > places) places = tx.amount.places;
  if (tx.quantity !== null && tx.price !== null && tx.quantity.places + tx.price.places > places) places = tx.quantity.places + tx.price.places;
  return places + tx.fxRate.places;
}

/**
 * Positions and cash, built by applying transactions in replay order. Analytics can
 * apply transactions one at a time and read the state between them (value on a date).
 * Amounts are BigInt counts of 10^-scale of the base currency. The scale is the smallest
 * that keeps every amount exact: COST_SCALE, or more when a transaction's places need
 * it (the ledger then rewrites its amounts at the new scale, exactly). With the few
 * places real prices and quantities have, amounts stay below 2^64, where BigInt
 * arithmetic is cheapest.
 */
export class Ledger {
  readonly positions = new Map<string, Position>();
  /** Fraction digits of every amount in the ledger. */
  scale = COST_SCALE;
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
        cost: 0n,
        realizedPnl: 0n,
        dividends: 0n,
        interest: 0n,
        fees: 0n,
        currency: null,
        fxRate: EXACT_ONE,
      };
      this.positions.set(symbol, position);
    }
    return position;
  }

  /** Rewrites every amount at `scale` places (more than now): exact, and rare. */
  private grow(scale: number): void {
    const factor = pow10(scale - this.scale);
    this.cash *= factor;
    this.deposits *= factor;
    this.withdrawals *= factor;
    this.dividends *= factor;
    this.interest *= factor;
    this.fees *= factor;
    this.realizedPnl *= factor;
    for (const position of this.positions.values()) {
      position.cost *= factor;
      position.realizedPnl *= factor;
      position.dividends *= factor;
      position.interest *= factor;
      position.fees *= factor;
      for (const lot of position.lots) lot.cost *= factor;
    }
    this.scale = scale;
  }

  /** An entered value in the transaction's currency as a base-currency amount. */
  private converted(value: Exact, fxRate: Exact): Amount {
    if (value.units === 0n) return 0n;
    // `apply` has made sure the ledger's scale holds these places, so rescale only multiplies.
    return rescale(fxRate.units === 1n ? value.units : value.units * fxRate.units, value.places + fxRate.places, this.scale);
  }

  /** quantity × price × fx_rate: a trade's gross amount in base currency. */
  private gross(quantity: Exact, price: Exact, fxRate: Exact): Amount {
    const units = quantity.units * price.units;
    return rescale(fxRate.units === 1n ? units : units * fxRate.units, quantity.places + price.places + fxRate.places, this.scale);
  }

  /** Applies one transaction; throws InsufficientQuantityError for a sell beyond the holding. */
  apply(tx: LedgerTransaction): void {
    const places = placesNeeded(tx);
    if (places > this.scale) this.grow(places);
    const fee = this.converted(tx.fee, tx.fxRate);
    this.fees += fee;
    switch (tx.type) {
      case 'deposit': {
        const amount = this.converted(required(tx.amount, 'amount', tx), tx.fxRate);
        this.deposits += amount;
        this.cash += amount - fee;
        return;
      }
      case 'withdrawal': {
        const amount = this.converted(required(tx.amount, 'amount', tx), tx.fxRate);
        this.withdrawals += amount;
        this.cash -= amount + fee;
        return;
      }
      case 'buy':
        return this.buy(tx, fee);
      case 'sell':
        return this.sell(tx, fee);
      case 'dividend': {
        const amount = this.converted(required(tx.amount, 'amount', tx), tx.fxRate);
        const position = this.position(required(tx.symbol, 'symbol', tx));
        position.dividends += amount;
        position.fees += fee;
        this.dividends += amount;
        this.cash += amount - fee;
        return;
      }
      case 'interest': {
        const amount = this.converted(required(tx.amount, 'amount', tx), tx.fxRate);
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
        const amount = this.converted(required(tx.amount, 'amount', tx), tx.fxRate);
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
    const gross = this.gross(quantity, required(tx.price, 'price', tx), tx.fxRate);
    const position = this.position(required(tx.symbol, 'symbol', tx));
    const units = Quantity.fromExact(quantity);
    const cost = gross + fee;
    position.lots.push({ transactionId: tx.id, acquiredAt: tx.executedAt, quantity: units, cost });
    position.quantity = position.quantity.plus(units);
    position.cost += cost;
    position.fees += fee;
    position.currency = tx.currency;
    position.fxRate = tx.fxRate;
    this.cash -= cost;
  }

  private sell(tx: LedgerTransaction, fee: Amount): void {
    const requested = required(tx.quantity, 'quantity', tx);
    const symbol = required(tx.symbol, 'symbol', tx);
    const position = this.positions.get(symbol);
    const held = position?.quantity ?? Quantity.ZERO;
    let remaining = Quantity.fromExact(requested);
    // After a split that leaves a non-terminating quantity (10/3), the user can only
    // type the displayed value (3.3333333333): selling exactly that closes the position.
    if (!held.isTerminating() && held.roundedTo(SCALE.quantity).cmp(remaining) === 0) remaining = held;
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
        const part = remaining.shareOf(lot.quantity, lot.cost, this.scale, COST_SCALE);
        lot.cost -= part;
        lot.quantity = lot.quantity.minus(remaining);
        consumedCost += part;
        remaining = Quantity.ZERO;
      }
    }
    const proceeds = this.gross(requested, required(tx.price, 'price', tx), tx.fxRate) - fee;
    const pnl = proceeds - consumedCost;
    position.cost -= consumedCost;
    position.realizedPnl += pnl;
    position.fees += fee;
    position.currency = tx.currency;
    position.fxRate = tx.fxRate;
    this.realizedPnl += pnl;
    this.cash += proceeds;
  }
}

/** Replays transactions (in replay order) into a ledger. */
export function replay(transactions: readonly LedgerTransaction[]): Ledger {
  const ledger = new Ledger();
  for (const tx of sortForReplay(transactions)) ledger.apply(tx);
  return ledger;
}

/** Transactions applied between two turns of the event loop (replayAsync). */
const REPLAY_PER_TURN = 200;

/**
 * The same ledger as replay(), with a turn of the event loop after every REPLAY_PER_TURN
 * transactions, so replaying a large portfolio never holds the loop for long (FAIL-023).
 */
export async function replayAsync(transactions: readonly LedgerTransaction[]): Promise<Ledger> {
  const ledger = new Ledger();
  for (const [index, tx] of sortForReplay(transactions).entries()) {
    if (index % REPLAY_PER_TURN === REPLAY_PER_TURN - 1) await nextTurn();
    ledger.apply(tx);
  }
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
  /** The quote's price as the provider gave it; null without a quote. */
  price: Exact | null;
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
  /** Share of the priced holdings' market value in percent, an integer of 10^-WEIGHT_SCALE (half-up); null without a quote. */
  weight: bigint | null;
}

export interface HoldingsValuation {
  /** Fraction digits of every amount in this valuation (lots included). */
  scale: number;
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

/** 100 × 10^WEIGHT_SCALE: a share as a percent at WEIGHT_SCALE places. */
const PERCENT_UNITS = 100n * pow10(WEIGHT_SCALE);

/** An amount's share of a positive total, in percent, half-up at WEIGHT_SCALE places. */
function percentOf(part: Amount, total: Amount): bigint {
  return divRoundHalfUp(part * PERCENT_UNITS, total);
}

/**
 * Values the ledger's positions at the given quotes (symbols without one stay unpriced).
 * The valuation's scale is the ledger's, or more when a quote has more places than the
 * ledger holds (a market value is then still exact), or `options.scale` when larger (to
 * put several portfolios on one scale).
 */
export function valueHoldings(ledger: Ledger, quotes: ReadonlyMap<string, Quote>, options: { includeClosed?: boolean; scale?: number } = {}): HoldingsValuation {
  const shown: Array<{ position: Position; open: boolean; quote: Quote | undefined; price: Exact | null }> = [];
  let scale = options.scale !== undefined && options.scale > ledger.scale ? options.scale : ledger.scale;
  for (const symbol of [...ledger.positions.keys()].sort()) {
    const position = ledger.positions.get(symbol);
    if (position === undefined) continue;
    const open = position.quantity.isPositive();
    if (!open && options.includeClosed !== true) continue;
    const quote = quotes.get(symbol);
    const price = quote === undefined ? null : exactFromPlain(quote.price, 'price');
    if (price !== null) {
      const places = position.quantity.valuePlaces(price, position.fxRate);
      if (places > scale) scale = places;
    }
    shown.push({ position, open, quote, price });
  }
  // The ledger's amounts at the valuation's scale: unchanged unless a quote asked for more places.
  const up = (amount: Amount) => rescale(amount, ledger.scale, scale);

  const items: HoldingValue[] = [];
  let marketValue: Amount = 0n;
  let costBasis: Amount = 0n;
  let unrealized: Amount = 0n;
  let stale = false;
  const unpriced: string[] = [];
  for (const { position, open, quote, price } of shown) {
    const cost = up(position.cost);
    const value = price === null ? null : position.quantity.valueAt(price, position.fxRate, scale);
    if (open) {
      if (quote === undefined) unpriced.push(position.symbol);
      if (quote === undefined || quote.stale) stale = true;
    }
    if (value !== null) {
      marketValue += value;
      unrealized += value - cost;
    }
    costBasis += cost;
    items.push({
      symbol: position.symbol,
      quantity: position.quantity,
      costBasis: cost,
      // Lots are never mutated once a ledger is valued (a cached ledger is read-only).
      lots: scale === ledger.scale ? position.lots : position.lots.map((lot) => ({ ...lot, cost: up(lot.cost) })),
      currency: position.currency,
      price,
      priceAsOf: quote?.as_of ?? null,
      priceSource: quote?.source ?? null,
      stale: open && (quote === undefined || quote.stale),
      marketValue: value,
      unrealizedPnl: value === null ? null : value - cost,
      realizedPnl: up(position.realizedPnl),
      dividends: up(position.dividends),
      interest: up(position.interest),
      fees: up(position.fees),
      weight: null,
    });
  }
  if (marketValue > 0n) {
    for (const item of items) if (item.marketValue !== null) item.weight = percentOf(item.marketValue, marketValue);
  }
  const cash = up(ledger.cash);
  return {
    scale,
    items,
    cash,
    totals: {
      marketValue,
      costBasis,
      unrealizedPnl: unrealized,
      realizedPnl: up(ledger.realizedPnl),
      dividends: up(ledger.dividends),
      interest: up(ledger.interest),
      fees: up(ledger.fees),
      deposits: up(ledger.deposits),
      withdrawals: up(ledger.withdrawals),
      netContributions: up(ledger.deposits - ledger.withdrawals),
      cash,
      totalValue: marketValue + cash,
      stale,
      unpricedSymbols: unpriced,
    },
  };
}
