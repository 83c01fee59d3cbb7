// The dashboard's holdings list, as pure functions: filter, sort and page the caller's
// holdings across portfolios. The values (market value, P&L, weight, day change) are
// computed from transactions and quotes, not stored, so sorting happens here rather than
// in SQL; the sort field is still an enum mapped to a fixed accessor, never a name looked
// up from the request (FAIL-016).
import { exactFromDecimal, fixedFromPlain, plainFixed, rescale, type Amount, type Decimal, type Exact } from '../../money/index.ts';
import { WEIGHT_SCALE, type Quantity } from '../portfolios/index.ts';
import { decodeCursor, encodeCursor, invalidCursor, UUID_RE } from '../../platform/http/cursor.ts';

/** A sort key in a cursor: a plain decimal, at most 90 fraction digits (the finest an amount can need: three entered values of 30). */
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
  price: Exact | null;
  stale: boolean;
  /** The amounts are integers of 10^-scale, one scale for the whole list (see pageHoldings). */
  costBasis: Amount;
  marketValue: Amount | null;
  unrealizedPnl: Amount | null;
  realizedPnl: Amount;
  /** Percent of its portfolio's priced market value, an integer of 10^-WEIGHT_SCALE. */
  weight: bigint | null;
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

/**
 * The one place a sort name becomes a value: a fixed accessor per enum member, and the
 * scale of its numbers (`amounts` stands for the list's amount scale).
 */
const SORT_KEYS: Record<DashboardSort, { key: (h: DashboardHolding) => Key; scale: number | 'amounts' }> = {
  symbol: { key: (h) => h.symbol, scale: 0 },
  market_value: { key: (h) => h.marketValue, scale: 'amounts' },
  unrealized_pnl: { key: (h) => h.unrealizedPnl, scale: 'amounts' },
  weight: { key: (h) => h.weight, scale: WEIGHT_SCALE },
  day_change: { key: (h) => h.dayChange, scale: 'amounts' },
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

/** One page of holdings whose amounts are integers of 10^-amountScale. */
export function pageHoldings(all: readonly DashboardHolding[], query: HoldingsPageQuery, amountScale: number): HoldingsPage {
  const sortKey = SORT_KEYS[query.sort];
  const keyOf = sortKey.key;
  const scale = sortKey.scale === 'amounts' ? amountScale : sortKey.scale;
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
  const minimum = query.minMarketValue === undefined ? null : exactFromDecimal(query.minMarketValue);
  // Compared at whichever scale is finer, so neither side is rounded.
  const atLeastMinimum = (value: Amount) => {
    if (minimum === null) return true;
    const places = minimum.places > amountScale ? minimum.places : amountScale;
    return rescale(value, amountScale, places) >= rescale(minimum.units, minimum.places, places);
  };
  const rows = all
    .filter((h) => query.symbolPrefix === undefined || h.symbol.startsWith(query.symbolPrefix))
    .filter((h) => query.portfolioId === undefined || h.portfolioId === query.portfolioId)
    .filter((h) => minimum === null || (h.marketValue !== null && atLeastMinimum(h.marketValue)))
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
