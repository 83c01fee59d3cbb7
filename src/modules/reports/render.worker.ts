// The report render thread (a node:worker_threads worker started by render-pool.ts): runs
// the input-sized, CPU-bound steps of a report — the data model with its narrative, the
// Mustache template and Markdown → sanitised HTML — so that however long they take, the
// event loop that serves requests is never held. It loads the same pinned libraries
// through the same modules as the main thread, so the output is identical. One task at a
// time; each answer carries the task's id, and the first message says the thread is ready.
import { parentPort } from 'node:worker_threads';
import { renderReport, reportModel } from './render.ts';
import type { RenderReady, RenderRequest, RenderResponse } from './render-pool.ts';

const port = parentPort;
if (port === null) throw new Error('render.worker.ts runs as a worker thread');

port.on('message', (request: RenderRequest) => {
  let response: RenderResponse;
  try {
    const task = request.task;
    const result = task.kind === 'model' ? reportModel(task.sources, task.generatedAt) : renderReport(task.body, task.model);
    response = { id: request.id, ok: true, result };
  } catch (err) {
    // A bug, not a property of the input: the job fails this attempt and is retried.
    response = { id: request.id, ok: false, message: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(response);
});
// The modules are loaded: the pool starts a task's time limit only from here.
port.postMessage({ ready: true } satisfies RenderReady);
