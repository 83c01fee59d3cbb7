// Reports module: templates rendered against one portfolio's data model by a job, with a
// deterministic narrative and an optional AI section; Markdown and sanitised HTML output.
import type { Config } from '../../config.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Database } from '../../platform/db/index.ts';
import type { Guards } from '../../platform/http/principal.ts';
import type { App } from '../../platform/http/types.ts';
import type { JobQueue } from '../../platform/jobs/index.ts';
import type { Logger } from '../../platform/logger.ts';
import type { TemplatesRepository } from '../templates/index.ts';
import { createAiWriter } from './ai-writer.ts';
import { createRenderPool } from './render-pool.ts';
import { createReportsRepository } from './reports.repository.ts';
import { reportsRoutes } from './reports.routes.ts';
import { createReportsService, RENDER_QUEUE, type ReportData, type ReportsService } from './reports.service.ts';

export interface ReportsDeps {
  config: Config;
  db: Database;
  jobs: JobQueue;
  clock: Clock;
  logger: Logger;
  guards: Guards;
  templates: TemplatesRepository;
  data: ReportData;
}

export function registerReports(app: App, deps: ReportsDeps): ReportsService {
  // The render thread starts with the first report and stops with the app (a render in
  // flight then fails its attempt and the job is retried by the next worker).
  const renderer = createRenderPool({ timeoutMs: deps.config.reports.renderTimeoutMs, logger: deps.logger });
  app.addHook('onClose', async () => renderer.close());
  const reports = createReportsService({
    db: deps.db,
    repo: createReportsRepository(deps.db),
    templates: deps.templates,
    jobs: deps.jobs,
    clock: deps.clock,
    logger: deps.logger,
    data: deps.data,
    ai: createAiWriter(deps.config.ai, deps.logger),
    renderer,
  });
  reportsRoutes(app, { guards: deps.guards, reports });
  deps.jobs.define<{ report_id: string }>({ name: RENDER_QUEUE, handler: (payload) => reports.render(payload.report_id) });
  return reports;
}

export { PERFORMANCE_RANGES, RENDER_QUEUE, type ReportData, type ReportsService } from './reports.service.ts';
