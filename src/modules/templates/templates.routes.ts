// /v1/templates for the caller (another user's template answers 404). GET answers with
// `ETag: "<version>"`; PUT, PATCH and restore need `If-Match` with that ETag (428 without,
// 412 with a stale one, FAIL-009) and answer with the new version's ETag.
import { Type } from 'typebox';
import { principalOf, type Guards } from '../../platform/http/principal.ts';
import { problemResponses } from '../../platform/http/problem.ts';
import type { App } from '../../platform/http/types.ts';
import type { TemplateRow, TemplateVersionRow } from './templates.repository.ts';
import {
  CreateTemplateBody, IfMatchHeaders, PageQuery, PatchTemplateBody, PutTemplateBody, Template, TemplateIdParams, TemplatesPage,
  TemplateVersion, TemplateVersionsPage, VersionParams, VersionsQuery,
} from './templates.schemas.ts';
import { expectedVersion, type TemplatesService } from './templates.service.ts';

export function templateJson(row: TemplateRow) {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    body: row.body,
    version: row.version,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

function versionJson(row: TemplateVersionRow) {
  return { version: row.version, name: row.name, description: row.description, body: row.body, source: row.source, created_at: row.created_at.toISOString() };
}

export const etagOf = (version: number) => `"${version}"`;

export function templatesRoutes(app: App, deps: { guards: Guards; templates: TemplatesService }): void {
  const { templates } = deps;
  const common = { onRequest: deps.guards.requireUser };
  const meta = { tags: ['templates'], security: [{ bearer: [] }] };

  app.post(
    '/v1/templates',
    { ...common, schema: { ...meta, summary: 'Create a template (version 1)', body: CreateTemplateBody, response: { 201: Template, ...problemResponses } } },
    async (request, reply) => {
      const principal = principalOf(request);
      const row = await templates.create({ userId: principal.userId, tier: principal.tier }, request.body);
      void reply.code(201).header('etag', etagOf(row.version));
      return templateJson(row);
    },
  );

  app.get(
    '/v1/templates',
    { ...common, schema: { ...meta, summary: "The caller's templates (oldest first; a page ends at limit or at 1 MiB of text, so follow next_cursor)", querystring: PageQuery, response: { 200: TemplatesPage, ...problemResponses } } },
    async (request) => {
      const page = await templates.list(principalOf(request).userId, request.query.limit ?? 50, request.query.cursor);
      return { items: page.items.map(templateJson), next_cursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/templates/:id',
    { ...common, schema: { ...meta, summary: 'One template; ETag is its version', params: TemplateIdParams, response: { 200: Template, ...problemResponses } } },
    async (request, reply) => {
      const row = await templates.get(principalOf(request).userId, request.params.id);
      void reply.header('etag', etagOf(row.version));
      return templateJson(row);
    },
  );

  app.put(
    '/v1/templates/:id',
    {
      ...common,
      schema: { ...meta, summary: 'Replace a template as a new version (If-Match required)', params: TemplateIdParams, headers: IfMatchHeaders, body: PutTemplateBody, response: { 200: Template, ...problemResponses } },
    },
    async (request, reply) => {
      const expected = expectedVersion(request.headers['if-match']);
      const row = await templates.update(principalOf(request).userId, request.params.id, expected, request.body);
      void reply.header('etag', etagOf(row.version));
      return templateJson(row);
    },
  );

  app.patch(
    '/v1/templates/:id',
    {
      ...common,
      schema: { ...meta, summary: 'Change fields of a template as a new version (If-Match required)', params: TemplateIdParams, headers: IfMatchHeaders, body: PatchTemplateBody, response: { 200: Template, ...problemResponses } },
    },
    async (request, reply) => {
      const expected = expectedVersion(request.headers['if-match']);
      const row = await templates.update(principalOf(request).userId, request.params.id, expected, request.body);
      void reply.header('etag', etagOf(row.version));
      return templateJson(row);
    },
  );

  app.delete(
    '/v1/templates/:id',
    { ...common, schema: { ...meta, summary: 'Delete a template and its versions', params: TemplateIdParams, response: { 204: Type.Null(), ...problemResponses } } },
    async (request, reply) => {
      await templates.remove(principalOf(request).userId, request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/templates/:id/versions',
    { ...common, schema: { ...meta, summary: 'Versions of a template (newest first; a page ends at limit or at 1 MiB of text, so follow next_before)', params: TemplateIdParams, querystring: VersionsQuery, response: { 200: TemplateVersionsPage, ...problemResponses } } },
    async (request) => {
      const page = await templates.versions(principalOf(request).userId, request.params.id, request.query.limit ?? 50, request.query.before);
      return { items: page.items.map(versionJson), next_before: page.nextBefore };
    },
  );

  app.get(
    '/v1/templates/:id/versions/:n',
    { ...common, schema: { ...meta, summary: 'One version of a template', params: VersionParams, response: { 200: TemplateVersion, ...problemResponses } } },
    async (request) => versionJson(await templates.version(principalOf(request).userId, request.params.id, request.params.n)),
  );

  app.post(
    '/v1/templates/:id/versions/:n/restore',
    { ...common, schema: { ...meta, summary: 'Write version n again as a new version (If-Match required)', params: VersionParams, headers: IfMatchHeaders, response: { 200: Template, ...problemResponses } } },
    async (request, reply) => {
      const expected = expectedVersion(request.headers['if-match']);
      const row = await templates.restore(principalOf(request).userId, request.params.id, request.params.n, expected);
      void reply.header('etag', etagOf(row.version));
      return templateJson(row);
    },
  );
}
