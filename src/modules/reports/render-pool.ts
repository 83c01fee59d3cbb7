// The report render thread, seen from the main thread: one worker thread
// (render.worker.ts, run by src/platform/worker-thread.ts) that runs the report's
// input-sized steps (data model and narrative; template, Markdown → HTML) one task at a
// time, in order, so the event loop never runs them. Each task has a wall-clock limit
// (`timeoutMs`, from when the thread takes it): past it the thread is terminated and the
// task rejects with RenderTimeoutError. A task that exhausts the thread's heap
// (`maxHeapMb`) kills only that thread and rejects with RenderMemoryError; anything else
// that kills the thread rejects with a plain Error (a fault, retried by the job queue).
import type { Logger } from '../../platform/logger.ts';
import { createWorkerThread, WorkerMemoryError, WorkerTimeoutError } from '../../platform/worker-thread.ts';
import type { ReportModel, ReportSources } from './data-model.ts';
import type { RenderOutcome } from './render.ts';

export type RenderTask = { kind: 'model'; sources: ReportSources; generatedAt: Date } | { kind: 'render'; body: string; model: ReportModel };

/** The render ran past the time limit; the thread that ran it was terminated. */
export { WorkerTimeoutError as RenderTimeoutError };
/** The render ran out of the thread's heap; only that thread died. */
export { WorkerMemoryError as RenderMemoryError };

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
}

export function createRenderPool(options: RenderPoolOptions): RenderPool {
  const thread = createWorkerThread<RenderTask, ReportModel | RenderOutcome>({
    url: new URL('./render.worker.ts', import.meta.url),
    what: 'the report render',
    event: 'report_render',
    logger: options.logger,
    timeoutMs: options.timeoutMs,
    maxHeapMb: options.maxHeapMb ?? 1024,
  });
  return {
    model: async (sources, generatedAt) => (await thread.run({ kind: 'model', sources, generatedAt })) as ReportModel,
    render: async (body, model) => (await thread.run({ kind: 'render', body, model })) as RenderOutcome,
    close: thread.close,
  };
}
