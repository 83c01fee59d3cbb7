// Unit tests of the gateway's pure parts: the channel grammar, the query-string credential
// check (FAIL-005) and the forming-bar builder (exact decimals, FAIL-002).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCandleBuilder } from './candles.ts';
import { parseChannel } from './realtime.schemas.ts';
import { queryCarriesToken } from './realtime.service.ts';

describe('parseChannel', () => {
  it('accepts the five channel kinds in their exact spelling only', () => {
    assert.deepEqual(parseChannel('quotes:BRK.B'), { kind: 'quotes', name: 'quotes:BRK.B', symbol: 'BRK.B' });
    assert.deepEqual(parseChannel('candles:AAPL:5m'), { kind: 'candles', name: 'candles:AAPL:5m', symbol: 'AAPL', interval: '5m' });
    assert.equal(parseChannel('portfolio:0b6c2f4e-8a51-4d3e-9a57-1f0e2d3c4b5a')?.kind, 'portfolio');
    assert.equal(parseChannel('alerts')?.kind, 'alerts');
    assert.equal(parseChannel('news:MSFT')?.kind, 'news');
    for (const bad of ['quotes:aapl', 'quotes:', 'quotes:AAPL:1m', 'candles:AAPL:2m', 'portfolio:1', 'portfolio:0B6C2F4E-8A51-4D3E-9A57-1F0E2D3C4B5A', 'alerts:x', 'trades:AAPL', `news:${'A'.repeat(70)}`]) {
      assert.equal(parseChannel(bad), null, bad);
    }
  });
});

describe('queryCarriesToken', () => {
  it('FAIL-005: credential-named parameters and JWT-shaped values are caught; harmless queries pass', () => {
    const jwt = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln';
    for (const q of ['token=x', 'access_token=x', 'JWT=x', 'Authorization=Bearer%20x', `v=${jwt}`, `${jwt}`, `a=1&b=${encodeURIComponent(jwt)}`]) {
      assert.equal(queryCarriesToken(q), true, q);
    }
    for (const q of ['', 'v=1', 'lang=en&compact=true']) assert.equal(queryCarriesToken(q), false, q);
  });
});

describe('forming candles', () => {
  it('FAIL-002: open, high, low, close and summed volume stay exact decimal strings; a new bucket starts a new bar', () => {
    const builder = createCandleBuilder();
    builder.watch('X', '1m');
    const at = (s: number) => new Date(Date.UTC(2026, 10, 25, 15, 0, s));
    assert.deepEqual(builder.update('Y', '1', '1', at(0)), [], 'unwatched symbols are ignored');
    builder.update('X', '10.10', '0.1', at(1));
    builder.update('X', '10.30', '0.2', at(20));
    builder.update('X', '9.95', '0', at(40));
    const [bar] = builder.update('X', '10.00', '0.0000000001', at(59));
    assert.deepEqual(bar, { interval: '1m', ts: '2026-11-25T15:00:00.000Z', open: '10.10', high: '10.30', low: '9.95', close: '10.00', volume: '0.3000000001' });
    const [next] = builder.update('X', '10.05', '1', at(61));
    assert.equal(next?.ts, '2026-11-25T15:01:00.000Z');
    assert.equal(next?.open, '10.05');
    assert.deepEqual(builder.update('X', '99', '1', at(30)), [], 'a late quote of a closed bar is dropped');
    builder.unwatch('X', '1m');
    assert.deepEqual(builder.update('X', '10', '1', at(62)), []);
  });
});
