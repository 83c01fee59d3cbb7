// The provider call budget of one scheduled run, and of one run of a timer that runs
// several times a minute (the alerts' quote refresh): a share of the per-minute budget.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runBudget } from './schedules.jobs.ts';

describe('runBudget', () => {
  const settings = { providerBudgetPercent: 30, maxSymbolsPerRun: 500 };
  it('is the schedules share of one minute for a run a minute', () => {
    assert.equal(runBudget(60, settings), 18);
  });
  it('splits that share over the runs of a minute (every 5 s: 12 runs), at least one call', () => {
    assert.equal(runBudget(60, settings, 12), 1);
    assert.equal(runBudget(600, settings, 12), 15);
    assert.equal(runBudget(1, settings, 12), 1);
  });
  it('is the per-run cap when the provider has no budget', () => {
    assert.equal(runBudget(null, settings, 12), 500);
    assert.equal(runBudget(100_000, settings), 500);
  });
});
