// A deterministic portfolio for the portfolio benchmark: 10,000 transactions over 50
// symbols (buys, sells that never oversell, dividends, fees, deposits, 2:1 and 3:1
// splits), as the database returns them (decimal strings), and as a broker CSV for the
// import route. Quantities are kept in tenths while generating, so "never oversell" is
// checked with integers, not floats.

import type { TransactionRow } from '../src/modules/portfolios/index.ts';

/** A row as the database returns it: the repository's own row type. */
export type BenchRow = TransactionRow;

export const SYMBOLS = Array.from({ length: 50 }, (_, i) => `BP${String(i).padStart(2, '0')}`);

/** Park–Miller LCG: the same sequence on every run. */
function rng(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 48271) % 2147483647;
    return state / 2147483647;
  };
}

const cents = (value: number) => `${Math.floor(value / 100)}.${String(value % 100).padStart(2, '0')}`;
const tenths = (value: number) => `${Math.floor(value / 10)}.${value % 10}`;

export function generateRows(count = 10_000, seed = 42): BenchRow[] {
  const random = rng(seed);
  const held = new Map<string, number>(SYMBOLS.map((s) => [s, 0]));
  const price = new Map<string, number>(SYMBOLS.map((s, i) => [s, 5_000 + i * 137]));
  const start = Date.parse('2021-01-04T14:30:00.000Z');
  const rows: BenchRow[] = [];
  const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
  const push = (row: Partial<BenchRow> & Pick<BenchRow, 'type'>) => {
    const n = rows.length;
    const at = new Date(start + n * 2 * 3600_000);
    rows.push({
      id: uuid(n + 1),
      portfolio_id: uuid(0),
      user_id: uuid(0),
      seq: n + 1,
      symbol: null,
      quantity: null,
      price: null,
      amount: null,
      fee: '0',
      currency: 'USD',
      fx_rate: '1',
      ratio_numerator: null,
      ratio_denominator: null,
      executed_at: at,
      note: null,
      created_at: at,
      updated_at: at,
      ...row,
    });
  };
  push({ type: 'deposit', amount: '5000000.00' });
  while (rows.length < count) {
    const symbol = SYMBOLS[Math.floor(random() * SYMBOLS.length)] as string;
    const p = Math.max(100, (price.get(symbol) ?? 5_000) + Math.round((random() - 0.5) * 300));
    price.set(symbol, p);
    const h = held.get(symbol) ?? 0;
    const roll = random();
    if (roll < 0.5 || h === 0) {
      const q = 1 + Math.floor(random() * 500);
      held.set(symbol, h + q);
      push({ type: 'buy', symbol, quantity: tenths(q), price: cents(p), fee: cents(Math.floor(random() * 1_000)) });
    } else if (roll < 0.8) {
      const q = 1 + Math.floor(random() * h);
      held.set(symbol, h - q);
      push({ type: 'sell', symbol, quantity: tenths(q), price: cents(p), fee: cents(Math.floor(random() * 1_000)) });
    } else if (roll < 0.9) {
      push({ type: 'dividend', symbol, amount: cents(1 + Math.floor(random() * 20_000)) });
    } else if (roll < 0.95) {
      push({ type: 'fee', amount: cents(1 + Math.floor(random() * 2_000)) });
    } else if (roll < 0.99) {
      push({ type: 'deposit', amount: cents(100_000 + Math.floor(random() * 1_000_000)) });
    } else {
      const numerator = random() < 0.5 ? 2 : 3;
      held.set(symbol, h * numerator);
      price.set(symbol, Math.max(100, Math.round(p / numerator)));
      push({ type: 'split', symbol, ratio_numerator: numerator, ratio_denominator: 1 });
    }
  }
  return rows;
}

/** Latest prices for valuation: the generator's last prices, as the market module would give them. */
export function quotesFor(rows: readonly BenchRow[]): Map<string, { symbol: string; price: string; as_of: Date; stale: boolean; source: string }> {
  const last = new Map<string, string>();
  for (const row of rows) if (row.price !== null && row.symbol !== null) last.set(row.symbol, row.price);
  const asOf = new Date();
  return new Map([...last].map(([symbol, price]) => [symbol, { symbol, price, as_of: asOf, stale: false, source: 'bench' }]));
}

/** The rows as a broker CSV for POST /v1/portfolios/:id/transactions/import. */
export function toCsv(rows: readonly BenchRow[]): string {
  const lines = ['date,type,symbol,quantity,price,amount,fee,currency,ratio_numerator,ratio_denominator'];
  for (const r of rows) {
    lines.push(
      [r.executed_at.toISOString(), r.type, r.symbol ?? '', r.quantity ?? '', r.price ?? '', r.amount ?? '', r.fee, r.currency, r.ratio_numerator ?? '', r.ratio_denominator ?? ''].join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}
