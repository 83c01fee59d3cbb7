// The worker thread's guarantees (worker-thread.ts): tasks in order, a bounded wait list,
// a time limit that replaces the thread, and a crash or a throw that fails one task only.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from './logger.ts';
import { createWorkerThread, WorkerBusyError, WorkerTimeoutError } from './worker-thread.ts';
import type { TaskInput } from '../../test/helpers/task-worker.ts';

const url = new URL('../../test/helpers/task-worker.ts', import.meta.url);
const logger = createLogger('silent');
const thread = (options: { timeoutMs?: number; maxWaiting?: number } = {}) =>
  createWorkerThread<TaskInput, number>({ url, what: 'the test task', event: 'test_task', logger, ...options });

describe('worker thread', () => {
  it('runs tasks one at a time in order, and keeps the event loop free while they run', async () => {
    const t = thread();
    try {
      let turns = 0;
      const ticker = setInterval(() => turns++, 5);
      const results = await Promise.all([t.run({ op: 'spin', ms: 200, value: 1 }), t.run({ op: 'echo', value: 2 }), t.run({ op: 'spin', ms: 100, value: 3 })]);
      clearInterval(ticker);
      assert.deepEqual(results, [1, 2, 3]);
      assert.ok(turns >= 20, `the loop turned ${turns} times during 300 ms of work on the thread`);
    } finally {
      await t.close();
    }
  });

  it('refuses a task past maxWaiting at once with WorkerBusyError, without queueing it', async () => {
    const t = thread({ maxWaiting: 2 });
    try {
      // Once the thread is up and idle, a task is handed to it at once, so two more may wait
      // behind it. (Waiting 100 ms for the thread to start instead was not always enough on
      // a slow, loaded machine: the task was still queued, and the second wait was refused.)
      assert.equal(await t.run({ op: 'echo', value: -1 }), -1);
      const running = t.run({ op: 'spin', ms: 300, value: 0 });
      const waiting = [t.run({ op: 'echo', value: 1 }), t.run({ op: 'echo', value: 2 })];
      await assert.rejects(t.run({ op: 'echo', value: 3 }), WorkerBusyError);
      assert.deepEqual(await Promise.all([running, ...waiting]), [0, 1, 2]);
      assert.equal(await t.run({ op: 'echo', value: 4 }), 4, 'room again once the list drained');
    } finally {
      await t.close();
    }
  });

  it('a task past timeoutMs rejects with WorkerTimeoutError; the next task runs on a fresh thread', async () => {
    const t = thread({ timeoutMs: 300 });
    try {
      const started = performance.now();
      await assert.rejects(t.run({ op: 'spin', ms: 5_000, value: 0 }), WorkerTimeoutError);
      const elapsed = performance.now() - started;
      assert.ok(elapsed < 2_000, `rejected after ${Math.round(elapsed)} ms (limit 300 ms, thread start included)`);
      assert.equal(await t.run({ op: 'echo', value: 7 }), 7);
    } finally {
      await t.close();
    }
  });

  it('a task that throws fails alone; a thread that exits fails its task only, and the next gets a fresh thread', async () => {
    const t = thread();
    try {
      await assert.rejects(t.run({ op: 'throw' }), /the test task failed: asked to throw/);
      assert.equal(await t.run({ op: 'echo', value: 1 }), 1);
      await assert.rejects(t.run({ op: 'exit' }), /exited \(code 3\)/);
      assert.equal(await t.run({ op: 'echo', value: 2 }), 2);
    } finally {
      await t.close();
    }
  });

  it('close() rejects the running and waiting tasks, and later ones', async () => {
    const t = thread();
    const running = t.run({ op: 'spin', ms: 2_000, value: 0 });
    const waiting = t.run({ op: 'echo', value: 1 });
    const refused = Promise.all([assert.rejects(running, /is closed/), assert.rejects(waiting, /is closed/)]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await t.close();
    await refused;
    await assert.rejects(t.run({ op: 'echo', value: 2 }), /is closed/);
  });
});
