// The render thread's pool on the real worker module: answers equal rendering in place; a
// render past the thread's heap limit kills only that thread (RenderMemoryError) and the
// next task gets a fresh one; close() rejects what is waiting.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../platform/logger.ts';
import type { ReportSources } from './data-model.ts';
import { RenderMemoryError, createRenderPool } from './render-pool.ts';
import { renderReport, reportModel } from './render.ts';

const logger = createLogger('silent');

function sources(holdings: number): ReportSources {
  return {
    portfolio: { id: 'p', name: 'Main <b>', baseCurrency: 'USD' },
    holdings: {
      base_currency: 'USD',
      items: Array.from({ length: holdings }, (_, i) => ({
        symbol: `S${i}`,
        quantity: '1234.5',
        average_cost: '10.25',
        price: '11.5',
        market_value: '14196.75',
        cost_basis: '12653.625',
        unrealized_pnl: '1543.125',
        weight: (1 / Math.max(1, holdings)).toFixed(6),
        stale: false,
      })),
      totals: { market_value: '1', cost_basis: '1', unrealized_pnl: '0', realized_pnl: '0', dividends: '0', fees: '0', cash: '1', total_value: '2', stale: false },
    },
    performance: [],
    indicators: [],
    alerts: [],
    news: [],
  };
}

const BODY = '# {{portfolio.name}}\n\n{{narrative.text}}\n\n| Symbol | P&L |\n|---|---|\n{{#holdings}}| {{symbol}} | {{unrealized_pnl_percent}} |\n{{/holdings}}';

describe('render pool', () => {
  it('answers exactly what rendering in place gives', async () => {
    const pool = createRenderPool({ timeoutMs: 10_000, logger });
    try {
      const at = new Date('2026-01-02T03:04:05Z');
      const model = await pool.model(sources(3), at);
      assert.deepEqual(model, reportModel(sources(3), at));
      assert.deepEqual(await pool.render(BODY, model), renderReport(BODY, model));
      assert.deepEqual(await pool.render('{{#nope}}x{{/nope}}', model), renderReport('{{#nope}}x{{/nope}}', model));
    } finally {
      await pool.close();
    }
  });

  it('a render past the heap limit kills only its thread (RenderMemoryError); the next task runs on a fresh thread', async () => {
    const pool = createRenderPool({ timeoutMs: 60_000, logger, maxHeapMb: 32 });
    try {
      // 5,000 holdings × 400 list sections ≈ 2,000,000 rows: far past 32 MB of heap.
      const model = await pool.model(sources(5000), new Date());
      await assert.rejects(pool.render('{{#holdings}}| {{symbol}} | {{quantity}} | {{price}} |\n{{/holdings}}'.repeat(400), model), RenderMemoryError);
      const small = await pool.model(sources(2), new Date());
      const outcome = await pool.render(BODY, small);
      assert.equal(outcome.status, 'done');
    } finally {
      await pool.close();
    }
  });

  it('close() rejects the running and the waiting tasks', async () => {
    const pool = createRenderPool({ timeoutMs: 60_000, logger });
    const model = reportModel(sources(1), new Date());
    const running = assert.rejects(pool.render(`- item\n${'| a | b |\n'.repeat(4000)}`, model), /closed/);
    const waiting = assert.rejects(pool.render(BODY, model), /closed/);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await pool.close();
    await running;
    await waiting;
    await assert.rejects(pool.render(BODY, model), /closed/);
  });
});
