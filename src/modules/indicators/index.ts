// Technical indicators (issue 5, FAIL-002): SMA, EMA, RSI, MACD, Bollinger bands and ATR
// as /work/shared INDICATORS.md defines them (TTR / TA-Lib conventions), in exact decimal
// arithmetic. No HTTP and no I/O here: the market module's
// GET /v1/market/indicators/:symbol and the `financehub indicators` CLI call this API.
//
// Public API (stable):
//
//   type IndicatorName = 'sma' | 'ema' | 'rsi' | 'macd' | 'bbands' | 'atr'
//
//   parseIndicatorSpec('macd:12:26:9') → IndicatorSpec
//   parseIndicatorList('sma:20,rsi:14') → IndicatorSpec[]   (undefined/'' → DEFAULT_INDICATORS)
//     Parameters left out take the defaults (sma/ema:20, rsi/atr:14, macd:12:26:9, bbands:20:2).
//     Periods are whole numbers 1..1000, MACD fast < slow, Bollinger k a decimal 0 < k ≤ 10.
//     Anything else throws AppError 400 `invalid_indicator`.
//   columnNames(spec) → ['macd_12_26_9', 'macd_signal_12_26_9', 'macd_hist_12_26_9']
//   firstIndexes(spec) → index of each column's first value (= length of its null prefix)
//
//   computeIndicators(bars, specs?) → IndicatorColumn[]  ({ name, values: (string | null)[] })
//     bars: { close, high?, low?, ... } as decimal strings, oldest first (high/low only for ATR).
//     Prices: plain decimals, at most 8 places, |value| < 1,000,000; otherwise AppError 400
//     `invalid_indicator_input` with `index` (the bar) in the problem's extra members.
//
//   createIncremental(spec | 'rsi:14') → { update(bar) → IndicatorValues | null, state(), restore(state) }
//     O(1) per bar; values identical to computeIndicators on the same bars; state() is JSON.
//
// Values are plain decimal strings (no exponent) rounded half up at the 30th decimal place
// when they do not terminate earlier; see docs/indicators.md for the representation.
export {
  columnNames, DEFAULT_INDICATORS, firstIndexes, formatIndicatorSpec, INDICATOR_NAMES, MAX_PERIOD, MIN_PERIOD,
  parseIndicatorList, parseIndicatorSpec,
} from './specs.ts';
export type { IndicatorName, IndicatorSpec } from './specs.ts';
export { computeIndicators, prepareSeries, renderColumns, renderEngine, runEngines } from './compute.ts';
export type { IndicatorBar, IndicatorColumn, ScaledSeries } from './compute.ts';
export { createIncremental } from './incremental.ts';
export type { IncrementalIndicator, IncrementalState, IndicatorValues } from './incremental.ts';
export { MAX_ABS_PRICE, MAX_DECIMALS, SCALE_DIGITS, roundToPlaces } from './fixed.ts';
