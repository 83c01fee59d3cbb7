import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { cacheKey } from './cache-keys.ts';

test('FAIL-008: keys are namespaced and versioned', () => {
  assert.equal(cacheKey('quote', 'AAPL'), 'financehub:v1:quote:AAPL');
  assert.equal(cacheKey('ratelimit', 'login', '127.0.0.1'), 'financehub:v1:ratelimit:login:127.0.0.1');
  assert.equal(cacheKey('candles', 'MSFT', '1d', 2024), 'financehub:v1:candles:MSFT:1d:2024');
});

test('FAIL-008: a colon inside a part cannot collide with a part boundary', () => {
  assert.notEqual(cacheKey('q', 'a:b'), cacheKey('q', 'a', 'b'));
  assert.equal(cacheKey('q', 'a:b'), 'financehub:v1:q:a%3Ab');
  // An attacker-chosen part that spells out an escape is escaped again.
  assert.notEqual(cacheKey('q', 'a%3Ab'), cacheKey('q', 'a:b'));
  assert.equal(cacheKey('ratelimit', 'ip', '::1'), 'financehub:v1:ratelimit:ip:%3A%3A1');
});

test('FAIL-008: different part lists never give the same key (property)', () => {
  const parts = fc.array(fc.oneof(fc.string(), fc.constantFrom(':', '%', '%3A', '', 'a:b')), { maxLength: 4 });
  fc.assert(
    fc.property(parts, parts, (a, b) => {
      fc.pre(JSON.stringify(a) !== JSON.stringify(b));
      return cacheKey('k', ...a) !== cacheKey('k', ...b);
    }),
    { numRuns: 2000 },
  );
});

test('FAIL-008: the kind comes from code and is checked', () => {
  assert.throws(() => cacheKey('Bad:Kind', 'x'), TypeError);
  assert.throws(() => cacheKey('', 'x'), TypeError);
  assert.throws(() => cacheKey('k', Number.NaN), TypeError);
});
