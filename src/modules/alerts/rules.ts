// Alert rules and their exact evaluation (FAIL-002): every value is a decimal string
// compared as a Decimal, indicators come from the exact incremental engines, and no
// value is ever a JS number.
//
// Semantics:
// - level kinds (price_above/_below, percent_change, rsi_above/_below) fire when their
//   condition becomes true: the previous evaluation did not satisfy it (an alert that
//   was never evaluated counts as "not satisfied", so one created while its condition
//   already holds fires on its next evaluation);
// - crossing kinds (Bollinger, MACD/signal, SMA fast/slow) fire when the previous value
//   is on one side and the current on the other (`prev <= line && cur > line` upwards,
//   `prev >= line && cur < line` downwards).
import { Decimal, toPlain } from '../../money/index.ts';
import { createIncremental, type IncrementalState } from '../indicators/index.ts';

export const ALERT_KINDS = [
  'price_above',
  'price_below',
  'percent_change',
  'rsi_above',
  'rsi_below',
  'price_crosses_bollinger_upper',
  'price_crosses_bollinger_lower',
  'macd_crosses_signal_up',
  'macd_crosses_signal_down',
  'sma_cross_up',
  'sma_cross_down',
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** Kinds evaluated on every quote tick through the sorted per-symbol threshold index. */
export const TICK_KINDS: ReadonlySet<AlertKind> = new Set(['price_above', 'price_below']);
/** Kinds that need a threshold. */
export const THRESHOLD_KINDS: ReadonlySet<AlertKind> = new Set(['price_above', 'price_below', 'percent_change', 'rsi_above', 'rsi_below']);

export interface AlertParams {
  period?: number;
  k?: string;
  fast?: number;
  slow?: number;
  window?: number;
  /** MACD signal period (default 9). */
  signal?: number;
}

export interface RuleSpec {
  kind: AlertKind;
  threshold: string | null;
  params: AlertParams;
}

export interface BarInput {
  close: string;
}

/** What one step saw: the value compared and the line it was compared with. */
export interface Firing {
  value: string;
  threshold: string | null;
  message: string;
}

/** JSON-safe evaluation state of a bar-driven rule (stored with the alert). */
export interface RuleState {
  /** Whether the level condition held at the last evaluation (null: never evaluated). */
  met: boolean | null;
  /** Previous closes (percent_change window) or the previous compared pair (crossings). */
  closes: string[];
  prev: { value: string; line: string } | null;
  indicators: IncrementalState[];
}

export const emptyState = (): RuleState => ({ met: null, closes: [], prev: null, indicators: [] });

const D = (value: string) => new Decimal(value);

/** The indicator specs a rule drives, in state order. */
export function indicatorSpecs(rule: RuleSpec): string[] {
  const p = rule.params;
  switch (rule.kind) {
    case 'rsi_above':
    case 'rsi_below':
      return [`rsi:${p.period ?? 14}`];
    case 'price_crosses_bollinger_upper':
    case 'price_crosses_bollinger_lower':
      return [`bbands:${p.period ?? 20}:${p.k ?? '2'}`];
    case 'macd_crosses_signal_up':
    case 'macd_crosses_signal_down':
      return [`macd:${p.fast ?? 12}:${p.slow ?? 26}:${p.signal ?? 9}`];
    case 'sma_cross_up':
    case 'sma_cross_down':
      return [`sma:${p.fast ?? 50}`, `sma:${p.slow ?? 200}`];
    case 'price_above':
    case 'price_below':
    case 'percent_change':
      return [];
  }
}

/** The level condition of a price kind at `price` (the index uses it for tick evaluation). */
export function priceCondition(kind: 'price_above' | 'price_below', price: string, threshold: string): boolean {
  const c = D(price).cmp(D(threshold));
  return kind === 'price_above' ? c > 0 : c < 0;
}

/**
 * A bar-driven evaluator: `step(bar)` feeds the next closed bar and returns a firing or
 * null; `state()` is the JSON-safe state to store, `restore` continues from it exactly.
 */
export function createRuleEvaluator(rule: RuleSpec, state: RuleState = emptyState()) {
  const specs = indicatorSpecs(rule);
  const indicators = specs.map((spec) => createIncremental(spec));
  indicators.forEach((indicator, i) => {
    const saved = state.indicators[i];
    if (saved !== undefined) indicator.restore(saved);
  });
  let met = state.met;
  let closes = [...state.closes];
  let prev = state.prev;
  const threshold = rule.threshold;

  /** Level kinds: fires when the condition turns true. */
  const level = (cond: boolean | null, value: string, message: string): Firing | null => {
    if (cond === null) return null;
    const fire = cond && met !== true;
    met = cond;
    return fire ? { value, threshold, message } : null;
  };
  /** Crossing kinds: the previous pair on one side, the current on the other. */
  const crossing = (value: string | null | undefined, line: string | null | undefined, up: boolean, message: string): Firing | null => {
    if (value === null || value === undefined || line === null || line === undefined) {
      prev = null;
      return null;
    }
    const before = prev;
    prev = { value, line };
    if (before === null) return null;
    const was = D(before.value).cmp(D(before.line));
    const now = D(value).cmp(D(line));
    const crossed = up ? was <= 0 && now > 0 : was >= 0 && now < 0;
    return crossed ? { value, threshold: line, message } : null;
  };

  return {
    step(bar: BarInput): Firing | null {
      const values = indicators.map((indicator) => indicator.update({ close: bar.close }));
      switch (rule.kind) {
        case 'price_above':
        case 'price_below':
          return level(priceCondition(rule.kind, bar.close, threshold ?? '0'), bar.close, `price ${bar.close} ${rule.kind === 'price_above' ? 'above' : 'below'} ${threshold ?? ''}`);
        case 'percent_change': {
          const window = rule.params.window ?? 1;
          closes.push(bar.close);
          if (closes.length > window + 1) closes = closes.slice(closes.length - window - 1);
          if (closes.length < window + 1) return null;
          const ref = D(closes[0] ?? '0');
          if (ref.isZero()) return null;
          // Percent change without division: (cur - ref) × 100 against threshold × ref.
          const t = D(threshold ?? '0');
          const lhs = D(bar.close).minus(ref).times(100);
          const rhs = t.times(ref);
          const cond = t.isNegative() ? lhs.cmp(rhs) <= 0 : lhs.cmp(rhs) >= 0;
          const change = toPlain(lhs.div(ref).toDecimalPlaces(4, Decimal.ROUND_HALF_UP));
          return level(cond, change, `change ${change}% over ${window} bars ${t.isNegative() ? 'at or below' : 'at or above'} ${threshold ?? ''}%`);
        }
        case 'rsi_above':
        case 'rsi_below': {
          const rsi = values[0]?.[indicators[0]?.columns[0] ?? ''] ?? null;
          if (rsi === null) return null;
          const c = D(rsi).cmp(D(threshold ?? '0'));
          return level(rule.kind === 'rsi_above' ? c > 0 : c < 0, rsi, `RSI ${rsi} ${rule.kind === 'rsi_above' ? 'above' : 'below'} ${threshold ?? ''}`);
        }
        case 'price_crosses_bollinger_upper':
        case 'price_crosses_bollinger_lower': {
          const cols = indicators[0]?.columns ?? [];
          const row = values[0];
          const upper = rule.kind === 'price_crosses_bollinger_upper';
          const line = row?.[cols[upper ? 2 : 0] ?? ''];
          return crossing(bar.close, line, upper, `price ${bar.close} crossed the ${upper ? 'upper' : 'lower'} Bollinger band ${line ?? ''}`);
        }
        case 'macd_crosses_signal_up':
        case 'macd_crosses_signal_down': {
          const cols = indicators[0]?.columns ?? [];
          const row = values[0];
          const up = rule.kind === 'macd_crosses_signal_up';
          return crossing(row?.[cols[0] ?? ''], row?.[cols[1] ?? ''], up, `MACD crossed ${up ? 'above' : 'below'} its signal line`);
        }
        case 'sma_cross_up':
        case 'sma_cross_down': {
          const fast = values[0]?.[indicators[0]?.columns[0] ?? ''];
          const slow = values[1]?.[indicators[1]?.columns[0] ?? ''];
          const up = rule.kind === 'sma_cross_up';
          return crossing(fast, slow, up, `SMA ${rule.params.fast ?? 50} crossed ${up ? 'above' : 'below'} SMA ${rule.params.slow ?? 200}`);
        }
      }
    },
    state(): RuleState {
      return { met, closes: [...closes], prev, indicators: indicators.map((indicator) => indicator.state()) };
    },
  };
}

export type RuleEvaluator = ReturnType<typeof createRuleEvaluator>;
