// The report render thread (a worker thread started by render-pool.ts): runs the
// input-sized, CPU-bound steps of a report — the data model with its narrative, the
// Mustache template and Markdown → sanitised HTML — so that however long they take, the
// event loop that serves requests is never held. It loads the same pinned libraries
// through the same modules as the main thread, so the output is identical.
import { serveTasks } from '../../platform/worker-thread.ts';
import type { ReportModel } from './data-model.ts';
import { renderReport, reportModel, type RenderOutcome } from './render.ts';
import type { RenderTask } from './render-pool.ts';

serveTasks<RenderTask, ReportModel | RenderOutcome>((task) => (task.kind === 'model' ? reportModel(task.sources, task.generatedAt) : renderReport(task.body, task.model)));
