// The batch form: a whole series in, one column of decimal strings (or null) per output.
import { AppError } from '../../platform/errors.ts';
import { createEngine, type Engine } from './engines.ts';
import { parsePrice } from './fixed.ts';
import { parseIndicatorList, type IndicatorSpec } from './specs.ts';

/** A bar as the market module and the CSV reader have it: decimal strings, oldest first. */
export interface IndicatorBar {
  ts?: string | Date;
  date?: string;
  open?: string;
  /** Needed only by ATR. */
  high?: string;
  /** Needed only by ATR. */
  low?: string;
  close: string;
  volume?: string;
}

export interface IndicatorColumn {
  /** The CSV/API name: `sma_20`, `macd_signal_12_26_9`, `bb_upper_20_2`, ... */
  name: string;
  /** One per bar: a plain decimal string, or null where the window is not full. */
  values: (string | null)[];
}

/** A series as scaled integers (price·10^decimals), ready for the engines. */
export interface ScaledSeries {
  decimals: number;
  length: number;
  close: Float64Array;
  /** Present when some spec needs them (ATR). */
  high: Float64Array | undefined;
  low: Float64Array | undefined;
}

export const invalidInput = (detail: string, index: number) =>
  new AppError(400, 'invalid_indicator_input', 'Invalid indicator input', { detail, extra: { index } });

export const needsHighLow = (specs: readonly IndicatorSpec[]) => specs.some((s) => s.name === 'atr');

/** Validates the prices of a series and scales them to one common number of decimal places. */
export function prepareSeries(bars: readonly IndicatorBar[], specs: readonly IndicatorSpec[]): ScaledSeries {
  const withHighLow = needsHighLow(specs);
  const n = bars.length;
  const close = new Float64Array(n);
  const high = withHighLow ? new Float64Array(n) : undefined;
  const low = withHighLow ? new Float64Array(n) : undefined;
  // Decimal places of each value, then one common scale for the series: the widest.
  const places = new Uint8Array(withHighLow ? 3 * n : n);
  let decimals = 0;
  const read = (i: number, field: 'close' | 'high' | 'low', out: Float64Array, slot: number) => {
    const text = bars[i]![field];
    if (text === undefined) throw invalidInput(`Bar ${i}: ${field} is missing.`, i);
    const p = parsePrice(text);
    if (typeof p === 'string') throw invalidInput(`Bar ${i}: ${field} ${p}.`, i);
    out[i] = p.value;
    places[slot] = p.decimals;
    if (p.decimals > decimals) decimals = p.decimals;
  };
  for (let i = 0; i < n; i++) {
    read(i, 'close', close, i);
    if (high !== undefined && low !== undefined) {
      read(i, 'high', high, n + i);
      read(i, 'low', low, 2 * n + i);
    }
  }
  // value·10^(decimals − places) stays below 10^14: exact.
  const rescale = (values: Float64Array, offset: number) => {
    for (let i = 0; i < n; i++) values[i] = values[i]! * POW10[decimals - places[offset + i]!]!;
  };
  rescale(close, 0);
  if (high !== undefined && low !== undefined) {
    rescale(high, n);
    rescale(low, 2 * n);
  }
  return { decimals, length: n, close, high, low };
}

const POW10 = Array.from({ length: 9 }, (_, k) => 10 ** k);

/** Runs every engine over the series; outputs stay exact and unrendered until renderColumns. */
export function runEngines(series: ScaledSeries, specs: readonly IndicatorSpec[]): Engine[] {
  const engines = specs.map((spec) => createEngine(spec, series.decimals, series.length));
  for (const engine of engines) engine.run(series.close, series.high, series.low, series.length);
  return engines;
}

/** Renders every output of the engines as decimal strings (null where the window is not full). */
export function renderColumns(engines: readonly Engine[], length: number): IndicatorColumn[] {
  const columns: IndicatorColumn[] = [];
  for (const engine of engines) {
    engine.columns.forEach((name, c) => {
      const values = new Array<string | null>(length);
      for (let i = 0; i < length; i++) values[i] = engine.render(c, i);
      columns.push({ name, values });
    });
  }
  return columns;
}

/**
 * The outputs of one engine for bars [start, end) only: one array per column. Rendering
 * (exact decimal strings) is most of an indicator's cost, so callers render just the rows
 * they return, one engine at a time, and may yield to the event loop in between.
 */
export function renderEngine(engine: Engine, start: number, end: number): (string | null)[][] {
  return engine.columns.map((_name, c) => {
    const values = new Array<string | null>(Math.max(0, end - start));
    for (let i = start; i < end; i++) values[i - start] = engine.render(c, i);
    return values;
  });
}

/**
 * Computes the indicators over bars (oldest first). `specs` is a parsed list or its text
 * (`"sma:20,macd:12:26:9"`; undefined or empty → the defaults).
 */
export function computeIndicators(bars: readonly IndicatorBar[], specs?: readonly IndicatorSpec[] | string): IndicatorColumn[] {
  const list = specs === undefined || typeof specs === 'string' ? parseIndicatorList(specs) : specs;
  return renderColumns(runEngines(prepareSeries(bars, list), list), bars.length);
}
