import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTransactionsCsv } from './portfolios.import.ts';
import { parseTimestamp, validateTransaction, type RawTransaction } from './transactions.validation.ts';

const context = { baseCurrency: 'EUR', now: new Date('2024-06-01T00:00:00Z') };
const fields = (raw: RawTransaction) => {
  const result = validateTransaction(raw, context);
  return result.ok ? [] : result.errors.map((e) => e.field);
};

describe('transaction validation', () => {
  it('parses dates (00:00 UTC) and date-times with an offset; refuses rolled-over and offset-less ones', () => {
    assert.equal(parseTimestamp('2024-02-29')?.toISOString(), '2024-02-29T00:00:00.000Z');
    assert.equal(parseTimestamp('2024-03-01T14:30:00+02:00')?.toISOString(), '2024-03-01T12:30:00.000Z');
    assert.equal(parseTimestamp('2024-03-01 14:30Z')?.toISOString(), '2024-03-01T14:30:00.000Z');
    for (const bad of ['2023-02-29', '2024-13-01', '2024-03-01T14:30:00', '01/03/2024', '2024-3-1', 'yesterday', '']) {
      assert.equal(parseTimestamp(bad), null, bad);
    }
  });

  it('fills defaults: fee 0, currency = base, fx_rate 1; upper-cases the symbol', () => {
    const result = validateTransaction({ type: 'buy', symbol: 'brk.b', quantity: '2', price: '10', executed_at: '2024-01-02' }, context);
    assert.ok(result.ok);
    assert.equal(result.value.symbol, 'BRK.B');
    assert.equal(result.value.fee.isZero(), true);
    assert.equal(result.value.currency, 'EUR');
    assert.equal(result.value.fxRate.eq(1), true);
  });

  it('names every wrong field at once', () => {
    assert.deepEqual(fields({ type: 'buy', symbol: '$$', quantity: '-1', price: 'x', fee: '-1', executed_at: 'nope' }).sort(), [
      'executed_at',
      'fee',
      'price',
      'quantity',
      'symbol',
    ]);
    assert.deepEqual(fields({ type: 'sell', symbol: 'A', quantity: '1', price: '1', currency: 'USD', executed_at: '2024-01-02' }), ['fx_rate']);
    assert.deepEqual(fields({ type: 'sell', symbol: 'A', quantity: '1', price: '1', fx_rate: '1.1', executed_at: '2024-01-02' }), ['fx_rate']);
    assert.deepEqual(fields({ type: 'deposit', amount: '1', quantity: '1', executed_at: '2024-01-02' }), ['quantity']);
    assert.deepEqual(fields({ type: 'split', symbol: 'A', ratio_numerator: 0, ratio_denominator: 2, executed_at: '2024-01-02' }), ['ratio_numerator']);
    assert.deepEqual(fields({ type: 'interest', amount: '0', executed_at: '2024-01-02' }), ['amount']);
    assert.deepEqual(fields({ type: 'fee', amount: '1', executed_at: '2024-06-03' }), ['executed_at']); // > 1 day ahead
    assert.deepEqual(fields({ type: 'nope' }), ['type']);
  });

  it('CSV: header aliases, type words, ratio forms and line numbers; a column is read only when understood or ignored by name', async () => {
    const csv =
      '\uFEFFTrade Date,Ticker,Action,Units,TradePrice,Commission,CCY,Exchange Rate,Split Ratio,Unused\n' +
      '2024-01-02,abc,Bought,3,1.5,0.1,usd,0.9,,x\n\n' +
      '2024-01-03,ABC,Stock Split,,,,,,2-for-1,y\n' +
      '2024-01-04,ABC,split,,,,,,2:x,z\n';
    const unplaced = await parseTransactionsCsv(csv);
    assert.deepEqual(unplaced.fileProblems.map((p) => [p.row, p.field]), [[1, 'Unused']]);
    const { rows, fileProblems } = await parseTransactionsCsv(csv, { ignore: ['Unused'] });
    assert.deepEqual(fileProblems, []);
    assert.equal(rows.length, 3);
    assert.deepEqual(rows[0]?.raw, {
      type: 'buy',
      symbol: 'abc',
      quantity: '3',
      price: '1.5',
      amount: undefined,
      fee: '0.1',
      currency: 'USD',
      fx_rate: '0.9',
      ratio_numerator: null,
      ratio_denominator: null,
      executed_at: '2024-01-02',
      note: undefined,
    });
    assert.equal(rows[1]?.row, 4);
    assert.equal(rows[1]?.raw.type, 'split');
    assert.deepEqual([rows[1]?.raw.ratio_numerator, rows[1]?.raw.ratio_denominator], [2, 1]);
    assert.deepEqual(rows[2]?.problems, [{ row: 5, field: 'ratio', reason: 'must look like 2:1 (new shares : old shares)' }]);
  });
});
