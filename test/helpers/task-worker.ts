// A worker module for the worker-thread tests: echoes, spins the CPU, throws or exits on request.
import { serveTasks } from '../../src/platform/worker-thread.ts';

export type TaskInput = { op: 'echo'; value: number } | { op: 'spin'; ms: number; value: number } | { op: 'throw' } | { op: 'exit' };

serveTasks<TaskInput, number>((input) => {
  switch (input.op) {
    case 'echo':
      return input.value;
    case 'spin': {
      const until = performance.now() + input.ms;
      while (performance.now() < until) {
        // Holds this thread, as a long render would.
      }
      return input.value;
    }
    case 'throw':
      throw new Error('asked to throw');
    case 'exit':
      process.exit(3);
  }
});
