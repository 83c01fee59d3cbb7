// One engine per indicator. An engine consumes bars as scaled integers (price·10^decimals,
// see fixed.ts) one at a time and writes its outputs, still exact and unrendered, into
// slot `slot` of its own buffers. The batch form feeds a whole series into slots 0..n-1;
// the incremental form feeds every bar into slot 0. Same code, so the two cannot disagree.
import {
  addUnnormalised, divRoundHalfUp, ExactSum, type Fixed, fixedFromBigInt, fixedToBigInt, floorDiv, formatLimbs, formatScaled, isqrt, limbsToBigInt, newFixed,
  parseDecimal, placeScaled, pow10, SCALE_BIG, SCALE_DIGITS, smoothInto, subInto,
} from './fixed.ts';
import { columnNames, type IndicatorSpec } from './specs.ts';

/** JSON-safe engine state: integers as decimal strings. */
export type EngineState = Record<string, string | string[]>;

export interface Engine {
  readonly columns: string[];
  /** Feeds one bar (close, high, low as scaled integers) and stores its outputs in `slot`. */
  step: (slot: number, close: number, high: number, low: number) => void;
  /** step() over bars 0..length-1 into slots 0..length-1 (one loop per class keeps the call monomorphic). */
  run: (close: Float64Array, high: Float64Array | undefined, low: Float64Array | undefined, length: number) => void;
  /** Column `column`'s value in `slot` as a plain decimal string, or null where the window is not full. */
  render: (column: number, slot: number) => string | null;
  save: () => EngineState;
  load: (state: EngineState) => void;
}

const str = (v: number | bigint) => v.toString();

function int(state: EngineState, key: string): bigint {
  const v = state[key];
  if (typeof v !== 'string' || !/^-?\d+$/.test(v)) throw new TypeError(`indicator state: "${key}" is missing or not an integer`);
  return BigInt(v);
}

function ints(state: EngineState, key: string): bigint[] {
  const v = state[key];
  if (!Array.isArray(v) || v.some((x) => !/^-?\d+$/.test(x))) throw new TypeError(`indicator state: "${key}" is missing or not a list of integers`);
  return v.map((x) => BigInt(x));
}

const num = (state: EngineState, key: string) => Number(int(state, key));

/** EMA (k = 2/(n+1)) or Wilder smoothing (k = 1/n), seeded with the mean of the first n inputs. */
class Smoother {
  readonly n: number;
  private readonly a: number;
  private readonly mul: number;
  private readonly d: number;
  count = 0;
  readonly seed = newFixed();
  readonly value = newFixed();

  constructor(n: number, kind: 'ema' | 'wilder') {
    this.n = n;
    // EMA: s + 2/(n+1)·(x − s) = (s·(n−1) + 2x)/(n+1); Wilder: (s·(n−1) + x)/n.
    this.a = n - 1;
    this.mul = kind === 'ema' ? 2 : 1;
    this.d = kind === 'ema' ? n + 1 : n;
  }

  /** Feeds t; true when `value` holds an output. */
  push(t: Fixed): boolean {
    const c = ++this.count;
    if (c > this.n) {
      smoothInto(this.value, this.a, this.mul, t, this.d);
      return true;
    }
    addUnnormalised(this.seed, t);
    if (c < this.n) return false;
    this.value.fill(0);
    smoothInto(this.value, 0, 1, this.seed, this.n);
    return true;
  }

  save(prefix: string): EngineState {
    return {
      [`${prefix}count`]: str(this.count),
      [`${prefix}seed`]: str(fixedToBigInt(this.seed)),
      [`${prefix}value`]: str(fixedToBigInt(this.value)),
    };
  }

  load(state: EngineState, prefix: string): void {
    this.count = num(state, `${prefix}count`);
    fixedFromBigInt(this.seed, int(state, `${prefix}seed`));
    fixedFromBigInt(this.value, int(state, `${prefix}value`));
  }
}

const NONE = Number.NaN;

function storeFixed(out: Float64Array, base: number, f: Fixed): void {
  out[base] = f[0]!;
  out[base + 1] = f[1]!;
  out[base + 2] = f[2]!;
}

function renderFixed(out: Float64Array, base: number): string | null {
  const h = out[base]!;
  if (Number.isNaN(h)) return null;
  return formatLimbs(h, out[base + 1]!, out[base + 2]!);
}

/**
 * A window mean S/(n·10^decimals) rendered at 30 places, rounded half up: the limb division
 * (no BigInt) while S·10^(6 − decimals) is a safe integer, BigInt beyond.
 */
class MeanRenderer {
  private readonly n: number;
  private readonly decimals: number;
  private readonly den: bigint;
  private readonly limit: number;
  private readonly t = newFixed();
  private readonly q = newFixed();

  constructor(n: number, decimals: number) {
    this.n = n;
    this.decimals = decimals;
    this.den = BigInt(n) * pow10(decimals);
    this.limit = decimals >= 6 ? Number.MAX_SAFE_INTEGER : 2 ** 52 / 10 ** (6 - decimals);
  }

  render(sum: number | bigint): string {
    if (typeof sum === 'number' && sum < this.limit && sum > -this.limit) {
      placeScaled(this.t, sum, this.decimals);
      smoothInto(this.q.fill(0), 0, 1, this.t, this.n);
      return formatLimbs(this.q[0]!, this.q[1]!, this.q[2]!);
    }
    return formatScaled(divRoundHalfUp(BigInt(sum) * SCALE_BIG, this.den));
  }
}

/** A window of the last n scaled closes, with exact sums of the values (and of their squares). */
class Window {
  readonly n: number;
  private readonly ring: Float64Array;
  private pos = 0;
  count = 0;
  readonly sum = new ExactSum();
  readonly squares: ExactSum | undefined;

  constructor(n: number, withSquares: boolean) {
    this.n = n;
    this.ring = new Float64Array(n);
    this.squares = withSquares ? new ExactSum() : undefined;
  }

  /** Adds x, drops the value that leaves; true once the window is full. */
  push(x: number): boolean {
    const full = ++this.count > this.n;
    if (full) {
      const old = this.ring[this.pos]!;
      this.sum.add(-old);
      this.squares?.addSquare(old, -1);
    }
    this.ring[this.pos] = x;
    if (++this.pos === this.n) this.pos = 0;
    this.sum.add(x);
    this.squares?.addSquare(x, 1);
    return full || this.count === this.n;
  }

  save(): EngineState {
    const k = Math.min(this.count, this.n);
    const values: string[] = [];
    for (let i = k; i > 0; i--) values.push(str(this.ring[(this.pos - i + this.n) % this.n]!));
    return { count: str(this.count), window: values };
  }

  load(state: EngineState): void {
    const values = ints(state, 'window');
    this.count = num(state, 'count');
    if (values.length !== Math.min(this.count, this.n)) throw new TypeError('indicator state: window length does not match its count');
    this.ring.fill(0);
    this.pos = 0;
    this.sum.load(0n);
    this.squares?.load(0n);
    for (const v of values) {
      const x = Number(v);
      this.ring[this.pos] = x;
      if (++this.pos === this.n) this.pos = 0;
      this.sum.add(x);
      this.squares?.addSquare(x, 1);
    }
  }
}

/** Stores an ExactSum into a Float64Array slot, keeping BigInt values beside it. */
class SumColumn {
  readonly values: Float64Array;
  private readonly big = new Map<number, bigint>();

  constructor(capacity: number) {
    this.values = new Float64Array(capacity);
  }

  put(slot: number, s: ExactSum | undefined): void {
    if (s === undefined) {
      this.values[slot] = NONE;
    } else if (s.big === null) {
      this.values[slot] = s.num;
    } else {
      this.values[slot] = Number.POSITIVE_INFINITY;
      this.big.set(slot, s.big);
    }
  }

  get(slot: number): bigint | undefined {
    const v = this.raw(slot);
    return v === undefined ? undefined : BigInt(v);
  }

  /** The sum as stored: a double when it is a safe integer, else the BigInt. */
  raw(slot: number): number | bigint | undefined {
    const v = this.values[slot]!;
    if (Number.isNaN(v)) return undefined;
    return v === Number.POSITIVE_INFINITY ? this.big.get(slot)! : v;
  }
}

class SmaEngine implements Engine {
  readonly columns: string[];
  private readonly window: Window;
  private readonly sums: SumColumn;
  private readonly mean: MeanRenderer;

  constructor(spec: { name: 'sma'; period: number }, decimals: number, capacity: number) {
    this.columns = columnNames(spec);
    this.window = new Window(spec.period, false);
    this.sums = new SumColumn(capacity);
    this.mean = new MeanRenderer(spec.period, decimals);
  }

  step(slot: number, close: number): void {
    this.sums.put(slot, this.window.push(close) ? this.window.sum : undefined);
  }

  run(close: Float64Array, _high: Float64Array | undefined, _low: Float64Array | undefined, length: number): void {
    for (let i = 0; i < length; i++) this.step(i, close[i]!);
  }

  render(_column: number, slot: number): string | null {
    const s = this.sums.raw(slot);
    // SMA = S / (n·10^decimals), rendered at 30 places (exact whenever it terminates there).
    return s === undefined ? null : this.mean.render(s);
  }

  save = () => this.window.save();
  load = (state: EngineState) => this.window.load(state);
}

class BbandsEngine implements Engine {
  readonly columns: string[];
  private readonly window: Window;
  private readonly sums: SumColumn;
  private readonly squares: SumColumn;
  private readonly n: bigint;
  /** k²·10^(60 − 2·kDecimals): the square root of (this·V) is k·√V·10^30. */
  private readonly k2: bigint;
  private readonly den: bigint;
  private readonly mean: MeanRenderer;
  private cachedSlot = -1;
  private cachedRoot = 0n;
  private cachedExact = true;

  constructor(spec: { name: 'bbands'; period: number; k: string }, decimals: number, capacity: number) {
    this.columns = columnNames(spec);
    this.window = new Window(spec.period, true);
    this.sums = new SumColumn(capacity);
    this.squares = new SumColumn(capacity);
    this.n = BigInt(spec.period);
    const k = parseDecimal(spec.k)!;
    this.k2 = k.int * k.int * pow10(2 * SCALE_DIGITS - 2 * k.decimals);
    this.den = this.n * pow10(decimals);
    this.mean = new MeanRenderer(spec.period, decimals);
  }

  step(slot: number, close: number): void {
    const full = this.window.push(close);
    if (slot === this.cachedSlot) this.cachedSlot = -1; // the incremental form reuses slot 0
    this.sums.put(slot, full ? this.window.sum : undefined);
    this.squares.put(slot, full ? this.window.squares : undefined);
  }

  run(close: Float64Array, _high: Float64Array | undefined, _low: Float64Array | undefined, length: number): void {
    for (let i = 0; i < length; i++) this.step(i, close[i]!);
  }

  render(column: number, slot: number): string | null {
    if (column === 1) {
      const raw = this.sums.raw(slot);
      return raw === undefined ? null : this.mean.render(raw);
    }
    const s = this.sums.get(slot);
    if (s === undefined) return null;
    // With S = Σx and Q = Σx² of the scaled closes, P = 10^decimals and V = n·Q − S²:
    // middle = S/(nP), sd = √V/(nP), bands = (S ± k·√V)/(nP). Rounding half up at 30 places
    // uses floor((u ± √z)/m) = floor((u ± isqrt(z))/m) (ceil for minus), with u, m integers.
    const a2m = 2n * s * SCALE_BIG + this.den;
    const m2 = 2n * this.den;
    if (this.cachedSlot !== slot) {
      const v = this.n * this.squares.get(slot)! - s * s;
      const z = 4n * this.k2 * v;
      this.cachedRoot = isqrt(z);
      this.cachedExact = this.cachedRoot * this.cachedRoot === z;
      this.cachedSlot = slot;
    }
    if (column === 2) return formatScaled(floorDiv(a2m + this.cachedRoot, m2));
    const ceilRoot = this.cachedExact ? this.cachedRoot : this.cachedRoot + 1n;
    return formatScaled(floorDiv(a2m - ceilRoot, m2));
  }

  save = () => this.window.save();
  load = (state: EngineState) => {
    this.window.load(state);
    this.cachedSlot = -1;
  };
}

class EmaEngine implements Engine {
  readonly columns: string[];
  private readonly decimals: number;
  private readonly ema: Smoother;
  private readonly x = newFixed();
  private readonly out: Float64Array;

  constructor(spec: { name: 'ema'; period: number }, decimals: number, capacity: number) {
    this.columns = columnNames(spec);
    this.decimals = decimals;
    this.ema = new Smoother(spec.period, 'ema');
    this.out = new Float64Array(3 * capacity);
  }

  step(slot: number, close: number): void {
    if (this.ema.push(placeScaled(this.x, close, this.decimals))) storeFixed(this.out, 3 * slot, this.ema.value);
    else this.out[3 * slot] = NONE;
  }

  run(close: Float64Array, _high: Float64Array | undefined, _low: Float64Array | undefined, length: number): void {
    for (let i = 0; i < length; i++) this.step(i, close[i]!);
  }

  render(_column: number, slot: number): string | null {
    return renderFixed(this.out, 3 * slot);
  }

  save = () => this.ema.save('');
  load = (state: EngineState) => this.ema.load(state, '');
}

class MacdEngine implements Engine {
  readonly columns: string[];
  private readonly decimals: number;
  private readonly fast: Smoother;
  private readonly slow: Smoother;
  private readonly signal: Smoother;
  private readonly x = newFixed();
  private readonly macd = newFixed();
  private readonly hist = newFixed();
  /** Per slot: macd, signal, histogram limbs. */
  private readonly out: Float64Array;

  constructor(spec: { name: 'macd'; fast: number; slow: number; signal: number }, decimals: number, capacity: number) {
    this.columns = columnNames(spec);
    this.decimals = decimals;
    this.fast = new Smoother(spec.fast, 'ema');
    this.slow = new Smoother(spec.slow, 'ema');
    this.signal = new Smoother(spec.signal, 'ema');
    this.out = new Float64Array(9 * capacity);
  }

  step(slot: number, close: number): void {
    const base = 9 * slot;
    placeScaled(this.x, close, this.decimals);
    this.fast.push(this.x);
    if (!this.slow.push(this.x)) {
      this.out[base] = NONE;
      this.out[base + 3] = NONE;
      this.out[base + 6] = NONE;
      return;
    }
    // fast < slow, so the fast EMA is already running when the slow one starts.
    subInto(this.macd, this.fast.value, this.slow.value);
    storeFixed(this.out, base, this.macd);
    if (this.signal.push(this.macd)) {
      subInto(this.hist, this.macd, this.signal.value);
      storeFixed(this.out, base + 3, this.signal.value);
      storeFixed(this.out, base + 6, this.hist);
    } else {
      this.out[base + 3] = NONE;
      this.out[base + 6] = NONE;
    }
  }

  run(close: Float64Array, _high: Float64Array | undefined, _low: Float64Array | undefined, length: number): void {
    for (let i = 0; i < length; i++) this.step(i, close[i]!);
  }

  render(column: number, slot: number): string | null {
    return renderFixed(this.out, 9 * slot + 3 * column);
  }

  save = () => ({ ...this.fast.save('fast_'), ...this.slow.save('slow_'), ...this.signal.save('signal_') });
  load = (state: EngineState) => {
    this.fast.load(state, 'fast_');
    this.slow.load(state, 'slow_');
    this.signal.load(state, 'signal_');
  };
}

class RsiEngine implements Engine {
  readonly columns: string[];
  private readonly decimals: number;
  private readonly gains: Smoother;
  private readonly losses: Smoother;
  private count = 0;
  private prev = 0;
  private readonly g = newFixed();
  private readonly l = newFixed();
  /** Per slot: average gain and average loss limbs; RSI = 100·G/(G+L) is divided out when rendered. */
  private readonly out: Float64Array;

  constructor(spec: { name: 'rsi'; period: number }, decimals: number, capacity: number) {
    this.columns = columnNames(spec);
    this.decimals = decimals;
    this.gains = new Smoother(spec.period, 'wilder');
    this.losses = new Smoother(spec.period, 'wilder');
    this.out = new Float64Array(6 * capacity);
  }

  step(slot: number, close: number): void {
    const base = 6 * slot;
    if (this.count++ === 0) {
      this.prev = close;
      this.out[base] = NONE;
      return;
    }
    const change = close - this.prev;
    this.prev = close;
    // Math.max rather than a comparison: the sign of a change is a coin toss for the branch predictor.
    placeScaled(this.g, Math.max(change, 0), this.decimals);
    placeScaled(this.l, Math.max(-change, 0), this.decimals);
    this.losses.push(this.l);
    if (this.gains.push(this.g)) {
      storeFixed(this.out, base, this.gains.value);
      storeFixed(this.out, base + 3, this.losses.value);
    } else {
      this.out[base] = NONE;
    }
  }

  run(close: Float64Array, _high: Float64Array | undefined, _low: Float64Array | undefined, length: number): void {
    for (let i = 0; i < length; i++) this.step(i, close[i]!);
  }

  render(_column: number, slot: number): string | null {
    const base = 6 * slot;
    const h = this.out[base]!;
    if (Number.isNaN(h)) return null;
    const g = limbsToBigInt(h, this.out[base + 1]!, this.out[base + 2]!);
    const l = limbsToBigInt(this.out[base + 3]!, this.out[base + 4]!, this.out[base + 5]!);
    // No movement at all over the window: 0, as TA-Lib answers (TTR would give NaN).
    if (g + l === 0n) return '0';
    return formatScaled(divRoundHalfUp(100n * g * SCALE_BIG, g + l));
  }

  save = () => ({ count: str(this.count), prev: str(this.prev), ...this.gains.save('gain_'), ...this.losses.save('loss_') });
  load = (state: EngineState) => {
    this.count = num(state, 'count');
    this.prev = num(state, 'prev');
    this.gains.load(state, 'gain_');
    this.losses.load(state, 'loss_');
  };
}

class AtrEngine implements Engine {
  readonly columns: string[];
  private readonly decimals: number;
  private readonly atr: Smoother;
  private count = 0;
  private prevClose = 0;
  private readonly tr = newFixed();
  private readonly out: Float64Array;

  constructor(spec: { name: 'atr'; period: number }, decimals: number, capacity: number) {
    this.columns = columnNames(spec);
    this.decimals = decimals;
    this.atr = new Smoother(spec.period, 'wilder');
    this.out = new Float64Array(3 * capacity);
  }

  step(slot: number, close: number, high: number, low: number): void {
    if (this.count++ === 0) {
      this.prevClose = close;
      this.out[3 * slot] = NONE;
      return;
    }
    const pc = this.prevClose;
    this.prevClose = close;
    const tr = Math.max(high - low, Math.abs(high - pc), Math.abs(low - pc));
    if (this.atr.push(placeScaled(this.tr, tr, this.decimals))) storeFixed(this.out, 3 * slot, this.atr.value);
    else this.out[3 * slot] = NONE;
  }

  run(close: Float64Array, high: Float64Array | undefined, low: Float64Array | undefined, length: number): void {
    if (high === undefined || low === undefined) throw new TypeError('ATR needs high and low');
    for (let i = 0; i < length; i++) this.step(i, close[i]!, high[i]!, low[i]!);
  }

  render(_column: number, slot: number): string | null {
    return renderFixed(this.out, 3 * slot);
  }

  save = () => ({ count: str(this.count), prev_close: str(this.prevClose), ...this.atr.save('atr_') });
  load = (state: EngineState) => {
    this.count = num(state, 'count');
    this.prevClose = num(state, 'prev_close');
    this.atr.load(state, 'atr_');
  };
}

/** An engine for `spec` on closes scaled by 10^decimals, with room for `capacity` output slots. */
export function createEngine(spec: IndicatorSpec, decimals: number, capacity: number): Engine {
  switch (spec.name) {
    case 'sma':
      return new SmaEngine(spec, decimals, capacity);
    case 'ema':
      return new EmaEngine(spec, decimals, capacity);
    case 'rsi':
      return new RsiEngine(spec, decimals, capacity);
    case 'macd':
      return new MacdEngine(spec, decimals, capacity);
    case 'bbands':
      return new BbandsEngine(spec, decimals, capacity);
    case 'atr':
      return new AtrEngine(spec, decimals, capacity);
  }
}
