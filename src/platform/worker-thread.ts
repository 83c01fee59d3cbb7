// One worker thread (node:worker_threads) that runs a module's input-sized, CPU-bound tasks
// so the event loop never does (FAIL-023): the main thread only posts the input and reads
// the answer. Used by the JSON body reader and the report renderer. Guarantees:
// - the thread is started on the first task and reused; an idle thread never keeps the
//   process alive;
// - tasks run one at a time, in order; at most `maxWaiting` wait behind the running one,
//   and a task past that is refused at once with WorkerBusyError (the caller answers 503):
//   the inputs held in memory are bounded;
// - with `timeoutMs`, a task has that long from when the ready thread takes it (not while
//   it waits); past it the thread is terminated and the task rejects with
//   WorkerTimeoutError;
// - a task that exhausts the thread's heap (`maxHeapMb`) rejects with WorkerMemoryError;
//   anything else that kills the thread rejects the running task with a plain Error. Either
//   way only that task fails, and the next one gets a fresh thread;
// - close() rejects the running and waiting tasks and terminates the thread.
//
// The worker module calls serveTasks(handler) (below), which speaks the protocol: a
// `{ ready: true }` message once its modules are loaded, then one answer per task.
import { parentPort, Worker, type Transferable } from 'node:worker_threads';
import type { Logger } from './logger.ts';

interface TaskMessage<In> {
  id: number;
  input: In;
}
type AnswerMessage<Out> = { id: number; ok: true; result: Out } | { id: number; ok: false; message: string };
interface ReadyMessage {
  ready: true;
}

/** The task ran past the time limit; the thread that ran it was terminated. */
export class WorkerTimeoutError extends Error {
  readonly timeoutMs: number;
  constructor(what: string, timeoutMs: number) {
    super(`${what} took longer than ${timeoutMs} ms`);
    this.name = 'WorkerTimeoutError';
    this.timeoutMs = timeoutMs;
  }
}

/** The task ran out of the thread's heap; only that thread died. */
export class WorkerMemoryError extends Error {
  constructor(what: string, maxHeapMb: number) {
    super(`${what} needed more than ${maxHeapMb} MB of heap`);
    this.name = 'WorkerMemoryError';
  }
}

/** Too many tasks are waiting already; nothing was queued. */
export class WorkerBusyError extends Error {
  constructor(what: string) {
    super(`too many tasks wait for ${what}`);
    this.name = 'WorkerBusyError';
  }
}

export interface WorkerThreadOptions<In> {
  /** The worker module; it calls serveTasks. */
  url: URL;
  /** What the tasks are, for errors ("the report render") and log events (`<event>_timeout`, …). */
  what: string;
  event: string;
  logger: Pick<Logger, 'warn' | 'error'>;
  workerData?: unknown;
  timeoutMs?: number;
  /** The thread's old-generation heap limit. */
  maxHeapMb?: number;
  maxWaiting?: number;
  /** Buffers of the input to move to the thread instead of copying. */
  transfer?: (input: In) => Transferable[];
}

export interface WorkerThread<In, Out> {
  run: (input: In) => Promise<Out>;
  close: () => Promise<void>;
}

interface Pending<In, Out> {
  task: TaskMessage<In>;
  resolve: (result: Out) => void;
  reject: (err: Error) => void;
}

export function createWorkerThread<In, Out>(options: WorkerThreadOptions<In>): WorkerThread<In, Out> {
  const { url, what, event, logger, timeoutMs, maxHeapMb, transfer } = options;
  const maxWaiting = options.maxWaiting ?? Number.POSITIVE_INFINITY;
  const queue: Array<Pending<In, Out>> = [];
  let worker: Worker | undefined;
  let ready = false;
  let current: { pending: Pending<In, Out>; timer: NodeJS.Timeout | undefined } | undefined;
  let nextId = 1;
  let closed = false;

  /** Forgets the thread `w` (terminating it) and fails its running task with `err`. */
  function drop(w: Worker, err: Error): void {
    if (w !== worker) return;
    worker = undefined;
    ready = false;
    void w.terminate();
    const running = current;
    current = undefined;
    if (running !== undefined) {
      clearTimeout(running.timer);
      running.pending.reject(err);
    }
    next();
  }

  function spawn(): Worker {
    const w = new Worker(url, {
      workerData: options.workerData,
      ...(maxHeapMb === undefined ? {} : { resourceLimits: { maxOldGenerationSizeMb: maxHeapMb } }),
    });
    w.unref();
    w.on('message', (message: AnswerMessage<Out> | ReadyMessage) => {
      if (w !== worker) return;
      if ('ready' in message) {
        ready = true;
        next();
        return;
      }
      const running = current;
      if (running === undefined || running.pending.task.id !== message.id) return;
      clearTimeout(running.timer);
      current = undefined;
      if (message.ok) running.pending.resolve(message.result);
      else running.pending.reject(new Error(`${what} failed: ${message.message}`));
      next();
    });
    w.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'ERR_WORKER_OUT_OF_MEMORY') {
        logger.warn({ event: `${event}_out_of_memory`, max_heap_mb: maxHeapMb }, `${what} ran out of memory; its thread was replaced`);
        drop(w, new WorkerMemoryError(what, maxHeapMb ?? 0));
      } else {
        logger.error({ err, event: `${event}_thread_failed` }, `the thread of ${what} failed; it was replaced`);
        drop(w, err);
      }
    });
    w.on('exit', (code) => drop(w, new Error(`the thread of ${what} exited (code ${code})`)));
    return w;
  }

  function next(): void {
    if (closed || current !== undefined) return;
    if (worker === undefined) {
      if (queue.length === 0) return;
      ready = false;
      worker = spawn();
      return;
    }
    if (!ready) return;
    const pending = queue.shift();
    if (pending === undefined) {
      worker.unref();
      return;
    }
    const w = worker;
    w.ref();
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            logger.warn({ event: `${event}_timeout`, timeout_ms: timeoutMs }, `${what} ran past its time limit; its thread was terminated`);
            drop(w, new WorkerTimeoutError(what, timeoutMs));
          }, timeoutMs);
    current = { pending, timer };
    w.postMessage(pending.task, transfer?.(pending.task.input) ?? []);
  }

  return {
    run(input) {
      if (closed) return Promise.reject(new Error(`${what} is closed`));
      if (queue.length >= maxWaiting) return Promise.reject(new WorkerBusyError(what));
      return new Promise<Out>((resolve, reject) => {
        queue.push({ task: { id: nextId++, input }, resolve, reject });
        next();
      });
    },
    async close() {
      closed = true;
      const stopped = new Error(`${what} is closed`);
      const running = current;
      current = undefined;
      if (running !== undefined) {
        clearTimeout(running.timer);
        running.pending.reject(stopped);
      }
      for (const pending of queue.splice(0)) pending.reject(stopped);
      const w = worker;
      worker = undefined;
      if (w !== undefined) await w.terminate();
    },
  };
}

/**
 * In a worker module: answers each task with `handler(input)`. A handler that throws fails
 * only that task (a bug, not a property of the input). Call it once the module's imports
 * are loaded: the first message tells the main thread the thread is ready. `transfer`
 * names the buffers of an answer to move rather than copy: the main thread receives a
 * moved buffer without work, while copied data is read in one step on its event loop.
 */
export function serveTasks<In, Out>(handler: (input: In) => Out, transfer?: (output: Out) => Transferable[]): void {
  const port = parentPort;
  if (port === null) throw new Error('serveTasks runs in a worker thread');
  port.on('message', ({ id, input }: TaskMessage<In>) => {
    let answer: AnswerMessage<Out>;
    try {
      answer = { id, ok: true, result: handler(input) };
    } catch (err) {
      answer = { id, ok: false, message: err instanceof Error ? err.message : String(err) };
    }
    port.postMessage(answer, answer.ok && transfer !== undefined ? transfer(answer.result) : []);
  });
  port.postMessage({ ready: true } satisfies ReadyMessage);
}
