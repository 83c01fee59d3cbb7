// The forming bar of `candles:<SYMBOL>:<interval>`: built on this instance from the quotes
// it receives while someone watches the symbol and interval (buckets aligned like the
// candles API's, to Monday 2000-01-03 UTC). Prices and volumes stay decimal strings,
// compared and summed exactly (FAIL-002). A bar starts at the first quote seen in its
// bucket, so the first bar after a subscription can be partial; closed bars are in the
// candles API.
import { isDecimalString, parseDecimal, toPlain } from '../../money/decimal.ts';
import { BUCKET_ORIGIN, intervalMs, type CandleInterval } from '../market/index.ts';

export interface FormingBar {
  interval: CandleInterval;
  ts: string;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
}

const ORIGIN = Date.parse(BUCKET_ORIGIN);

function bucketStart(at: number, ms: number): number {
  return at - ((((at - ORIGIN) % ms) + ms) % ms);
}

export function createCandleBuilder() {
  /** symbol → interval → watchers and the forming bar. */
  const watched = new Map<string, Map<CandleInterval, { watchers: number; bar: (FormingBar & { start: number }) | null }>>();

  return {
    watch(symbol: string, interval: CandleInterval): void {
      let intervals = watched.get(symbol);
      if (intervals === undefined) {
        intervals = new Map();
        watched.set(symbol, intervals);
      }
      const slot = intervals.get(interval);
      if (slot === undefined) intervals.set(interval, { watchers: 1, bar: null });
      else slot.watchers++;
    },

    unwatch(symbol: string, interval: CandleInterval): void {
      const intervals = watched.get(symbol);
      const slot = intervals?.get(interval);
      if (intervals === undefined || slot === undefined) return;
      slot.watchers--;
      if (slot.watchers > 0) return;
      intervals.delete(interval);
      if (intervals.size === 0) watched.delete(symbol);
    },

    /** Folds a quote into every watched interval of its symbol; the bars that changed. */
    update(symbol: string, price: string, volume: string, at: Date): FormingBar[] {
      const intervals = watched.get(symbol);
      if (intervals === undefined || !isDecimalString(price) || Number.isNaN(at.getTime())) return [];
      const addVolume = isDecimalString(volume) ? volume : '0';
      const changed: FormingBar[] = [];
      for (const [interval, slot] of intervals) {
        const start = bucketStart(at.getTime(), intervalMs(interval));
        const bar = slot.bar;
        if (bar !== null && start < bar.start) continue; // a late quote of a bar already left
        if (bar === null || start > bar.start) {
          slot.bar = { interval, start, ts: new Date(start).toISOString(), open: price, high: price, low: price, close: price, volume: addVolume };
        } else {
          const p = parseDecimal(price);
          if (p.greaterThan(parseDecimal(bar.high))) bar.high = price;
          if (p.lessThan(parseDecimal(bar.low))) bar.low = price;
          bar.close = price;
          bar.volume = toPlain(parseDecimal(bar.volume).plus(parseDecimal(addVolume)));
        }
        const { start: _start, ...out } = slot.bar as FormingBar & { start: number };
        changed.push(out);
      }
      return changed;
    },
  };
}
