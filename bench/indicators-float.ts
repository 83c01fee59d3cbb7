// The float floor: the six indicators with plain `number` arithmetic and the same
// conventions as src/modules/indicators (INDICATORS.md). Kept in bench/ only: it is the
// speed reference and the 1e-9 agreement check, never the product (FAIL-002).
// Outputs are Float64Arrays with NaN where the window is not full.

export function sma(close: Float64Array, n: number): Float64Array {
  const out = new Float64Array(close.length).fill(Number.NaN);
  let sum = 0;
  for (let i = 0; i < close.length; i++) {
    sum += close[i]!;
    if (i >= n) sum -= close[i - n]!;
    if (i >= n - 1) out[i] = sum / n;
  }
  return out;
}

export function ema(close: Float64Array, n: number): Float64Array {
  const out = new Float64Array(close.length).fill(Number.NaN);
  const k = 2 / (n + 1);
  let sum = 0;
  let e = 0;
  for (let i = 0; i < close.length; i++) {
    const x = close[i]!;
    if (i < n) {
      sum += x;
      if (i === n - 1) out[i] = e = sum / n;
    } else {
      out[i] = e = e + k * (x - e);
    }
  }
  return out;
}

export function rsi(close: Float64Array, n: number): Float64Array {
  const out = new Float64Array(close.length).fill(Number.NaN);
  let g = 0;
  let l = 0;
  for (let i = 1; i < close.length; i++) {
    const change = close[i]! - close[i - 1]!;
    const gain = change > 0 ? change : 0;
    const loss = change < 0 ? -change : 0;
    if (i <= n) {
      g += gain;
      l += loss;
      if (i < n) continue;
      g /= n;
      l /= n;
    } else {
      g = (g * (n - 1) + gain) / n;
      l = (l * (n - 1) + loss) / n;
    }
    out[i] = g + l === 0 ? 0 : (100 * g) / (g + l);
  }
  return out;
}

export function macd(close: Float64Array, fast: number, slow: number, signal: number): [Float64Array, Float64Array, Float64Array] {
  const f = ema(close, fast);
  const s = ema(close, slow);
  const len = close.length;
  const line = new Float64Array(len).fill(Number.NaN);
  const sig = new Float64Array(len).fill(Number.NaN);
  const hist = new Float64Array(len).fill(Number.NaN);
  const k = 2 / (signal + 1);
  let sum = 0;
  let e = 0;
  for (let i = slow - 1; i < len; i++) {
    const m = f[i]! - s[i]!;
    line[i] = m;
    const j = i - (slow - 1);
    if (j < signal) {
      sum += m;
      if (j < signal - 1) continue;
      e = sum / signal;
    } else {
      e = e + k * (m - e);
    }
    sig[i] = e;
    hist[i] = m - e;
  }
  return [line, sig, hist];
}

export function bbands(close: Float64Array, n: number, k: number): [Float64Array, Float64Array, Float64Array] {
  const len = close.length;
  const lower = new Float64Array(len).fill(Number.NaN);
  const middle = new Float64Array(len).fill(Number.NaN);
  const upper = new Float64Array(len).fill(Number.NaN);
  // Running sums, as the exact implementation keeps them; over a series of this length
  // their rounding drift stays far inside the 1e-9 agreement bound.
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < len; i++) {
    const x = close[i]!;
    sum += x;
    sq += x * x;
    if (i >= n) {
      const old = close[i - n]!;
      sum -= old;
      sq -= old * old;
    }
    if (i < n - 1) continue;
    const mean = sum / n;
    const sd = Math.sqrt(Math.max(0, sq / n - mean * mean));
    middle[i] = mean;
    lower[i] = mean - k * sd;
    upper[i] = mean + k * sd;
  }
  return [lower, middle, upper];
}

export function atr(high: Float64Array, low: Float64Array, close: Float64Array, n: number): Float64Array {
  const out = new Float64Array(close.length).fill(Number.NaN);
  let a = 0;
  for (let i = 1; i < close.length; i++) {
    const pc = close[i - 1]!;
    const tr = Math.max(high[i]! - low[i]!, Math.abs(high[i]! - pc), Math.abs(low[i]! - pc));
    if (i <= n) {
      a += tr;
      if (i < n) continue;
      a /= n;
    } else {
      a = (a * (n - 1) + tr) / n;
    }
    out[i] = a;
  }
  return out;
}
