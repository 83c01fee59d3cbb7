// The longest event-loop stall, measured as CPU time rather than wall time: a 1 ms timer
// reads the main thread's CPU time (process.threadCpuUsage) at every turn it gets, and the
// largest amount spent between two turns is the longest run of work that held the loop.
// On a loaded machine wall-clock stalls also count the time the process waited for a core;
// CPU time counts only its own work, so a bound on it says something about the code.
// Garbage-collection pauses are part of that work; the monitor also reports the longest one,
// so a failure says whether the code's own steps or the collector held the loop.
import { PerformanceObserver, performance } from 'node:perf_hooks';

export interface CpuStallMonitor {
  /** Stops the timer; the longest CPU time between two turns of the loop, ms. */
  stop: () => number;
  /**
   * The longest garbage-collection pause that began while the monitor ran, ms of wall time.
   * Read after stop(): the collector's entries arrive a turn later, so this waits one.
   */
  longestGcPause: () => Promise<number>;
}

export function monitorCpuStalls(): CpuStallMonitor {
  const cpuMs = () => {
    const { user, system } = process.threadCpuUsage();
    return (user + system) / 1000;
  };
  const startedAt = performance.now();
  let stoppedAt = Number.POSITIVE_INFINITY;
  let longestGc = 0;
  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.startTime >= startedAt && entry.startTime <= stoppedAt) longestGc = Math.max(longestGc, entry.duration);
    }
  });
  gc.observe({ entryTypes: ['gc'] });
  let last = cpuMs();
  let max = 0;
  const sample = () => {
    const now = cpuMs();
    if (now - last > max) max = now - last;
    last = now;
  };
  const timer = setInterval(sample, 1);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      stoppedAt = performance.now();
      return max;
    },
    longestGcPause: async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      gc.disconnect();
      return longestGc;
    },
  };
}

/**
 * Runs `work` and counts the turns of the event loop taken while it ran (a setImmediate
 * chain): work that never yields gets none, work that yields every slice about one a slice.
 */
export async function countLoopTurns<T>(work: () => Promise<T>): Promise<{ result: T; turns: number }> {
  let turns = 0;
  let running = true;
  const tick = () => {
    turns += 1;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  try {
    return { result: await work(), turns };
  } finally {
    running = false;
  }
}
