import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { overloadReason } from './load-shedding.ts';

const limits = { maxEventLoopDelayMs: 100, maxHeapUsedBytes: 1000, retryAfterSeconds: 5 };
const readings = (delay: number, heap: number) => ({ eventLoopDelayMs: () => delay, heapUsedBytes: () => heap });

describe('overloadReason', () => {
  it('FAIL-023: names the pressure that is over its limit', () => {
    assert.equal(overloadReason(limits, readings(50, 500)), undefined);
    assert.equal(overloadReason(limits, readings(100, 1000)), undefined, 'at the limit is still fine');
    assert.equal(overloadReason(limits, readings(101, 500)), 'event loop delay');
    assert.equal(overloadReason(limits, readings(50, 1001)), 'heap use');
  });

  it('a limit of 0 disables that check', () => {
    assert.equal(overloadReason({ ...limits, maxEventLoopDelayMs: 0 }, readings(1e9, 0)), undefined);
    assert.equal(overloadReason({ ...limits, maxHeapUsedBytes: 0 }, readings(0, 1e12)), undefined);
  });
});
