import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Decimal, EXACT_ZERO, fixedToDecimal, parseExact, sum, type Amount } from '../../money/index.ts';
import { COST_SCALE, InsufficientQuantityError, replay, valueHoldings, Ledger, WEIGHT_SCALE } from './holdings.ts';
import type { LedgerTransaction, Quote } from './portfolios.types.ts';
import { Quantity } from './quantity.ts';

let counter = 0;
const T0 = Date.UTC(2024, 0, 1);
function tx(partial: Partial<LedgerTransaction> & Pick<LedgerTransaction, 'type'>): LedgerTransaction {
  counter += 1;
  return {
    id: `tx-${counter}`,
    symbol: null,
    quantity: null,
    price: null,
    amount: null,
    fee: EXACT_ZERO,
    currency: 'USD',
    fxRate: parseExact('1'),
    ratioNumerator: null,
    ratioDenominator: null,
    executedAt: new Date(T0 + counter * 1000),
    ...partial,
  };
}
const d = (s: string) => new Decimal(s);
/** An entered value as the engine takes it. */
const sc = (s: string) => parseExact(s);
/** An engine amount (an integer of 10^-scale) as an exact Decimal, to compare with expectations computed in Decimal. */
const A = (value: Amount | null | undefined, scale: number) => (value === null || value === undefined ? null : fixedToDecimal(value, scale));
const buy = (symbol: string, q: string, p: string, fee = '0', extra: Partial<LedgerTransaction> = {}) =>
  tx({ type: 'buy', symbol, quantity: sc(q), price: sc(p), fee: sc(fee), ...extra });
const sell = (symbol: string, q: string, p: string, fee = '0', extra: Partial<LedgerTransaction> = {}) =>
  tx({ type: 'sell', symbol, quantity: sc(q), price: sc(p), fee: sc(fee), ...extra });
const split = (symbol: string, n: number, den: number) => tx({ type: 'split', symbol, ratioNumerator: n, ratioDenominator: den });
const quote = (symbol: string, price: string, stale = false): Quote => ({ symbol, price, as_of: new Date(T0), stale, source: 'test' });

// Decimal strings with up to 10 fraction digits, positive, as a user would type them.
const decimalString = (maxInt: number, scale: number) =>
  fc
    .tuple(fc.integer({ min: 0, max: maxInt }), fc.integer({ min: 0, max: 10 ** scale - 1 }))
    .map(([i, f]) => (scale === 0 ? `${i}` : `${i}.${String(f).padStart(scale, '0')}`))
    .filter((s) => !new Decimal(s).isZero());
const quantityArb = fc.integer({ min: 0, max: 10 }).chain((scale) => decimalString(10_000, scale));
const priceArb = fc.integer({ min: 0, max: 8 }).chain((scale) => decimalString(100_000, scale));
const feeArb = fc.oneof(fc.constant('0'), decimalString(50, 2));

describe('holdings engine', () => {
  it('FIFO: a sell consumes the oldest lot first and realizes against its cost', () => {
    const ledger = replay([buy('AAPL', '10', '100', '1'), buy('AAPL', '10', '120'), sell('AAPL', '15', '130', '2')]);
    const position = ledger.positions.get('AAPL');
    assert.ok(position);
    // consumed: lot 1 whole (1001) + half of lot 2 (600) = 1601; proceeds 1950 − 2
    assert.equal(A(position.realizedPnl, ledger.scale)?.toFixed(), '347');
    assert.equal(position.lots.length, 1);
    assert.equal(position.lots[0]?.quantity.toDecimal().toFixed(), '5');
    assert.equal(A(position.lots[0]?.cost, ledger.scale)?.toFixed(), '600');
    assert.equal(A(ledger.cash, ledger.scale)?.toFixed(), '-253');
  });

  it('a non-terminating per-share cost keeps the exact lot total', () => {
    const ledger = replay([buy('X', '3', '33.3333333333', '0.0000000001'), sell('X', '1', '40'), sell('X', '1', '40'), sell('X', '1', '40')]);
    const position = ledger.positions.get('X');
    assert.ok(position);
    assert.equal(position.lots.length, 0);
    // 120 − 100 exactly, though each third of the lot cost 33.33… per share
    assert.equal(A(position.realizedPnl, ledger.scale)?.toFixed(), '20');
  });

  it('selling more than held at that point in time throws insufficient quantity', () => {
    assert.throws(() => replay([buy('A', '1', '10'), sell('A', '1.0000000001', '10')]), InsufficientQuantityError);
    assert.throws(() => replay([sell('A', '1', '10'), buy('A', '5', '10')]), InsufficientQuantityError);
    assert.throws(() => replay([sell('NOPE', '1', '10')]), InsufficientQuantityError);
  });

  it('splits scale lots exactly and keep the cost', () => {
    const ledger = replay([buy('S', '10', '90'), split('S', 1, 3)]);
    const position = ledger.positions.get('S');
    assert.ok(position);
    assert.equal(position.quantity.cmp(Quantity.of(10n, 3n)), 0);
    assert.equal(A(position.lots[0]?.cost, ledger.scale)?.toFixed(), '900');
    // the displayed quantity sells the whole position
    const later = new Ledger();
    for (const t of [buy('S', '10', '90'), split('S', 1, 3), sell('S', '3.3333333333', '300')]) later.apply(t);
    assert.equal(later.positions.get('S')?.quantity.isZero(), true);
    // proceeds are what the user typed: 3.3333333333 × 300 − 900
    assert.equal(A(later.realizedPnl, later.scale)?.toFixed(), '99.99999999');
  });

  it('converts every amount with the transaction fx_rate and values at the latest trade rate', () => {
    const ledger = replay([
      tx({ type: 'deposit', amount: sc('1000'), currency: 'USD', fxRate: sc('0.9') }),
      buy('SAP', '2', '100', '1', { currency: 'USD', fxRate: sc('0.9') }),
      tx({ type: 'dividend', symbol: 'SAP', amount: sc('10'), fee: sc('1.5'), currency: 'USD', fxRate: sc('0.95') }),
    ]);
    const valued = valueHoldings(ledger, new Map([['SAP', quote('SAP', '110', true)]]));
    const item = valued.items[0];
    assert.ok(item);
    assert.equal(A(item.costBasis, valued.scale)?.toFixed(), '180.9');
    assert.equal(A(item.marketValue, valued.scale)?.toFixed(), '198');
    assert.equal(A(item.unrealizedPnl, valued.scale)?.toFixed(), '17.1');
    assert.equal(A(item.dividends, valued.scale)?.toFixed(), '9.5');
    assert.equal(item.stale, true);
    assert.equal((item.weight === null ? null : fixedToDecimal(item.weight, WEIGHT_SCALE))?.toFixed(), '100');
    // 900 − 180.9 + 9.5 − 1.425 (the dividend's fee at its own rate)
    assert.equal(A(valued.cash, valued.scale)?.toFixed(), '727.175');
    assert.equal(valued.totals.stale, true);
    assert.equal(A(valued.totals.netContributions, valued.scale)?.toFixed(), '900');
  });

  it('a partly sold lot gives up its cost share rounded half-up at COST_SCALE places, and keeps the rest', () => {
    // cost 3 + 1 fee = 4 for 3 shares; a third of it is 1.3333333333|33…
    const ledger = replay([buy('C', '3', '1', '1'), sell('C', '1', '2')]);
    const position = ledger.positions.get('C');
    assert.equal(COST_SCALE, 10);
    assert.equal(A(position?.lots[0]?.cost, ledger.scale)?.toFixed(), '2.6666666667');
    assert.equal(A(position?.realizedPnl, ledger.scale)?.toFixed(), '0.6666666667');
  });

  it('a transaction with more places than the ledger holds rewrites its amounts at a finer scale, exactly', () => {
    const ledger = new Ledger();
    ledger.apply(tx({ type: 'deposit', amount: sc('1000.5') }));
    ledger.apply(buy('F', '2', '10.25', '0.5'));
    assert.equal(ledger.scale, COST_SCALE);
    // 0.0000000001 × 1.000000000001 × 0.123456789012: 10 + 12 + 12 = 34 places
    ledger.apply(buy('F', '0.0000000001', '1.000000000001', '0', { fxRate: sc('0.123456789012') }));
    assert.equal(ledger.scale, 34);
    const tiny = d('0.0000000001').times('1.000000000001').times('0.123456789012');
    assert.equal(A(ledger.cash, ledger.scale)?.toFixed(), d('1000.5').minus('21').minus(tiny).toFixed());
    assert.equal(A(ledger.positions.get('F')?.lots[0]?.cost, ledger.scale)?.toFixed(), '21');
    assert.equal(A(ledger.positions.get('F')?.lots[1]?.cost, ledger.scale)?.toFixed(), tiny.toFixed());
    assert.equal(A(ledger.positions.get('F')?.fees, ledger.scale)?.toFixed(), '0.5');
    assert.equal(A(ledger.deposits, ledger.scale)?.toFixed(), '1000.5');
  });

  it('a quote with more places than the ledger is valued exactly at a finer scale, lots included', () => {
    const ledger = replay([buy('Q', '1.5', '10', '0.25')]);
    const valued = valueHoldings(ledger, new Map([['Q', quote('Q', '10.123456789012')]]));
    assert.equal(ledger.scale, COST_SCALE);
    assert.equal(valued.scale, 13); // 1 + 12 places
    const item = valued.items[0];
    assert.equal(A(item?.marketValue, valued.scale)?.toFixed(), '15.185185183518');
    assert.equal(A(item?.unrealizedPnl, valued.scale)?.toFixed(), '-0.064814816482');
    assert.equal(A(item?.lots[0]?.cost, valued.scale)?.toFixed(), '15.25');
    assert.equal(A(item?.costBasis, valued.scale)?.toFixed(), '15.25');
    assert.equal(A(valued.cash, valued.scale)?.toFixed(), '-15.25');
    // the ledger itself is untouched
    assert.equal(A(ledger.positions.get('Q')?.lots[0]?.cost, ledger.scale)?.toFixed(), '15.25');
  });

  it('an unpriced holding is flagged and left out of market value and weights', () => {
    const valued = valueHoldings(replay([buy('A', '1', '10'), buy('B', '3', '10')]), new Map([['B', quote('B', '20')]]));
    assert.deepEqual(valued.totals.unpricedSymbols, ['A']);
    assert.equal(A(valued.totals.marketValue, valued.scale)?.toFixed(), '60');
    assert.equal(valued.items.find((i) => i.symbol === 'A')?.marketValue, null);
    assert.equal(fixedToDecimal(valued.items.find((i) => i.symbol === 'B')?.weight ?? 0n, WEIGHT_SCALE).toFixed(), '100');
  });

  it('property: open lots always sum to the holding (quantity and cost), and costs to what was paid less what was sold', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), quantityArb, priceArb, feeArb), { minLength: 1, maxLength: 30 }),
        (steps) => {
          const ledger = new Ledger();
          let paid = new Decimal(0);
          let consumed = new Decimal(0);
          for (const [isBuy, q, p, fee] of steps) {
            const position = ledger.positions.get('P');
            if (isBuy || position === undefined) {
              ledger.apply(buy('P', q, p, fee));
              paid = paid.plus(d(q).times(p)).plus(fee);
            } else {
              // sell at most what is held, so every step applies
              const held = position.quantity.toDecimal();
              const qty = Decimal.min(d(q), held);
              if (qty.isZero()) continue;
              const before = sum(position.lots.map((l) => fixedToDecimal(l.cost, ledger.scale)));
              ledger.apply(sell('P', qty.toFixed(), p, '0'));
              const after = sum((ledger.positions.get('P')?.lots ?? []).map((l) => fixedToDecimal(l.cost, ledger.scale)));
              consumed = consumed.plus(before.minus(after));
            }
            const now = ledger.positions.get('P');
            assert.ok(now);
            const lotTotal = now.lots.reduce((acc, lot) => acc.plus(lot.quantity), Quantity.ZERO);
            assert.equal(lotTotal.cmp(now.quantity), 0);
            assert.equal(now.cost, now.lots.reduce((acc, lot) => acc + lot.cost, 0n));
          }
          const lots = ledger.positions.get('P')?.lots ?? [];
          assert.equal(sum(lots.map((l) => fixedToDecimal(l.cost, ledger.scale))).plus(consumed).eq(paid), true);
        },
      ),
    );
  });

  it('property: buy then sell everything realizes proceeds − cost − fees exactly', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(quantityArb, priceArb, feeArb), { minLength: 1, maxLength: 8 }),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 100 }), priceArb, feeArb), { minLength: 1, maxLength: 8 }),
        (buys, sellWeights) => {
          const txs: LedgerTransaction[] = [];
          let cost = new Decimal(0);
          let fees = new Decimal(0);
          let proceeds = new Decimal(0);
          let total = new Decimal(0);
          for (const [q, p, fee] of buys) {
            txs.push(buy('Z', q, p, fee));
            cost = cost.plus(d(q).times(p));
            fees = fees.plus(fee);
            total = total.plus(q);
          }
          // split the total into sells by weight; the last sell takes the remainder
          const weightSum = sellWeights.reduce((a, [w]) => a + w, 0);
          let left = total;
          sellWeights.forEach(([w, p, fee], index) => {
            const q = index === sellWeights.length - 1 ? left : total.times(w).div(weightSum).toDecimalPlaces(10, Decimal.ROUND_DOWN);
            if (q.isZero() || q.gt(left)) return;
            left = left.minus(q);
            txs.push(sell('Z', q.toFixed(), p, fee));
            proceeds = proceeds.plus(q.times(p));
            fees = fees.plus(fee);
          });
          const ledger = replay(txs);
          const position = ledger.positions.get('Z');
          assert.ok(position);
          assert.equal(position.quantity.isZero(), true);
          assert.equal(position.lots.length, 0);
          assert.equal(A(position.realizedPnl, ledger.scale)?.toFixed(), proceeds.minus(cost).minus(fees).toFixed());
        },
      ),
    );
  });

  it('property: fx rates and places that grow the ledger scale keep cash, realized P&L and lot costs exact', () => {
    const fxArb = fc.integer({ min: 0, max: 12 }).chain((scale) => decimalString(3, scale));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), quantityArb, priceArb, feeArb, fxArb), { minLength: 1, maxLength: 25 }), (steps) => {
        const ledger = new Ledger();
        let cash = new Decimal(0);
        let paid = new Decimal(0); // every buy's cost, fee included
        let netProceeds = new Decimal(0); // every sell's proceeds less its fee
        for (const [isBuy, q, p, fee, fx] of steps) {
          const position = ledger.positions.get('G');
          if (isBuy || position === undefined) {
            ledger.apply(buy('G', q, p, fee, { fxRate: sc(fx) }));
            const cost = d(q).times(p).plus(fee).times(fx);
            paid = paid.plus(cost);
            cash = cash.minus(cost);
          } else {
            const qty = Decimal.min(d(q), position.quantity.toDecimal());
            if (qty.isZero()) continue;
            ledger.apply(sell('G', qty.toFixed(), p, fee, { fxRate: sc(fx) }));
            const proceeds = qty.times(p).minus(fee).times(fx);
            netProceeds = netProceeds.plus(proceeds);
            cash = cash.plus(proceeds);
          }
        }
        const position = ledger.positions.get('G');
        assert.ok(position);
        const openCost = sum(position.lots.map((lot) => fixedToDecimal(lot.cost, ledger.scale)));
        assert.equal(A(ledger.cash, ledger.scale)?.toFixed(), cash.toFixed());
        // what was sold realized its proceeds against exactly the cost that left the lots
        assert.equal(A(ledger.realizedPnl, ledger.scale)?.toFixed(), netProceeds.minus(paid.minus(openCost)).toFixed());
        assert.equal(A(position.cost, ledger.scale)?.toFixed(), openCost.toFixed());
      }),
    );
  });

  it('property: any order of deposits and withdrawals keeps cash exact', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), decimalString(1_000_000, 2)), { minLength: 1, maxLength: 40 }), (flows) => {
        let expected = new Decimal(0);
        const txs = flows.map(([isDeposit, amount]) => {
          expected = isDeposit ? expected.plus(amount) : expected.minus(amount);
          return tx({ type: isDeposit ? 'deposit' : 'withdrawal', amount: sc(amount) });
        });
        const inOrder = replay(txs);
        const shuffled = replay([...txs].reverse());
        assert.equal(A(inOrder.cash, inOrder.scale)?.toFixed(), expected.toFixed());
        // replay order is by executed_at, so the input order does not matter
        assert.equal(A(shuffled.cash, shuffled.scale)?.toFixed(), expected.toFixed());
      }),
    );
    // the classic: 0.1 + 0.2 is exactly 0.3 (3 × 10^9 units of 10^-10)
    const classic = replay([tx({ type: 'deposit', amount: sc('0.1') }), tx({ type: 'deposit', amount: sc('0.2') })]);
    assert.equal(classic.scale, COST_SCALE);
    assert.equal(classic.cash, 3n * 10n ** 9n);
  });

  it('property: a split then the reverse split restores quantity and cost exactly', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(quantityArb, priceArb, feeArb), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 50 }),
        (buys, n, den) => {
          const before = replay(buys.map(([q, p, f]) => buy('R', q, p, f)));
          const txs = [...buys.map(([q, p, f]) => buy('R', q, p, f)), split('R', n, den), split('R', den, n)];
          const after = replay(txs);
          const a = before.positions.get('R');
          const b = after.positions.get('R');
          assert.ok(a && b);
          assert.equal(b.quantity.cmp(a.quantity), 0);
          assert.equal(b.quantity.toDecimal().toFixed(), a.quantity.toDecimal().toFixed());
          assert.deepEqual(
            b.lots.map((l) => l.cost),
            a.lots.map((l) => l.cost),
          );
        },
      ),
    );
  });
});
