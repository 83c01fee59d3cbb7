// Reports of the caller's portfolios (another user's report answers 404). Downloads are
// attachments with their exact content type and nosniff; the HTML one also carries a CSP
// sandbox, so even a browser that opens it runs nothing and loads nothing.
import { Type } from 'typebox';
import { AppError } from '../../platform/errors.ts';
import { TimeOrderParam } from '../../platform/http/cursor.ts';
import { principalOf, type Guards } from '../../platform/http/principal.ts';
import { problemResponses } from '../../platform/http/problem.ts';
import type { App } from '../../platform/http/types.ts';
import type { ReportRow, ReportSummary } from './reports.repository.ts';
import type { ReportsService } from './reports.service.ts';

const Limit = Type.Integer({ minimum: 1, maximum: 100, default: 50, description: 'page size' });
const Cursor = Type.String({ minLength: 1, maxLength: 512, pattern: '^[A-Za-z0-9_-]+$', description: 'next_cursor of the previous page' });
const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });
const CreateBody = Type.Object({ portfolio_id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });
const ListQuery = Type.Object(
  {
    limit: Type.Optional(Limit),
    cursor: Type.Optional(Cursor),
    order: Type.Optional(TimeOrderParam()),
    template_id: Type.Optional(Type.String({ format: 'uuid', description: "only this template's reports" })),
  },
  { additionalProperties: false },
);
const DownloadQuery = Type.Object({ format: Type.Union([Type.Literal('md'), Type.Literal('html')]) }, { additionalProperties: false });

const Report = Type.Object({
  id: Type.String({ format: 'uuid' }),
  template_id: Type.String({ format: 'uuid' }),
  template_version: Type.Integer({ description: 'the template version current when the report was requested' }),
  portfolio_id: Type.String({ format: 'uuid' }),
  status: Type.Union([Type.Literal('queued'), Type.Literal('done'), Type.Literal('failed')]),
  note: Type.Union([Type.String(), Type.Null()]),
  output: Type.Union([Type.Object({ markdown: Type.String(), html: Type.String() }), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
  finished_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
const ReportsPage = Type.Object({ items: Type.Array(Report), next_cursor: Type.Union([Type.String(), Type.Null()]) });

/** A report as the API answers it; the output only where the row carries it (not in lists). */
function reportJson(row: ReportSummary & Partial<Pick<ReportRow, 'output_md' | 'output_html'>>) {
  const markdown = row.output_md ?? null;
  const html = row.output_html ?? null;
  return {
    id: row.id,
    template_id: row.template_id,
    template_version: row.template_version,
    portfolio_id: row.portfolio_id,
    status: row.status,
    note: row.note,
    output: markdown !== null && html !== null ? { markdown, html } : null,
    created_at: row.created_at.toISOString(),
    finished_at: row.finished_at === null ? null : row.finished_at.toISOString(),
  };
}

export function reportsRoutes(app: App, deps: { guards: Guards; reports: ReportsService }): void {
  const { reports } = deps;
  const common = { onRequest: deps.guards.requireUser };
  const meta = { tags: ['reports'], security: [{ bearer: [] }] };

  app.post(
    '/v1/templates/:id/reports',
    { ...common, schema: { ...meta, summary: "Render a template against one of the caller's portfolios (202; a job does the work)", params: IdParams, body: CreateBody, response: { 202: Report, ...problemResponses } } },
    async (request, reply) => {
      const row = await reports.request(principalOf(request).userId, request.params.id, request.body.portfolio_id);
      void reply.code(202).header('location', `/v1/reports/${row.id}`);
      return reportJson(row);
    },
  );

  app.get(
    '/v1/reports',
    {
      ...common,
      schema: {
        ...meta,
        summary: "The caller's reports, or one template's with template_id (oldest first, or newest first with order=desc; without output)",
        querystring: ListQuery,
        response: { 200: ReportsPage, ...problemResponses },
      },
    },
    async (request) => {
      const { limit, cursor, order, template_id: templateId } = request.query;
      const page = await reports.list(principalOf(request).userId, limit ?? 50, cursor, order ?? 'asc', templateId);
      return { items: page.items.map((row) => reportJson(row)), next_cursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/reports/:id',
    { ...common, schema: { ...meta, summary: 'One report: status, template version and output', params: IdParams, response: { 200: Report, ...problemResponses } } },
    async (request) => reportJson(await reports.get(principalOf(request).userId, request.params.id)),
  );

  app.get(
    '/v1/reports/:id/download',
    {
      ...common,
      schema: { ...meta, summary: 'A finished report as a Markdown or HTML attachment', params: IdParams, querystring: DownloadQuery, produces: ['text/markdown', 'text/html'], response: { 200: Type.String(), ...problemResponses } },
    },
    async (request, reply) => {
      const row = await reports.get(principalOf(request).userId, request.params.id);
      if (row.status !== 'done' || row.output_md === null || row.output_html === null) {
        throw new AppError(409, 'report_not_ready', 'Conflict', { detail: `The report is ${row.status}.`, extra: { status: row.status } });
      }
      const html = request.query.format === 'html';
      void reply
        .header('content-type', html ? 'text/html; charset=utf-8' : 'text/markdown; charset=utf-8')
        .header('content-disposition', `attachment; filename="report-${row.id}.${request.query.format}"`)
        .header('x-content-type-options', 'nosniff');
      if (html) void reply.header('content-security-policy', "sandbox; default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'");
      return html ? `<!doctype html>\n<meta charset="utf-8">\n<title>Report</title>\n${row.output_html}` : row.output_md;
    },
  );
}
