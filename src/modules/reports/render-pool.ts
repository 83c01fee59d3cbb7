// The report render thread, seen from the main thread: one node:worker_threads worker
// (render.worker.ts), started on first use and reused, that runs the report's input-sized
// steps (data model and narrative; template, Markdown → HTML) one task at a time, in order.
// Guarantees:
// - the event loop never runs those steps: it only posts the inputs and reads the answer;
// - each task has a wall-clock limit (`timeoutMs`, counted from when the ready thread takes
//   it, not while it waits behind another): past it the thread is terminated and the task
//   rejects with RenderTimeoutError; the next task gets a fresh thread;
// - a task that exhausts the thread's heap (`maxHeapMb`) kills only that thread and
//   rejects with RenderMemoryError; anything else that kills the thread rejects with a
//   plain Error (a fault, retried by the job queue);
// - close() rejects the running and waiting tasks and terminates the thread; an idle
//   thread never keeps the process alive.
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../platform/logger.ts';
import type { ReportModel, ReportSources } from './data-model.ts';
import type { RenderOutcome } from './render.ts';

export type RenderTask = { kind: 'model'; sources: ReportSources; generatedAt: Date } | { kind: 'render'; body: string; model: ReportModel };
export interface RenderRequest {
  id: number;
  task: RenderTask;
}
export type RenderResponse = { id: number; ok: true; result: ReportModel | RenderOutcome } | { id: number; ok: false; message: string };
/** The render thread's first message: its modules are loaded. */
export interface RenderReady {
  ready: true;
}

/** The task ran past the time limit; the thread that ran it was terminated. */
export class RenderTimeoutError extends Error {
  readonly timeoutMs: number;
  constructor(timeoutMs: number) {
    super(`the report render took longer than ${timeoutMs} ms`);
    this.name = 'RenderTimeoutError';
    this.timeoutMs = timeoutMs;
  }
}

/** The task ran out of the thread's heap; only that thread died. */
export class RenderMemoryError extends Error {
  constructor(maxHeapMb: number) {
    super(`the report render needed more than ${maxHeapMb} MB of heap`);
    this.name = 'RenderMemoryError';
  }
}

export interface RenderPool {
  /** The data model with its narrative. */
  model: (sources: ReportSources, generatedAt: Date) => Promise<ReportModel>;
  /** The template over the model to Markdown and sanitised HTML (or a failed outcome with its note). */
  render: (body: string, model: ReportModel) => Promise<RenderOutcome>;
  close: () => Promise<void>;
}

export interface RenderPoolOptions {
  timeoutMs: number;
  logger: Logger;
  /** The render thread's old-generation heap limit. */
  maxHeapMb?: number;
  /** The worker module (tests may pass another). */
  workerUrl?: URL;
}

interface Pending {
  request: RenderRequest;
  resolve: (result: ReportModel | RenderOutcome) => void;
  reject: (err: Error) => void;
}

const DEFAULT_WORKER = new URL('./render.worker.ts', import.meta.url);

export function createRenderPool(options: RenderPoolOptions): RenderPool {
  const { timeoutMs, logger } = options;
  const maxHeapMb = options.maxHeapMb ?? 1024;
  const workerUrl = options.workerUrl ?? DEFAULT_WORKER;
  const queue: Pending[] = [];
  let worker: Worker | undefined;
  let ready = false;
  let current: { pending: Pending; timer: NodeJS.Timeout } | undefined;
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
    const w = new Worker(workerUrl, { resourceLimits: { maxOldGenerationSizeMb: maxHeapMb } });
    w.unref();
    w.on('message', (message: RenderResponse | RenderReady) => {
      if (w !== worker) return;
      if ('ready' in message) {
        ready = true;
        next();
        return;
      }
      const running = current;
      if (running === undefined || running.pending.request.id !== message.id) return;
      clearTimeout(running.timer);
      current = undefined;
      if (message.ok) running.pending.resolve(message.result);
      else running.pending.reject(new Error(`report render failed: ${message.message}`));
      next();
    });
    w.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'ERR_WORKER_OUT_OF_MEMORY') {
        logger.warn({ event: 'report_render_out_of_memory', max_heap_mb: maxHeapMb }, 'a report render ran out of memory; its thread was replaced');
        drop(w, new RenderMemoryError(maxHeapMb));
      } else {
        logger.error({ err, event: 'report_render_thread_failed' }, 'the report render thread failed; it was replaced');
        drop(w, err);
      }
    });
    w.on('exit', (code) => drop(w, new Error(`the report render thread exited (code ${code})`)));
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
    if (pending === undefined) return;
    const w = worker;
    const timer = setTimeout(() => {
      logger.warn({ event: 'report_render_timeout', timeout_ms: timeoutMs }, 'a report render ran past its time limit; its thread was terminated');
      drop(w, new RenderTimeoutError(timeoutMs));
    }, timeoutMs);
    current = { pending, timer };
    w.postMessage(pending.request);
  }

  function run(task: RenderTask): Promise<ReportModel | RenderOutcome> {
    if (closed) return Promise.reject(new Error('the report renderer is closed'));
    return new Promise((resolve, reject) => {
      queue.push({ request: { id: nextId++, task }, resolve, reject });
      next();
    });
  }

  return {
    model: async (sources, generatedAt) => (await run({ kind: 'model', sources, generatedAt })) as ReportModel,
    render: async (body, model) => (await run({ kind: 'render', body, model })) as RenderOutcome,
    async close() {
      closed = true;
      const stopped = new Error('the report renderer is closed');
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
