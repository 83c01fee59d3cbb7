// Indicator specs: `name:param:param`, e.g. `macd:12:26:9`, and the CSV/API column names
// they produce. Parsing errors are AppError 400 `invalid_indicator`.
import { AppError } from '../../platform/errors.ts';
import { parseDecimal } from './fixed.ts';

export type IndicatorName = 'sma' | 'ema' | 'rsi' | 'macd' | 'bbands' | 'atr';

export const INDICATOR_NAMES: readonly IndicatorName[] = ['sma', 'ema', 'rsi', 'macd', 'bbands', 'atr'];

export type IndicatorSpec =
  | { name: 'sma'; period: number }
  | { name: 'ema'; period: number }
  | { name: 'rsi'; period: number }
  | { name: 'atr'; period: number }
  | { name: 'macd'; fast: number; slow: number; signal: number }
  /** k is a normalised decimal string ("2", "2.5"), so column names are stable. */
  | { name: 'bbands'; period: number; k: string };

export const DEFAULT_INDICATORS = 'sma:20,ema:20,rsi:14,macd:12:26:9,bbands:20:2,atr:14';

export const MIN_PERIOD = 1;
export const MAX_PERIOD = 1000;
/** Largest Bollinger multiplier and most decimal places in it. */
export const MAX_BBANDS_K = 10;
export const MAX_BBANDS_K_DECIMALS = 8;

const DEFAULTS: Record<IndicatorName, string[]> = {
  sma: ['20'],
  ema: ['20'],
  rsi: ['14'],
  atr: ['14'],
  macd: ['12', '26', '9'],
  bbands: ['20', '2'],
};

export const invalidIndicator = (detail: string) =>
  new AppError(400, 'invalid_indicator', 'Invalid indicator', { detail });

function period(text: string, what: string, spec: string): number {
  if (!/^\d{1,4}$/.test(text)) throw invalidIndicator(`"${spec}": ${what} must be a whole number from ${MIN_PERIOD} to ${MAX_PERIOD}.`);
  const n = Number(text);
  if (n < MIN_PERIOD || n > MAX_PERIOD) throw invalidIndicator(`"${spec}": ${what} must be from ${MIN_PERIOD} to ${MAX_PERIOD}.`);
  return n;
}

function multiplier(text: string, spec: string): string {
  const p = /^\d{1,2}(\.\d+)?$/.test(text) ? parseDecimal(text) : undefined;
  if (p === undefined || p.int <= 0n || p.decimals > MAX_BBANDS_K_DECIMALS) {
    throw invalidIndicator(`"${spec}": k must be a decimal above 0 and at most ${MAX_BBANDS_K}, with at most ${MAX_BBANDS_K_DECIMALS} decimal places.`);
  }
  if (p.int > BigInt(MAX_BBANDS_K) * 10n ** BigInt(p.decimals)) throw invalidIndicator(`"${spec}": k must be at most ${MAX_BBANDS_K}.`);
  const digits = p.int.toString().padStart(p.decimals + 1, '0');
  const cut = digits.length - p.decimals;
  return p.decimals === 0 ? digits : `${digits.slice(0, cut)}.${digits.slice(cut)}`;
}

/** Parses one spec; parameters left out take the defaults (`macd` = `macd:12:26:9`). */
export function parseIndicatorSpec(text: string): IndicatorSpec {
  const spec = text.trim();
  const [rawName, ...params] = spec.split(':');
  const name = (rawName ?? '').toLowerCase();
  if (!(INDICATOR_NAMES as readonly string[]).includes(name)) {
    throw invalidIndicator(`"${spec}": unknown indicator; expected one of ${INDICATOR_NAMES.join(', ')}.`);
  }
  const indicator = name as IndicatorName;
  const defaults = DEFAULTS[indicator];
  if (params.length > defaults.length) throw invalidIndicator(`"${spec}": ${indicator} takes at most ${defaults.length} parameter(s).`);
  const p = defaults.map((d, i) => params[i] ?? d);
  switch (indicator) {
    case 'sma':
    case 'ema':
    case 'rsi':
    case 'atr':
      return { name: indicator, period: period(p[0]!, 'period', spec) };
    case 'macd': {
      const fast = period(p[0]!, 'fast period', spec);
      const slow = period(p[1]!, 'slow period', spec);
      const signal = period(p[2]!, 'signal period', spec);
      if (fast >= slow) throw invalidIndicator(`"${spec}": the fast period must be shorter than the slow one.`);
      return { name: 'macd', fast, slow, signal };
    }
    case 'bbands':
      return { name: 'bbands', period: period(p[0]!, 'period', spec), k: multiplier(p[1]!, spec) };
  }
}

/** Most specs in one list (each adds up to three columns). */
export const MAX_SPECS = 20;

/** Parses a comma-separated list (empty or undefined → the defaults); duplicate columns are an error. */
export function parseIndicatorList(text: string | undefined): IndicatorSpec[] {
  const source = text === undefined || text.trim() === '' ? DEFAULT_INDICATORS : text;
  const parts = source.split(',').map((s) => s.trim());
  if (parts.some((s) => s === '')) throw invalidIndicator('The indicator list has an empty entry.');
  if (parts.length > MAX_SPECS) throw invalidIndicator(`At most ${MAX_SPECS} indicators at once.`);
  const specs = parts.map(parseIndicatorSpec);
  const seen = new Set<string>();
  for (const spec of specs) {
    for (const column of columnNames(spec)) {
      if (seen.has(column)) throw invalidIndicator(`Indicator column "${column}" is requested twice.`);
      seen.add(column);
    }
  }
  return specs;
}

/** Canonical text of a spec (`macd:12:26:9`). */
export function formatIndicatorSpec(spec: IndicatorSpec): string {
  switch (spec.name) {
    case 'sma':
    case 'ema':
    case 'rsi':
    case 'atr':
      return `${spec.name}:${spec.period}`;
    case 'macd':
      return `macd:${spec.fast}:${spec.slow}:${spec.signal}`;
    case 'bbands':
      return `bbands:${spec.period}:${spec.k}`;
  }
}

/** The output columns of a spec, in order (`bb_lower_20_2`, `bb_middle_20_2`, `bb_upper_20_2`). */
export function columnNames(spec: IndicatorSpec): string[] {
  switch (spec.name) {
    case 'sma':
    case 'ema':
    case 'rsi':
    case 'atr':
      return [`${spec.name}_${spec.period}`];
    case 'macd': {
      const p = `${spec.fast}_${spec.slow}_${spec.signal}`;
      return [`macd_${p}`, `macd_signal_${p}`, `macd_hist_${p}`];
    }
    case 'bbands': {
      // k keeps its decimal point (`bb_upper_20_2.5`): "20_2_5" would read as three parameters.
      const p = `${spec.period}_${spec.k}`;
      return [`bb_lower_${p}`, `bb_middle_${p}`, `bb_upper_${p}`];
    }
  }
}

/** Index of the first non-null value of each column of a spec (the length of its null prefix). */
export function firstIndexes(spec: IndicatorSpec): number[] {
  switch (spec.name) {
    case 'sma':
    case 'ema':
      return [spec.period - 1];
    case 'rsi':
    case 'atr':
      return [spec.period];
    case 'macd':
      return [spec.slow - 1, spec.slow + spec.signal - 2, spec.slow + spec.signal - 2];
    case 'bbands':
      return [spec.period - 1, spec.period - 1, spec.period - 1];
  }
}
