import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Decimal } from '../../../money/index.ts';
import { centsToDecimal, createSimulatedProvider, DEMO_SYMBOLS } from './simulated.ts';

const clock = { now: () => new Date('2024-03-06T15:42:30Z') }; // a Wednesday
const PRICE = /^\d+\.\d{2}$/;

describe('simulated provider', () => {
  it('is deterministic: the same symbol gives the same quote and history in any instance', async () => {
    const a = createSimulatedProvider({ clock });
    const b = createSimulatedProvider({ clock });
    assert.deepEqual(await a.quote('AAPL'), await b.quote('AAPL'));
    const from = new Date('2024-01-01T00:00:00Z');
    const to = new Date('2024-03-01T00:00:00Z');
    assert.deepEqual(await a.history('AAPL', '1d', from, to), await b.history('AAPL', '1d', from, to));
    // Asking for a later day first must not change earlier days (the walk is replayed, not re-drawn).
    const c = createSimulatedProvider({ clock });
    await c.history('AAPL', '1d', new Date('2024-02-01'), new Date('2024-03-01'));
    assert.deepEqual(await c.history('AAPL', '1d', from, to), await a.history('AAPL', '1d', from, to));
    assert.notDeepEqual(await a.quote('AAPL'), await a.quote('MSFT'));
  });

  it('labels everything as simulated and prices as two-decimal strings', async () => {
    const p = createSimulatedProvider({ clock });
    const quote = await p.quote('TSLA');
    assert.equal(quote?.source, 'simulated');
    assert.match(quote?.price ?? '', PRICE);
    assert.match(quote?.previous_close ?? '', PRICE);
    assert.deepEqual(quote?.as_of, new Date('2024-03-06T15:42:00Z'));
    for (const r of await p.search('app')) assert.equal(r.source, 'simulated');
    assert.equal((await p.profile('TSLA'))?.source, 'simulated');
    for (const n of await p.news('TSLA', new Date('2024-03-01'), new Date('2024-03-06'))) assert.equal(n.source, 'simulated');
  });

  it('daily bars are weekdays only, consistent (low ≤ open, close ≤ high), and complete days only', async () => {
    const p = createSimulatedProvider({ clock });
    const bars = await p.history('SPY', '1d', new Date('2024-02-01T00:00:00Z'), new Date('2024-03-10T00:00:00Z'));
    assert.equal(bars.at(-1)?.ts.toISOString(), '2024-03-05T00:00:00.000Z', 'today (the 6th) is not complete');
    for (const bar of bars) {
      assert.ok(bar.ts.getUTCDay() >= 1 && bar.ts.getUTCDay() <= 5);
      const [o, h, l, c] = [bar.open, bar.high, bar.low, bar.close].map((x) => new Decimal(x));
      assert.ok(l!.lte(o!) && l!.lte(c!) && h!.gte(o!) && h!.gte(c!), JSON.stringify(bar));
      for (const x of [bar.open, bar.high, bar.low, bar.close]) assert.match(x, PRICE);
    }
  });

  it('minute bars of a day run from its open to its close inside its range (the intraday tick stream)', async () => {
    const p = createSimulatedProvider({ clock: { now: () => new Date('2024-03-08T00:00:00Z') } });
    const day = (await p.history('NVDA', '1d', new Date('2024-03-05T00:00:00Z'), new Date('2024-03-06T00:00:00Z')))[0];
    const minutes = await p.history('NVDA', '1m', new Date('2024-03-05T00:00:00Z'), new Date('2024-03-06T00:00:00Z'));
    assert.ok(day !== undefined);
    assert.equal(minutes.length, 1440);
    assert.equal(minutes[0]?.open, day.open);
    assert.equal(minutes.at(-1)?.close, day.close);
    for (const m of minutes) {
      assert.ok(new Decimal(m.low).gte(day.low) && new Decimal(m.high).lte(day.high));
    }
  });

  it('on a weekend the quote is Friday\'s close', async () => {
    const p = createSimulatedProvider({ clock: { now: () => new Date('2024-03-09T12:00:00Z') } });
    const friday = (await p.history('AAPL', '1d', new Date('2024-03-08T00:00:00Z'), new Date('2024-03-09T00:00:00Z')))[0];
    const quote = await p.quote('AAPL');
    assert.equal(quote?.price, friday?.close);
    assert.deepEqual(quote?.as_of, new Date('2024-03-09T00:00:00Z'));
  });

  it('the tick stream emits the current simulated price for subscribed symbols only', async () => {
    const p = createSimulatedProvider({ clock, tickIntervalMs: 5 });
    assert.ok(p.streamTrades !== undefined);
    const trades: Array<{ symbol: string; price: string; source: string }> = [];
    const stream = p.streamTrades((trade) => trades.push(trade));
    try {
      stream.subscribe('AAPL');
      for (let i = 0; i < 100 && trades.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      const expected = await p.quote('AAPL');
      assert.deepEqual(trades[0], { symbol: 'AAPL', price: expected?.price, volume: '0', at: expected?.as_of, source: 'simulated' });
      assert.ok(trades.every((t) => t.symbol === 'AAPL'));
      stream.unsubscribe('AAPL');
      const count = trades.length;
      await new Promise((resolve) => setTimeout(resolve, 30));
      assert.equal(trades.length, count);
    } finally {
      stream.close();
    }
  });

  it('formats cents exactly', () => {
    assert.equal(centsToDecimal(12345), '123.45');
    assert.equal(centsToDecimal(5), '0.05');
    assert.equal(centsToDecimal(-5), '-0.05');
    assert.equal(centsToDecimal(100), '1.00');
  });

  it('prices only its documented demo universe: a typo gets no quote, history, profile or search hit', async () => {
    const p = createSimulatedProvider({ clock });
    for (const symbol of ['AAPL', 'MSFT', 'GOOGL', 'AMZN', 'VOO', 'VTI', 'SAP']) {
      assert.ok(DEMO_SYMBOLS.includes(symbol), symbol);
      assert.notEqual(await p.quote(symbol), null, symbol);
    }
    for (const symbol of ['XXXXXXXX', 'MSFTT', 'TTRC']) {
      assert.equal(await p.quote(symbol), null);
      assert.deepEqual(await p.history(symbol, '1d', new Date('2024-02-01'), new Date('2024-03-01')), []);
      assert.equal(await p.profile(symbol), null);
      assert.equal(p.knows?.(symbol), false);
    }
    assert.deepEqual(await p.search('XXXXXXXX'), []);
    assert.deepEqual((await p.search('VO')).map((r) => r.symbol), ['VOO']);
  });
});
