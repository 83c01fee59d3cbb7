// The per-symbol threshold index for tick-evaluated kinds (price_above / price_below):
// thresholds kept sorted, so a tick from price p0 to p1 visits only the alerts whose
// threshold lies between them (the only ones whose condition can change), found by
// binary search, never a scan of every alert. Alerts not yet evaluated wait in a pending
// set and are evaluated in full on the next tick (a new alert whose condition already
// holds fires then). After a restart the first tick of a symbol evaluates all its alerts
// against their stored condition.
import { Decimal } from '../../money/index.ts';

export interface IndexedAlert {
  id: string;
  kind: 'price_above' | 'price_below';
  threshold: string;
  /** Whether the condition held at the last evaluation (null: never evaluated). */
  met: boolean | null;
}

interface Entry {
  alert: IndexedAlert;
  t: Decimal;
}

interface SymbolIndex {
  above: Entry[];
  below: Entry[];
  pending: Map<string, Entry>;
  byId: Map<string, Entry>;
  last: Decimal | null;
}

export interface Flip {
  alert: IndexedAlert;
  /** The condition now; a flip to true is a firing. */
  met: boolean;
}

/** First index whose threshold is >= t (or > t when `strict`). */
function lowerBound(list: Entry[], t: Decimal, strict: boolean): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = (list[mid] as Entry).t.cmp(t);
    if (c < 0 || (strict && c === 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function createPriceIndex() {
  const symbols = new Map<string, SymbolIndex>();
  const of = (symbol: string): SymbolIndex => {
    let index = symbols.get(symbol);
    if (index === undefined) {
      index = { above: [], below: [], pending: new Map(), byId: new Map(), last: null };
      symbols.set(symbol, index);
    }
    return index;
  };
  const condition = (entry: Entry, price: Decimal): boolean => {
    const c = price.cmp(entry.t);
    return entry.alert.kind === 'price_above' ? c > 0 : c < 0;
  };

  return {
    add(symbol: string, alert: IndexedAlert): void {
      const index = of(symbol);
      if (index.byId.has(alert.id)) this.remove(symbol, alert.id);
      const entry: Entry = { alert, t: new Decimal(alert.threshold) };
      const list = alert.kind === 'price_above' ? index.above : index.below;
      list.splice(lowerBound(list, entry.t, true), 0, entry);
      index.byId.set(alert.id, entry);
      if (alert.met === null) index.pending.set(alert.id, entry);
    },
    remove(symbol: string, id: string): void {
      const index = symbols.get(symbol);
      const entry = index?.byId.get(id);
      if (index === undefined || entry === undefined) return;
      const list = entry.alert.kind === 'price_above' ? index.above : index.below;
      const at = list.indexOf(entry);
      if (at >= 0) list.splice(at, 1);
      index.byId.delete(id);
      index.pending.delete(id);
    },
    /** The alert's condition at its last evaluation (null: never evaluated or not indexed). */
    condition: (symbol: string, id: string): boolean | null => symbols.get(symbol)?.byId.get(id)?.alert.met ?? null,
    has: (symbol: string) => (symbols.get(symbol)?.byId.size ?? 0) > 0,
    size: (symbol: string) => symbols.get(symbol)?.byId.size ?? 0,
    symbols: () => [...symbols.entries()].filter(([, index]) => index.byId.size > 0).map(([symbol]) => symbol),
    clear(symbol: string): void {
      symbols.delete(symbol);
    },
    /** Applies one tick; returns the alerts whose condition changed (and so were visited). */
    tick(symbol: string, priceText: string): Flip[] {
      const index = symbols.get(symbol);
      if (index === undefined) return [];
      const price = new Decimal(priceText);
      // The alerts a tick can flip: every one on a symbol's first tick; else those whose
      // threshold lies between the last and this price (each in one list, so no repeats)
      // plus the pending ones, deduplicated only when there are any (most ticks allocate
      // no set).
      let candidates: Iterable<Entry> = index.byId.values();
      if (index.last !== null) {
        const between: Entry[] = [];
        const c = index.last.cmp(price);
        if (c !== 0) {
          const lo = c < 0 ? index.last : price;
          const hi = c < 0 ? price : index.last;
          // price_above (p > t) changes for t in [lo, hi); price_below (p < t) for t in (lo, hi].
          for (let i = lowerBound(index.above, lo, false); i < index.above.length && (index.above[i] as Entry).t.lt(hi); i += 1) between.push(index.above[i] as Entry);
          for (let i = lowerBound(index.below, lo, true); i < index.below.length && (index.below[i] as Entry).t.lte(hi); i += 1) between.push(index.below[i] as Entry);
        }
        candidates = index.pending.size === 0 ? between : new Set([...between, ...index.pending.values()]);
      }
      index.pending.clear();
      index.last = price;
      const flips: Flip[] = [];
      for (const entry of candidates) {
        const met = condition(entry, price);
        if (met !== entry.alert.met) {
          entry.alert.met = met;
          flips.push({ alert: entry.alert, met });
        }
      }
      return flips;
    },
  };
}

export type PriceIndex = ReturnType<typeof createPriceIndex>;
