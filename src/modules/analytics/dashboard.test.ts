import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Decimal, EXACT_ONE, fixedFromPlain, parseExact } from '../../money/index.ts';
import { Quantity, WEIGHT_SCALE } from '../portfolios/index.ts';
import { AppError } from '../../platform/errors.ts';
import { encodeCursor } from '../../platform/http/cursor.ts';
import { DASHBOARD_SORTS, holdingId, pageHoldings, type DashboardHolding, type DashboardSort, type SortOrder } from './dashboard.ts';

const P1 = '11111111-1111-4111-8111-111111111111';
const P2 = '22222222-2222-4222-8222-222222222222';

/** The list's amount scale (integers of 10^-12). */
const SCALE = 12;

function holding(portfolioId: string, symbol: string, mv: string | null, pnl: string | null, weight: string | null, day: string | null): DashboardHolding {
  const d = (v: string | null, scale = SCALE) => (v === null ? null : fixedFromPlain(v, scale));
  return {
    portfolioId,
    portfolioName: portfolioId === P1 ? 'one' : 'two',
    baseCurrency: 'USD',
    symbol,
    quantity: Quantity.fromExact(EXACT_ONE),
    price: mv === null ? null : parseExact(mv),
    stale: false,
    costBasis: d('1') ?? 0n,
    marketValue: d(mv),
    unrealizedPnl: d(pnl),
    realizedPnl: 0n,
    weight: d(weight, WEIGHT_SCALE),
    dayChange: d(day),
  };
}

// Ties (equal market values, equal symbols in two portfolios), nulls, negatives and a
// weight rounded to its scale, so the order must fall back to the id and keep nulls last.
const HOLDINGS: DashboardHolding[] = [
  holding(P1, 'AAPL', '100', '10', '33.333333333333333333333333333333333333333333333333333333333', '1'),
  holding(P2, 'AAPL', '100', '-5', '50', '-1'),
  holding(P1, 'MSFT', '250.5', '0', '40', null),
  holding(P2, 'BRK.B', null, null, null, null),
  holding(P1, 'ZZ', '0.01', '-0.01', '0.001', '0'),
  holding(P2, 'MSFT', '100', '10', '50', '2'),
  holding(P1, 'A', null, null, null, '3'),
];

function expectedOrder(sort: DashboardSort, order: SortOrder): string[] {
  const key = (h: DashboardHolding): string | bigint | null =>
    sort === 'symbol' ? h.symbol : sort === 'market_value' ? h.marketValue : sort === 'unrealized_pnl' ? h.unrealizedPnl : sort === 'weight' ? h.weight : h.dayChange;
  const nonNull = HOLDINGS.filter((h) => key(h) !== null);
  const nulls = HOLDINGS.filter((h) => key(h) === null);
  const cmp = (a: DashboardHolding, b: DashboardHolding) => {
    const ka = key(a);
    const kb = key(b);
    let c = 0;
    if (ka !== null && kb !== null) c = ka < kb ? -1 : ka > kb ? 1 : 0;
    if (c === 0) c = holdingId(a) < holdingId(b) ? -1 : holdingId(a) > holdingId(b) ? 1 : 0;
    return order === 'asc' ? c : -c;
  };
  return [...nonNull.sort(cmp), ...nulls.sort(cmp)].map(holdingId);
}

function walk(sort: DashboardSort, order: SortOrder, limit: number): string[] {
  const seen: string[] = [];
  let cursor: string | undefined;
  for (let guard = 0; guard < 100; guard++) {
    const page = pageHoldings(HOLDINGS, { sort, order, limit, cursor }, SCALE);
    assert.ok(page.items.length <= limit);
    seen.push(...page.items.map(holdingId));
    if (page.nextCursor === null) return seen;
    cursor = page.nextCursor;
  }
  throw new Error('pagination did not end');
}

describe('dashboard holdings pages', () => {
  for (const sort of DASHBOARD_SORTS) {
    for (const order of ['asc', 'desc'] as const) {
      it(`walks every holding exactly once in ${sort} ${order} order, for every page size`, () => {
        const expected = expectedOrder(sort, order);
        for (let limit = 1; limit <= HOLDINGS.length + 1; limit++) assert.deepEqual(walk(sort, order, limit), expected, `limit ${limit}`);
      });
    }
  }

  it('filters by symbol prefix, portfolio and minimum market value', () => {
    const ids = (q: Parameters<typeof pageHoldings>[1]) => pageHoldings(HOLDINGS, q, SCALE).items.map(holdingId);
    assert.deepEqual(ids({ sort: 'symbol', order: 'asc', limit: 50, symbolPrefix: 'A' }), [`${P1}/A`, `${P1}/AAPL`, `${P2}/AAPL`]);
    assert.deepEqual(ids({ sort: 'symbol', order: 'asc', limit: 50, portfolioId: P2 }), [`${P2}/AAPL`, `${P2}/BRK.B`, `${P2}/MSFT`]);
    assert.deepEqual(ids({ sort: 'market_value', order: 'desc', limit: 50, minMarketValue: new Decimal('100') }), [`${P1}/MSFT`, `${P2}/MSFT`, `${P2}/AAPL`, `${P1}/AAPL`]);
    // a minimum finer than the amounts' scale is compared exactly, not rounded onto it
    assert.deepEqual(ids({ sort: 'market_value', order: 'desc', limit: 50, minMarketValue: new Decimal('100.0000000000001') }), [`${P1}/MSFT`]);
    assert.deepEqual(ids({ sort: 'market_value', order: 'desc', limit: 50, minMarketValue: new Decimal('0.0099999999999999') }).length, 5);
  });

  it('FAIL-016: tampered cursors answer 400 invalid_cursor, never a crash', () => {
    const good = pageHoldings(HOLDINGS, { sort: 'market_value', order: 'desc', limit: 2 }, SCALE).nextCursor;
    assert.ok(good !== null);
    const tampered = [
      'not-base64!',
      good.slice(0, -3),
      `${good}AAAA`,
      Buffer.from('{"s":"market_value"').toString('base64url'),
      Buffer.from('[1,2,3]').toString('base64url'),
      Buffer.from('null').toString('base64url'),
      encodeCursor({ s: 'symbol', o: 'desc', k: 'AAPL', id: `${P1}/AAPL` }),
      encodeCursor({ s: 'market_value', o: 'asc', k: '1', id: `${P1}/AAPL` }),
      encodeCursor({ s: 'market_value', o: 'desc', k: "1 OR 1=1", id: `${P1}/AAPL` }),
      encodeCursor({ s: 'market_value', o: 'desc', k: '1', id: "x'; DROP TABLE transactions--" }),
      Buffer.from(JSON.stringify({ s: 'market_value', o: 'desc', k: 1, id: `${P1}/AAPL` })).toString('base64url'),
      Buffer.from(JSON.stringify({ s: 'market_value', o: 'desc', k: '1', id: `${P1}/AAPL`, extra: true })).toString('base64url'),
      'x'.repeat(600),
    ];
    for (const cursor of tampered) {
      assert.throws(
        () => pageHoldings(HOLDINGS, { sort: 'market_value', order: 'desc', limit: 2, cursor }, SCALE),
        (err: unknown) => err instanceof AppError && err.status === 400 && err.code === 'invalid_cursor',
        cursor,
      );
    }
  });

  it('property: any string as a cursor is either accepted or a 400 invalid_cursor', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string().map((s) => Buffer.from(s).toString('base64url')), fc.json().map((j) => Buffer.from(j).toString('base64url'))), (cursor) => {
        try {
          pageHoldings(HOLDINGS, { sort: 'weight', order: 'asc', limit: 3, cursor }, SCALE);
        } catch (err) {
          assert.ok(err instanceof AppError && err.status === 400 && err.code === 'invalid_cursor');
        }
      }),
      { numRuns: 300 },
    );
  });
});
