// The embedded default provider: a deterministic random walk per symbol, so a fresh
// install has prices, candles and a live tick stream with no API key, and the same
// symbol always shows the same history. Everything is labelled `source: "simulated"`.
//
// Prices are whole cents computed with integer arithmetic only (a 32-bit PRNG, integer
// division done exactly), and leave as decimal strings — no float ever touches them.
// Daily bars (weekdays from 2000-01-03) come from a walk seeded by the symbol; the
// minute path of a day is a walk seeded by (symbol, day) bent into a bridge from the
// day's open to its close and kept inside its low–high range, so minute and daily bars
// agree. The simulated market trades around the clock on weekdays (00:00–24:00 UTC).
//
// Only the demo universe below is priced (DEMO_SYMBOLS); any other symbol is unknown
// (no quote, no history, not found by search), so a typo is never given a price.
import type { Clock } from '../../../platform/clock.ts';
import type { Bar, BarInterval, MarketDataProvider, NewsItem, ProviderQuote, SearchResult, Trade, TradeStream } from './provider.ts';

const SOURCE = 'simulated';
const ORIGIN_MS = Date.UTC(2000, 0, 3); // a Monday
const DAY_MS = 86_400_000;
const MINUTES = 1440;

/** FNV-1a over the UTF-16 units: a stable 32-bit seed from text. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** mulberry32: a small, well-mixed 32-bit generator; `int(lo, hi)` is inclusive. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return { int: (lo: number, hi: number) => lo + (next() % (hi - lo + 1)) };
}

/** Exact integer division truncated towards zero (operands are safe integers). */
function intDiv(a: number, b: number): number {
  return (a - (a % b)) / b;
}

/** 12345 → "123.45", -5 → "-0.05". */
export function centsToDecimal(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}${intDiv(abs, 100)}.${String(abs % 100).padStart(2, '0')}`;
}

interface DayCents {
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

/** Weekday index since the origin for a UTC day start, or -1 for weekends/earlier days. */
function weekdayIndex(dayMs: number): number {
  if (dayMs < ORIGIN_MS) return -1;
  const days = intDiv(dayMs - ORIGIN_MS, DAY_MS);
  const weekday = days % 7; // 0 = Monday
  if (weekday > 4) return -1;
  return intDiv(days, 7) * 5 + weekday;
}

function dayStartOfIndex(index: number): number {
  return ORIGIN_MS + (intDiv(index, 5) * 7 + (index % 5)) * DAY_MS;
}

function dayStart(ms: number): number {
  return ms - (((ms % DAY_MS) + DAY_MS) % DAY_MS);
}

/** The demo universe: the only symbols the simulation prices. */
const KNOWN: Array<[string, string]> = [
  ['AAPL', 'Apple Inc (simulated)'],
  ['MSFT', 'Microsoft Corp (simulated)'],
  ['GOOGL', 'Alphabet Inc Class A (simulated)'],
  ['AMZN', 'Amazon.com Inc (simulated)'],
  ['NVDA', 'NVIDIA Corp (simulated)'],
  ['META', 'Meta Platforms Inc (simulated)'],
  ['TSLA', 'Tesla Inc (simulated)'],
  ['BRK.B', 'Berkshire Hathaway Inc Class B (simulated)'],
  ['JPM', 'JPMorgan Chase & Co (simulated)'],
  ['V', 'Visa Inc (simulated)'],
  ['SPY', 'SPDR S&P 500 ETF Trust (simulated)'],
  ['QQQ', 'Invesco QQQ Trust (simulated)'],
  ['VOO', 'Vanguard S&P 500 ETF (simulated)'],
  ['VTI', 'Vanguard Total Stock Market ETF (simulated)'],
  ['SAP', 'SAP SE ADR (simulated)'],
];

export const DEMO_SYMBOLS: readonly string[] = KNOWN.map(([symbol]) => symbol);
const DEMO = new Set(DEMO_SYMBOLS);

const HEADLINES = [
  '%s shares move as traders digest the session (simulated)',
  'Analysts revisit their view on %s (simulated)',
  '%s volume picks up ahead of the close (simulated)',
];

export interface SimulatedProviderOptions {
  clock: Clock;
  /** How often the tick stream emits, ms. */
  tickIntervalMs?: number;
  /** Symbols whose daily walks are kept in memory. */
  cacheSymbols?: number;
}

export function createSimulatedProvider(options: SimulatedProviderOptions): MarketDataProvider {
  const { clock } = options;
  const walks = new Map<string, DayCents[]>();
  const maxSymbols = options.cacheSymbols ?? 500;

  /** The symbol's daily walk up to and including weekday `index`, memoised and extended on demand. */
  const days = (symbol: string, index: number): DayCents[] => {
    let walk = walks.get(symbol);
    if (walk === undefined) {
      if (walks.size >= maxSymbols) {
        const oldest = walks.keys().next();
        if (oldest.done !== true) walks.delete(oldest.value);
      }
      walk = [];
      walks.set(symbol, walk);
    }
    if (walk.length > index) return walk;
    const seed = hash32(symbol);
    const rng = prng(seed);
    // Replaying from the start keeps the walk a pure function of (symbol, index).
    let prev = 1000 + (seed % 49_000);
    for (let i = 0; i < walk.length; i++) {
      rng.int(0, 1); rng.int(0, 1); rng.int(0, 1); rng.int(0, 1); rng.int(0, 1);
      prev = walk[i]?.close ?? prev;
    }
    for (let i = walk.length; i <= index; i++) {
      const gapBp = rng.int(-50, 50);
      const moveBp = rng.int(-300, 300);
      const highBp = rng.int(0, 150);
      const lowBp = rng.int(0, 150);
      const volume = rng.int(100_000, 5_000_000);
      const open = Math.max(100, prev + intDiv(prev * gapBp, 10_000));
      const close = Math.max(100, open + intDiv(open * moveBp, 10_000));
      const top = Math.max(open, close);
      const bottom = Math.min(open, close);
      walk.push({ open, close, high: top + intDiv(top * highBp, 10_000), low: Math.max(1, bottom - intDiv(bottom * lowBp, 10_000)), volume });
      prev = close;
    }
    return walk;
  };

  /** Prices at minutes 0…1440 of weekday `index` (1441 points: bar i runs from p[i] to p[i+1]). */
  const minutePath = (symbol: string, index: number): number[] => {
    const day = days(symbol, index)[index];
    if (day === undefined) return [];
    const rng = prng(hash32(`${symbol}#${index}`));
    const step = Math.max(1, intDiv(day.open, 2000));
    const w: number[] = [0];
    for (let i = 1; i <= MINUTES; i++) w.push((w[i - 1] ?? 0) + rng.int(-step, step));
    const wEnd = w[MINUTES] ?? 0;
    const drift = day.close - day.open;
    return w.map((wi, i) => {
      const p = day.open + wi - intDiv(wEnd * i, MINUTES) + intDiv(drift * i, MINUTES);
      return Math.min(day.high, Math.max(day.low, p));
    });
  };

  const dailyBar = (symbol: string, index: number): Bar | undefined => {
    const day = days(symbol, index)[index];
    if (day === undefined) return undefined;
    return {
      ts: new Date(dayStartOfIndex(index)),
      open: centsToDecimal(day.open),
      high: centsToDecimal(day.high),
      low: centsToDecimal(day.low),
      close: centsToDecimal(day.close),
      volume: String(day.volume),
    };
  };

  /** The last completed minute's close at `at`, with its previous daily close. */
  const quoteAt = (symbol: string, at: number): ProviderQuote | null => {
    let start = dayStart(at);
    let index = weekdayIndex(start);
    let minute = intDiv(at - start, 60_000);
    // Weekend: the market is shut; the quote is Friday's close.
    while (index < 0 && start > ORIGIN_MS) {
      start -= DAY_MS;
      index = weekdayIndex(start);
      minute = MINUTES;
    }
    if (index < 0) return null;
    const path = minutePath(symbol, index);
    const price = path[minute];
    if (price === undefined) return null;
    const previous = index > 0 ? days(symbol, index)[index - 1] : undefined;
    return {
      symbol,
      price: centsToDecimal(price),
      previous_close: previous === undefined ? null : centsToDecimal(previous.close),
      as_of: new Date(start + minute * 60_000),
      source: SOURCE,
    };
  };

  const history = (symbol: string, interval: BarInterval, from: Date, to: Date): Promise<Bar[]> => {
    if (!DEMO.has(symbol)) return Promise.resolve([]);
    const end = Math.min(to.getTime(), clock.now().getTime());
    const bars: Bar[] = [];
    for (let day = dayStart(Math.max(from.getTime(), ORIGIN_MS)); day < end; day += DAY_MS) {
      const index = weekdayIndex(day);
      if (index < 0) continue;
      if (interval === '1d') {
        // Only completed days: today's bar is still moving.
        const bar = day + DAY_MS <= end ? dailyBar(symbol, index) : undefined;
        if (bar !== undefined && bar.ts.getTime() >= from.getTime()) bars.push(bar);
        continue;
      }
      const path = minutePath(symbol, index);
      const volume = days(symbol, index)[index]?.volume ?? 0;
      for (let m = 0; m < MINUTES; m++) {
        const ts = day + m * 60_000;
        if (ts < from.getTime() || ts + 60_000 > end) continue;
        const open = path[m] ?? 0;
        const close = path[m + 1] ?? open;
        bars.push({
          ts: new Date(ts),
          open: centsToDecimal(open),
          high: centsToDecimal(Math.max(open, close)),
          low: centsToDecimal(Math.min(open, close)),
          close: centsToDecimal(close),
          volume: String(intDiv(volume, MINUTES)),
        });
      }
    }
    return Promise.resolve(bars);
  };

  const search = (query: string): Promise<SearchResult[]> => {
    const q = query.trim().toUpperCase();
    const results = KNOWN.filter(([symbol, name]) => symbol.startsWith(q) || name.toUpperCase().includes(q)).map(
      ([symbol, name]): SearchResult => ({ symbol, name, type: 'Common Stock', exchange: 'SIM', source: SOURCE }),
    );
    return Promise.resolve(results.slice(0, 20));
  };

  const news = (symbol: string, from: Date, to: Date): Promise<NewsItem[]> => {
    const items: NewsItem[] = [];
    if (!DEMO.has(symbol)) return Promise.resolve(items);
    const end = Math.min(to.getTime(), clock.now().getTime());
    for (let day = dayStart(to.getTime()); day >= dayStart(from.getTime()) && items.length < 50; day -= DAY_MS) {
      const index = weekdayIndex(day);
      if (index < 0) continue;
      const publishedAt = day + 15 * 3_600_000;
      if (publishedAt > end || publishedAt < from.getTime()) continue;
      const template = HEADLINES[hash32(`${symbol}@${index}`) % HEADLINES.length] ?? '%s';
      items.push({
        id: `sim-${symbol}-${index}`,
        symbol,
        headline: template.replace('%s', symbol),
        summary: `Generated by the simulated provider for ${symbol}; not real news.`,
        publisher: 'FinanceHub simulation',
        url: null,
        published_at: new Date(publishedAt),
        source: SOURCE,
      });
    }
    return Promise.resolve(items);
  };

  const streamTrades = (onTrade: (trade: Trade) => void): TradeStream => {
    const symbols = new Set<string>();
    const timer = setInterval(() => {
      const now = clock.now().getTime();
      for (const symbol of symbols) {
        if (!DEMO.has(symbol)) continue;
        const quote = quoteAt(symbol, now);
        if (quote !== null) onTrade({ symbol, price: quote.price, volume: '0', at: quote.as_of, source: SOURCE });
      }
    }, options.tickIntervalMs ?? 1000);
    timer.unref();
    return {
      subscribe: (symbol) => void symbols.add(symbol),
      unsubscribe: (symbol) => void symbols.delete(symbol),
      close: () => clearInterval(timer),
    };
  };

  return {
    name: SOURCE,
    quote: (symbol) => Promise.resolve(DEMO.has(symbol) ? quoteAt(symbol, clock.now().getTime()) : null),
    history,
    search,
    knows: (symbol) => DEMO.has(symbol),
    profile: (symbol) =>
      Promise.resolve(!DEMO.has(symbol) ? null : {
        symbol,
        name: KNOWN.find(([s]) => s === symbol)?.[1] ?? `${symbol} (simulated)`,
        exchange: 'SIM',
        currency: 'USD',
        country: null,
        industry: null,
        website: null,
        logo: null,
        ipo: null,
        market_cap: null,
        source: SOURCE,
      }),
    news,
    streamTrades,
    breakerState: () => 'closed',
  };
}
