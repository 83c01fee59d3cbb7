// Reports: a request records the template's current version and the portfolio and, in the
// same transaction, enqueues the render job (FAIL-021). The job collects the portfolio's
// data model from the same services the API answers with, adds the narrative (and the AI
// section when configured), renders the recorded template version to Markdown and
// sanitised HTML, and stores the outcome once. Only the owner sees a report (404 otherwise).
// The input-sized steps (data model and narrative, template, Markdown → HTML) run on the
// render thread (render-pool.ts) under a time limit, never on the event loop; a render over
// the limit, or out of the thread's memory, fails the report for good with a note.
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../platform/clock.ts';
import type { Database } from '../../platform/db/index.ts';
import { AppError, notFound } from '../../platform/errors.ts';
import type { JobQueue } from '../../platform/jobs/index.ts';
import type { Logger } from '../../platform/logger.ts';
import { decodeTimeCursor, encodeTimeCursor, type TimeOrder } from '../../platform/http/cursor.ts';
import type { TemplatesRepository } from '../templates/index.ts';
import type { AiWriter } from './ai-writer.ts';
import type { HoldingsSource, PerformanceSource, ReportModel, ReportSources } from './data-model.ts';
import { RenderMemoryError, RenderTimeoutError, type RenderPool } from './render-pool.ts';
import type { RenderOutcome } from './render.ts';
import type { ReportRow, ReportsRepository, ReportSummary } from './reports.repository.ts';

export const RENDER_QUEUE = 'reports.render';
export const PERFORMANCE_RANGES = ['1m', '3m', 'ytd', '1y', 'max'] as const;
const RECENT_ALERTS = 10;

/** Where a report's data comes from: the portfolios, analytics, market and news services, narrowed. */
export interface ReportData {
  /** 404 for a portfolio the user does not own. */
  portfolio: (userId: string, portfolioId: string) => Promise<{ id: string; name: string; baseCurrency: string }>;
  holdings: (userId: string, portfolioId: string) => Promise<HoldingsSource>;
  performance: (userId: string, portfolioId: string, range: (typeof PERFORMANCE_RANGES)[number]) => Promise<PerformanceSource>;
  /** Latest daily RSI 14 and SMA 20; null without price history. */
  indicators: (symbol: string) => Promise<{ as_of: string; close: string; rsi_14: string | null; sma_20: string | null } | null>;
  news: (userId: string, symbols: string[]) => Promise<ReportSources['news']>;
}

export interface ReportsServiceDeps {
  db: Database;
  repo: ReportsRepository;
  templates: TemplatesRepository;
  jobs: JobQueue;
  clock: Clock;
  logger: Logger;
  data: ReportData;
  ai?: AiWriter | undefined;
  /** Runs the CPU-heavy steps off the event loop (render-pool.ts). */
  renderer: Pick<RenderPool, 'model' | 'render'>;
}

/** The notes of a report the render thread gave up on: what the user can do about it, no internals. */
export const RENDER_TIMEOUT_NOTE = 'The report took too long to render; simplify the template (fewer rows, shorter lists) and try again.';
export const RENDER_MEMORY_NOTE = 'The report needed too much memory to render; simplify the template (fewer rows, shorter lists) and try again.';

export function createReportsService(deps: ReportsServiceDeps) {
  const { db, repo, jobs, clock, data } = deps;

  async function collect(userId: string, portfolioId: string): Promise<ReportSources> {
    const portfolio = await data.portfolio(userId, portfolioId);
    const holdings = await data.holdings(userId, portfolioId);
    const performance: PerformanceSource[] = [];
    for (const range of PERFORMANCE_RANGES) performance.push(await data.performance(userId, portfolioId, range));
    const symbols = holdings.items.map((h) => h.symbol);
    const indicators: ReportSources['indicators'] = [];
    for (const symbol of symbols) {
      const latest = await data.indicators(symbol);
      if (latest !== null) indicators.push({ symbol, ...latest });
    }
    const alerts = await repo.recentAlertEvents(userId, symbols, RECENT_ALERTS);
    const news = symbols.length === 0 ? [] : await data.news(userId, symbols);
    return { portfolio, holdings, performance, indicators, alerts, news };
  }

  return {
    async request(userId: string, templateId: string, portfolioId: string): Promise<ReportRow> {
      await data.portfolio(userId, portfolioId);
      return db.transaction(async (tx) => {
        const template = await deps.templates.get(tx, userId, templateId);
        if (template === undefined) throw notFound('Template');
        const row = await repo.insert(tx, { id: randomUUID(), user_id: userId, template_id: templateId, template_version: template.version, portfolio_id: portfolioId, created_at: clock.now() });
        await jobs.enqueue(tx, RENDER_QUEUE, { report_id: row.id }, { singletonKey: row.id });
        return row;
      });
    },

    /** The render job: idempotent (a finished report is left alone); a template or data error, or a render over its time or memory limit, fails the report; anything else is retried. */
    async render(reportId: string): Promise<void> {
      const report = await repo.byId(reportId);
      if (report === undefined || report.status !== 'queued') return;
      const fail = (note: string) => repo.finish(reportId, { status: 'failed', md: null, html: null, note }, clock.now());
      // Over the time or memory limit the same input would fail again: the report fails for
      // good (the job completes, no retry). Any other error is a fault and is retried.
      const givenUp = (err: unknown) => {
        if (err instanceof RenderTimeoutError) return fail(RENDER_TIMEOUT_NOTE);
        if (err instanceof RenderMemoryError) return fail(RENDER_MEMORY_NOTE);
        throw err;
      };
      const version = await deps.templates.version(db, report.user_id, report.template_id, report.template_version);
      if (version === undefined) return fail('The template was deleted before the report was rendered.');
      let sources: ReportSources;
      try {
        sources = await collect(report.user_id, report.portfolio_id);
      } catch (err) {
        if (err instanceof AppError && err.status === 404) return fail('The portfolio was deleted before the report was rendered.');
        throw err;
      }
      let model: ReportModel;
      try {
        model = await deps.renderer.model(sources, clock.now());
      } catch (err) {
        return givenUp(err);
      }
      let note: string | null = null;
      if (deps.ai !== undefined) {
        const answer = await deps.ai(model);
        if ('text' in answer) model.ai = { available: true, text: answer.text, note: '' };
        else {
          model.ai = { available: false, text: '', note: answer.note };
          note = answer.note;
        }
      } else {
        model.ai = { available: false, text: '', note: 'No AI writer is configured.' };
      }
      let outcome: RenderOutcome;
      try {
        outcome = await deps.renderer.render(version.body, model);
      } catch (err) {
        return givenUp(err);
      }
      if (outcome.status === 'failed') return fail(outcome.note);
      await repo.finish(reportId, { status: 'done', md: outcome.md, html: outcome.html, note }, clock.now());
    },

    async get(userId: string, id: string): Promise<ReportRow> {
      const row = await repo.get(userId, id);
      if (row === undefined) throw notFound('Report');
      return row;
    },

    /** A page of the user's reports; with `templateId`, only that template's (another user's template lists none). */
    async list(userId: string, limit: number, cursor: string | undefined, order: TimeOrder, templateId?: string): Promise<{ items: ReportSummary[]; nextCursor: string | null }> {
      const after = cursor === undefined ? undefined : decodeTimeCursor(cursor, 'reports', order);
      const rows = await repo.list(userId, limit + 1, after, order, templateId);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return { items: page, nextCursor: rows.length > limit && last !== undefined ? encodeTimeCursor('reports', last.created_at, last.id, order) : null };
    },
  };
}

export type ReportsService = ReturnType<typeof createReportsService>;
