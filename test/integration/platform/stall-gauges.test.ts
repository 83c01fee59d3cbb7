// The stall gauges the stall budget benchmark reads: the longest event-loop stall since the
// previous scrape, in wall time and in main-thread CPU time, each reset as it is read.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
const BLOCK_CPU_MS = 150;

/** Holds the event loop until this thread has spent `ms` of CPU (not wall) time. */
function burnCpu(ms: number): void {
  const cpu = () => {
    const { user, system } = process.threadCpuUsage();
    return (user + system) / 1000;
  };
  const until = cpu() + ms;
  while (cpu() < until) {
    // busy: the stall under measurement
  }
}

describe('stall gauges', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp({ env: { METRICS_TOKEN } });
  });
  after(() => t.close());

  const scrape = async () => {
    const res = await t.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    assert.equal(res.statusCode, 200);
    const read = (name: string) => {
      const match = new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(res.body);
      assert.ok(match !== null, `${name} missing`);
      return Number(match[1]) * 1000;
    };
    return { wall: read('financehub_event_loop_stall_max_seconds'), cpu: read('financehub_event_loop_stall_cpu_max_seconds') };
  };

  it(`FAIL-023: a ${BLOCK_CPU_MS} ms CPU-bound stall shows in both gauges (both ≥ ~${BLOCK_CPU_MS} ms), and each scrape resets them`, async () => {
    await scrape();
    await sleep(50);
    burnCpu(BLOCK_CPU_MS);
    await sleep(50); // the monitors' timers take their turn after the stall
    const blocked = await scrape();
    assert.ok(blocked.cpu >= BLOCK_CPU_MS * 0.95, `CPU peak ${blocked.cpu} ms`);
    // The wall monitor samples every 10 ms, so it may read up to ~10 ms short of the stall.
    assert.ok(blocked.wall >= BLOCK_CPU_MS - 15, `wall peak ${blocked.wall} ms, CPU peak ${blocked.cpu} ms`);
    // Reset: a later scrape reads only what happened since the one before it. On a loaded
    // machine a short window can stall by itself (a CI run saw 126 ms of wall time in one), so
    // the reset shows as any of a few later scrapes reading under half the stall; without the
    // reset every one of them would read the stall again.
    const later: Array<{ wall: number; cpu: number }> = [];
    for (let i = 0; i < 5; i++) {
      await sleep(50);
      later.push(await scrape());
    }
    assert.ok(
      later.some((peak) => peak.cpu < BLOCK_CPU_MS / 2 && peak.wall < BLOCK_CPU_MS / 2),
      `peaks after the reset: ${later.map((peak) => `${peak.wall.toFixed(0)}/${peak.cpu.toFixed(0)} ms`).join(', ')}`,
    );
  });
});
