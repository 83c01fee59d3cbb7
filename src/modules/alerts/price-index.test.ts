// The sorted threshold index gives the same firings as evaluating every alert on every
// tick (a property over random thresholds and price paths), while visiting only the
// alerts a tick can cross.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Decimal } from 'decimal.js';
import { createPriceIndex } from './price-index.ts';

const price = fc.integer({ min: 1, max: 2000 }).map((cents) => new Decimal(cents).div(100).toFixed());

describe('price threshold index', () => {
  it('property: flips equal a full scan of every alert on every tick', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ kind: fc.constantFrom('price_above' as const, 'price_below' as const), threshold: price, addedAfter: fc.nat(10) }), { minLength: 1, maxLength: 40 }),
        fc.array(price, { minLength: 1, maxLength: 60 }),
        (alerts, ticks) => {
          // Some alerts are added only after a few ticks (pending, evaluated in full on the
          // next tick, while the others move by the thresholds between two prices).
          const index = createPriceIndex();
          const met = alerts.map((): boolean | null => null);
          for (const [n, tick] of ticks.entries()) {
            alerts.forEach((a, i) => {
              if (a.addedAfter === n) index.add('AAA', { id: String(i), kind: a.kind, threshold: a.threshold, met: null });
            });
            const flips = index.tick('AAA', tick).map((f) => `${f.alert.id}:${String(f.met)}`).sort();
            const expected: string[] = [];
            alerts.forEach((a, i) => {
              if (a.addedAfter > n) return;
              const c = new Decimal(tick).cmp(a.threshold);
              const now = a.kind === 'price_above' ? c > 0 : c < 0;
              if (now !== met[i]) expected.push(`${i}:${String(now)}`);
              met[i] = now;
            });
            assert.deepEqual(flips, expected.sort());
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a tick visits only the thresholds between the previous and the current price', () => {
    const index = createPriceIndex();
    for (let i = 0; i < 10_000; i += 1) index.add('AAA', { id: `a${i}`, kind: 'price_above', threshold: String(i + 1), met: null });
    assert.equal(index.tick('AAA', '5000.5').length, 10_000, 'the first tick evaluates everything once');
    const flips = index.tick('AAA', '5003.5');
    assert.deepEqual(flips.map((f) => f.alert.threshold).sort(), ['5001', '5002', '5003']);
    assert.equal(index.tick('AAA', '5003.5').length, 0, 'a duplicated tick changes nothing');
  });
});
