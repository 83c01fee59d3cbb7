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
import { AI_MAX_CONCURRENT, AI_RETRIES, createAiWriter } from './ai-writer.ts';
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

/**
 * How long a render job holds its lock before the queue takes it for dead and runs it again:
 * twice the longest its bounded steps can take, so a slow report is never run twice, and
 * JOBS_EXPIRE_SECONDS when that is longer. The steps: on the process's one render thread,
 * a job's two steps (data model; template and Markdown to HTML) may wait behind the two of
 * every other job the worker runs (JOBS_CONCURRENCY), each at most REPORT_RENDER_TIMEOUT_MS;
 * and the AI writer's attempts of at most AI_TIMEOUT_MS each, AI_MAX_CONCURRENT at a time.
 * The other half is room for the database work and the retry backoff.
 */
export function renderJobExpirySeconds(config: Pick<Config, 'jobs' | 'reports' | 'ai'>): number {
  const { concurrency } = config.jobs;
  const renderMs = 2 * config.reports.renderTimeoutMs * concurrency;
  const aiMs = config.ai.baseUrl === undefined ? 0 : (AI_RETRIES + 1) * config.ai.timeoutMs * Math.ceil(concurrency / AI_MAX_CONCURRENT);
  return Math.max(config.jobs.expireSeconds, Math.ceil((2 * (renderMs + aiMs)) / 1000));
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
  deps.jobs.define<{ report_id: string }>({
    name: RENDER_QUEUE,
    handler: (payload) => reports.render(payload.report_id),
    expireSeconds: renderJobExpirySeconds(deps.config),
  });
  return reports;
}

export { PERFORMANCE_RANGES, RENDER_QUEUE, type ReportData, type ReportsService } from './reports.service.ts';
