import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { cacheKey, escapeKeyPart } from './cache-keys.ts';

describe('cacheKey', () => {
  it('FAIL-008: keys are namespaced as financehub:v1:<kind>:<parts>', () => {
    assert.equal(cacheKey('quote', 'AAPL'), 'financehub:v1:quote:AAPL');
    assert.equal(cacheKey('candles', 'BRK.B', '1d', 500), 'financehub:v1:candles:BRK.B:1d:500');
    assert.equal(cacheKey('x', new Date('2024-01-02T00:00:00Z')), 'financehub:v1:x:2024-01-02T00%003a00%003a00.000Z');
  });

  it('FAIL-008: a part containing ":" cannot forge another key', () => {
    assert.notEqual(cacheKey('quote', 'a:b'), cacheKey('quote', 'a', 'b'));
    assert.notEqual(cacheKey('quote', 'a%003ab'), cacheKey('quote', 'a:b'));
    assert.equal(escapeKeyPart('a:b').includes(':'), false);
  });

  it('FAIL-008: the kind is a fixed word and cannot carry a separator', () => {
    assert.throws(() => cacheKey('quote:AAPL'));
    assert.throws(() => cacheKey(''));
    assert.throws(() => cacheKey('Quote'));
  });

  it('FAIL-008: two different (kind, parts) never produce the same key (property)', () => {
    const kind = fc.constantFrom('quote', 'candles', 'event', 'a', 'a-b', 'a_b');
    // Parts biased towards separators and escape-like text, plus arbitrary UTF-16 (lone surrogates too).
    const part = fc.oneof(
      fc.string({ unit: fc.constantFrom(':', '%', '0', '3', 'a', 'A', '.', '-') }),
      fc.string({ unit: 'binary' }),
    );
    const input = fc.tuple(kind, fc.array(part, { maxLength: 4 }));
    fc.assert(
      fc.property(input, input, ([k1, p1], [k2, p2]) => {
        const same = k1 === k2 && p1.length === p2.length && p1.every((p, i) => p === p2[i]);
        assert.equal(cacheKey(k1, ...p1) === cacheKey(k2, ...p2), same);
      }),
      { numRuns: 5000 },
    );
  });

  it('FAIL-008: every key starts with the namespace and has exactly one colon per part', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary' }), { maxLength: 5 }), (parts) => {
        const key = cacheKey('k', ...parts);
        assert.ok(key.startsWith('financehub:v1:k'));
        assert.equal(key.split(':').length, 3 + parts.length);
      }),
    );
  });
});
