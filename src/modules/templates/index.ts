// Templates module: user-editable analysis templates (logic-less Mustache over the report
// data model) whose every version is written atomically and kept (FAIL-009).
import type { Config } from '../../config.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Database } from '../../platform/db/index.ts';
import type { Guards } from '../../platform/http/principal.ts';
import type { App } from '../../platform/http/types.ts';
import type { JobQueue } from '../../platform/jobs/index.ts';
import { registerGeneration } from './generation.ts';
import { createTemplatesRepository } from './templates.repository.ts';
import { templatesRoutes } from './templates.routes.ts';
import { createTemplatesService, type TemplatesService } from './templates.service.ts';

export function registerTemplates(app: App, deps: { config: Config; db: Database; jobs: JobQueue; clock: Clock; guards: Guards }): { templates: TemplatesService; repo: ReturnType<typeof createTemplatesRepository> } {
  const repo = createTemplatesRepository(deps.db);
  const templates = createTemplatesService({ db: deps.db, repo, clock: deps.clock, tiers: deps.config.tiers });
  registerGeneration(app, { db: deps.db, jobs: deps.jobs, clock: deps.clock, guards: deps.guards, repo, tiers: deps.config.tiers });
  templatesRoutes(app, { guards: deps.guards, templates });
  return { templates, repo };
}

export { DATA_MODEL, renderTemplate, validateTemplate, TEMPLATE_BODY_MAX_CHARS, RENDERED_MAX_CHARS } from './language.ts';
export type { TemplateRow, TemplateVersionRow, TemplatesRepository } from './templates.repository.ts';
export type { TemplatesService } from './templates.service.ts';
