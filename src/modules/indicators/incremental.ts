// The incremental form: one bar at a time, O(1) work per bar, with a JSON-safe state that
// can be stored and restored (the alerts feature keeps one per subscription). It drives
// the same engines as the batch form, always at MAX_DECIMALS places, so its values are
// identical to the batch values for the same bars.
import { createEngine, type Engine, type EngineState } from './engines.ts';
import { MAX_DECIMALS, parsePrice } from './fixed.ts';
import { AppError } from '../../platform/errors.ts';
import { columnNames, formatIndicatorSpec, parseIndicatorSpec, type IndicatorSpec } from './specs.ts';
import type { IndicatorBar } from './compute.ts';

/** Each output column's value for the latest bar. */
export type IndicatorValues = Record<string, string | null>;

export interface IncrementalState {
  version: 1;
  /** Canonical spec text (`macd:12:26:9`). */
  spec: string;
  decimals: number;
  engine: EngineState;
}

export interface IncrementalIndicator {
  readonly spec: IndicatorSpec;
  readonly columns: readonly string[];
  /** Feeds the next bar; null while no column has a value yet, else every column (null where not yet full). */
  update: (bar: IndicatorBar) => IndicatorValues | null;
  /** A JSON-safe snapshot; restore() on a fresh indicator of the same spec continues exactly. */
  state: () => IncrementalState;
  restore: (state: IncrementalState) => void;
}

const invalidBar = (detail: string) => new AppError(400, 'invalid_indicator_input', 'Invalid indicator input', { detail });

function scaled(bar: IndicatorBar, field: 'close' | 'high' | 'low'): number {
  const text = bar[field];
  if (text === undefined) throw invalidBar(`${field} is missing.`);
  const p = parsePrice(text);
  if (typeof p === 'string') throw invalidBar(`${field} ${p}.`);
  return p.value * 10 ** (MAX_DECIMALS - p.decimals);
}

export function createIncremental(specOrText: IndicatorSpec | string): IncrementalIndicator {
  const spec = typeof specOrText === 'string' ? parseIndicatorSpec(specOrText) : specOrText;
  const canonical = formatIndicatorSpec(spec);
  const columns = columnNames(spec);
  const needsHighLow = spec.name === 'atr';
  let engine: Engine = createEngine(spec, MAX_DECIMALS, 1);
  return {
    spec,
    columns,
    update(bar) {
      const close = scaled(bar, 'close');
      const high = needsHighLow ? scaled(bar, 'high') : 0;
      const low = needsHighLow ? scaled(bar, 'low') : 0;
      engine.step(0, close, high, low);
      const values: IndicatorValues = {};
      let any = false;
      columns.forEach((name, c) => {
        const v = engine.render(c, 0);
        values[name] = v;
        if (v !== null) any = true;
      });
      return any ? values : null;
    },
    state: () => ({ version: 1, spec: canonical, decimals: MAX_DECIMALS, engine: engine.save() }),
    restore(state) {
      if (state.version !== 1 || state.spec !== canonical || state.decimals !== MAX_DECIMALS) {
        throw new TypeError(`indicator state is for "${String(state.spec)}" (version ${String(state.version)}), not "${canonical}"`);
      }
      const fresh = createEngine(spec, MAX_DECIMALS, 1);
      fresh.load(state.engine);
      engine = fresh;
    },
  };
}
