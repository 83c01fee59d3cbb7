// A clock tests move by hand, so expiry, grace periods and idle timeouts are tested
// without waiting. Starts at real time, so anything not on this clock stays consistent.
import type { Clock } from '../../src/platform/clock.ts';

export interface TestClock extends Clock {
  advance: (ms: number) => void;
  set: (date: Date) => void;
}

export function createTestClock(start: Date = new Date()): TestClock {
  let now = start.getTime();
  return {
    now: () => new Date(now),
    advance: (ms) => {
      now += ms;
    },
    set: (date) => {
      now = date.getTime();
    },
  };
}
