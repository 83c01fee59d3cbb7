// The longest event-loop stall, measured as CPU time rather than wall time: a 1 ms timer
// reads the main thread's CPU time (process.threadCpuUsage) at every turn it gets, and the
// largest amount spent between two turns is the longest run of work that held the loop.
// On a loaded machine wall-clock stalls also count the time the process waited for a core;
// CPU time counts only its own work, so a bound on it says something about the code.
export interface CpuStallMonitor {
  /** Stops the timer; the longest CPU time between two turns of the loop, ms. */
  stop: () => number;
}

export function monitorCpuStalls(): CpuStallMonitor {
  const cpuMs = () => {
    const { user, system } = process.threadCpuUsage();
    return (user + system) / 1000;
  };
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
      return max;
    },
  };
}
