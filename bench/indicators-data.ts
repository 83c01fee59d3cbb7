// The benchmark series: the real daily bars of ttrc.csv (5,550 bars, 2 decimals) extended
// to the wanted length by a seeded random walk whose prices keep 2 to 4 decimals, so the
// same series comes out on every run and machine.
import { readFileSync } from 'node:fs';

export interface BenchBar {
  date: string;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
}

export const TTRC_PATH = new URL('../test/fixtures/ttrc.csv', import.meta.url);

export function readTtrc(path: URL | string = TTRC_PATH): BenchBar[] {
  const [, ...lines] = readFileSync(path, 'utf8').trim().split(/\r?\n/);
  return lines.map((line) => {
    const [date, open, high, low, close, volume] = line.split(',');
    return { date: date!, open: open!, high: high!, low: low!, close: close!, volume: volume! };
  });
}

/** mulberry32: a small, well-known seeded generator (uniform in [0, 1)). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** ttrc.csv, then a random walk from its last close, `length` bars in all. */
export function benchSeries(length: number, seed = 20260505): BenchBar[] {
  const bars = readTtrc().slice(0, length);
  const rnd = random(seed);
  let price = Number(bars[bars.length - 1]!.close);
  let day = Date.parse(`${bars[bars.length - 1]!.date}T00:00:00Z`);
  while (bars.length < length) {
    const places = 2 + Math.floor(rnd() * 3);
    const fmt = (x: number) => x.toFixed(places);
    const open = price;
    // ±2 % a day, kept inside [5, 500] so prices stay in a realistic range.
    price = Math.min(500, Math.max(5, price * (1 + (rnd() - 0.5) * 0.04)));
    const high = Math.max(open, price) * (1 + rnd() * 0.01);
    const low = Math.min(open, price) * (1 - rnd() * 0.01);
    day += 86_400_000;
    const close = fmt(price);
    price = Number(close);
    bars.push({
      date: new Date(day).toISOString().slice(0, 10),
      open: fmt(open),
      high: fmt(high),
      low: fmt(low),
      close,
      volume: String(Math.floor(1e6 + rnd() * 4e6)),
    });
  }
  return bars;
}
