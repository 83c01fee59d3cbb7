import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXACT_ZERO, parseExact } from '../../money/index.ts';
import { Ledger, valueHoldings } from './holdings.ts';
import { holdingsOut } from './portfolios.service.ts';
import type { LedgerTransaction, Portfolio } from './portfolios.types.ts';

const portfolio: Portfolio = { id: 'p', userId: 'u', name: 'test', baseCurrency: 'USD', revision: 1, createdAt: new Date(0), updatedAt: new Date(0) };
let seq = 0;
function trade(type: 'buy' | 'sell', quantity: string, price: string): LedgerTransaction {
  seq += 1;
  return {
    id: `tx-${seq}`,
    type,
    symbol: 'ACME',
    quantity: parseExact(quantity),
    price: parseExact(price),
    amount: null,
    fee: EXACT_ZERO,
    currency: 'USD',
    fxRate: parseExact('1'),
    ratioNumerator: null,
    ratioDenominator: null,
    executedAt: new Date(Date.UTC(2024, 0, seq)),
  };
}
const quotes = new Map([['ACME', { symbol: 'ACME', price: '12', as_of: new Date(0), stale: false, source: 'test' }]]);

describe('holdings answer', () => {
  it('reuses the formatted lots of an unchanged holding, and formats a changed one afresh', () => {
    const ledger = new Ledger();
    ledger.apply(trade('buy', '10', '10'));
    ledger.apply(trade('buy', '5', '11'));
    const first = holdingsOut(portfolio, valueHoldings(ledger, quotes)).items[0];
    const again = holdingsOut(portfolio, valueHoldings(ledger, quotes)).items[0];
    assert.ok(first && again);
    assert.equal(again.lots, first.lots, 'an unchanged holding reuses its formatted lots');

    // A partial sell changes the first lot in place; the answer must follow.
    ledger.apply(trade('sell', '4', '12'));
    const after = holdingsOut(portfolio, valueHoldings(ledger, quotes)).items[0];
    assert.ok(after);
    assert.equal(after.quantity, '11');
    assert.deepEqual(
      after.lots.map((lot) => [lot.quantity, lot.cost_basis]),
      [
        ['6', '60.00'],
        ['5', '55.00'],
      ],
    );
    assert.equal(after.cost_basis, '115.00');
    assert.equal(after.realized_pnl, '8.00');
    assert.equal(after.average_cost, '10.45454545');
    assert.equal(after.market_value, '132.00');

    // A price with more places than the ledger holds rewrites every amount at a finer scale.
    ledger.apply(trade('buy', '1', '0.000000000001'));
    const finer = holdingsOut(portfolio, valueHoldings(ledger, quotes)).items[0];
    assert.ok(finer);
    assert.equal(ledger.scale, 12);
    assert.deepEqual(
      finer.lots.map((lot) => [lot.quantity, lot.cost_basis, lot.unit_cost]),
      [
        ['6', '60.00', '10'],
        ['5', '55.00', '11'],
        ['1', '0.00', '0'],
      ],
    );
    assert.equal(finer.cost_basis, '115.00');
    assert.equal(finer.realized_pnl, '8.00');
    assert.equal(finer.average_cost, '9.58333333');
  });
});
