// What the numbers were measured on: results are only comparable on the same machine.
import os from 'node:os';

export interface MachineInfo {
  cpu: string;
  cores: number;
  memory_gib: number;
  node: string;
  platform: string;
  /** 1-minute load average when the run started: other work on the machine skews figures. */
  load_average_1m: number;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memory_gib: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    load_average_1m: Math.round((os.loadavg()[0] ?? 0) * 100) / 100,
  };
}
