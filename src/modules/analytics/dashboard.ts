// The dashboard's holdings list, as pure functions: filter, sort and page the caller's
// holdings across portfolios. The values (market value, P&L, weight, day change) are
// computed from transactions and quotes, not stored, so sorting happens here rather than
// in SQL; the sort field is still an enum mapped to a fixed accessor, never a name looked
// up from the request (FAIL-016).
import { AMOUNT_SCALE, amountFromDecimal, fixedFromPlain, INPUT_SCALE, plainFixed, type Amount, type Decimal, type Scaled } from '../../money/index.ts';
import type { Quantity } from '../portfolios/index.ts';
import { decodeCursor, encodeCursor, invalidCursor, UUID_RE } from './cursor.ts';

/** A sort key in a cursor: a plain decimal, at most 90 fraction digits (an amount's). */
const KEY_DECIMAL_RE = /^-?[0-9]{1,70}(\.[0-9]{1,90})?$/;

export const DASHBOARD_SORTS = ['symbol', 'market_value', 'unrealized_pnl', 'weight', 'day_change'] as const;
export type DashboardSort = (typeof DASHBOARD_SORTS)[number];
export const SORT_ORDERS = ['asc', 'desc'] as const;
export type SortOrder = (typeof SORT_ORDERS)[number];

export interface DashboardHolding {
  portfolioId: string;
  portfolioName: string;
  baseCurrency: string;
  symbol: string;
  quantity: Quantity;
  price: Scaled | null;
  stale: boolean;
  costBasis: Amount;
  marketValue: Amount | null;
  unrealizedPnl: Amount | null;
  realizedPnl: Amount;
  /** Percent of its portfolio's priced market value. */
  weight: Scaled | null;
  /** quantity × (price − previous close) × fx, in the base currency; null without both prices. */
  dayChange: Amount | null;
}

export interface HoldingsPageQuery {
  sort: DashboardSort;
  order: SortOrder;
  limit: number;
  cursor?: string | undefined;
  /** Upper-cased ticker prefix. */
  symbolPrefix?: string | undefined;
  portfolioId?: string | undefined;
  minMarketValue?: Decimal | undefined;
}

export interface HoldingsPage {
  items: DashboardHolding[];
  nextCursor: string | null;
}

type Key = string | bigint | null;

/** The one place a sort name becomes a value: a fixed accessor per enum member, and the scale of its numbers. */
const SORT_KEYS: Record<DashboardSort, { key: (h: DashboardHolding) => Key; scale: number }> = {
  symbol: { key: (h) => h.symbol, scale: 0 },
  market_value: { key: (h) => h.marketValue, scale: AMOUNT_SCALE },
  unrealized_pnl: { key: (h) => h.unrealizedPnl, scale: AMOUNT_SCALE },
  weight: { key: (h) => h.weight, scale: INPUT_SCALE },
  day_change: { key: (h) => h.dayChange, scale: AMOUNT_SCALE },
};

/** Holdings are identified across portfolios by portfolio id and symbol. */
export function holdingId(h: Pick<DashboardHolding, 'portfolioId' | 'symbol'>): string {
  return `${h.portfolioId}/${h.symbol}`;
}

const HOLDING_ID_RE = /^([0-9a-f-]{36})\/([A-Z0-9][A-Z0-9.-]{0,14})$/;

function compareKeys(a: Key, b: Key): number {
  if (a === null || b === null || typeof a !== typeof b) return 0;
  return a < b ? -1 : a > b ? 1 : 0;
}

const compareIds = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Total order for a sort: by key (nulls last in either direction), then by id, both in
 * the requested direction. Keyset pagination relies on it being total.
 */
function comparator(order: SortOrder) {
  const sign = order === 'asc' ? 1 : -1;
  return (a: { key: Key; id: string }, b: { key: Key; id: string }): number => {
    if (a.key === null && b.key !== null) return 1;
    if (a.key !== null && b.key === null) return -1;
    const byKey = a.key === null || b.key === null ? 0 : compareKeys(a.key, b.key);
    return sign * (byKey !== 0 ? byKey : compareIds(a.id, b.id));
  };
}

function keyText(key: Key, scale: number): string | null {
  if (key === null) return null;
  return typeof key === 'string' ? key : plainFixed(key, scale);
}

export function pageHoldings(all: readonly DashboardHolding[], query: HoldingsPageQuery): HoldingsPage {
  const { key: keyOf, scale } = SORT_KEYS[query.sort];
  const isSymbolSort = query.sort === 'symbol';
  let after: { key: Key; id: string } | null = null;
  if (query.cursor !== undefined) {
    const c = decodeCursor(query.cursor, {
      sort: query.sort,
      order: query.order,
      key: (k) => (isSymbolSort ? /^[A-Z0-9][A-Z0-9.-]{0,14}$/.test(k) : KEY_DECIMAL_RE.test(k)),
      id: (id) => {
        const m = HOLDING_ID_RE.exec(id);
        return m !== null && UUID_RE.test(m[1] ?? '');
      },
    });
    // A symbol sort never has a null key; a cursor claiming one is not ours.
    if (isSymbolSort && c.k === null) throw invalidCursor();
    after = { key: c.k === null ? null : isSymbolSort ? c.k : fixedFromPlain(c.k, scale), id: c.id };
  }

  const compare = comparator(query.order);
  const minimum = query.minMarketValue === undefined ? null : amountFromDecimal(query.minMarketValue);
  const rows = all
    .filter((h) => query.symbolPrefix === undefined || h.symbol.startsWith(query.symbolPrefix))
    .filter((h) => query.portfolioId === undefined || h.portfolioId === query.portfolioId)
    .filter((h) => minimum === null || (h.marketValue !== null && h.marketValue >= minimum))
    .map((h) => ({ h, key: keyOf(h), id: holdingId(h) }))
    .sort(compare);
  const start = after === null ? 0 : rows.findIndex((row) => compare(row, after) > 0);
  const from = start === -1 ? rows.length : start;
  const page = rows.slice(from, from + query.limit);
  const last = page.at(-1);
  const more = from + query.limit < rows.length;
  return {
    items: page.map((row) => row.h),
    nextCursor: more && last !== undefined ? encodeCursor({ s: query.sort, o: query.order, k: keyText(last.key, scale), id: last.id }) : null,
  };
}
