import { Type } from 'typebox';
import { TEMPLATE_BODY_MAX_CHARS } from './language.ts';

const Limit = Type.Integer({ minimum: 1, maximum: 100, default: 50, description: 'page size' });
const Cursor = Type.String({ minLength: 1, maxLength: 512, pattern: '^[A-Za-z0-9_-]+$', description: 'next_cursor of the previous page' });
const Name = Type.String({ minLength: 1, maxLength: 200 });
const Description = Type.String({ maxLength: 2000 });
const Body = Type.String({ minLength: 1, maxLength: TEMPLATE_BODY_MAX_CHARS, description: 'Mustache over the report data model (docs/reports.md)' });

export const CreateTemplateBody = Type.Object({ name: Name, description: Type.Optional(Description), body: Body }, { additionalProperties: false });
export const PutTemplateBody = Type.Object({ name: Name, description: Description, body: Body }, { additionalProperties: false });
export const PatchTemplateBody = Type.Object(
  { name: Type.Optional(Name), description: Type.Optional(Description), body: Type.Optional(Body) },
  { additionalProperties: false, minProperties: 1 },
);
export const IfMatchHeaders = Type.Object({ 'if-match': Type.Optional(Type.String({ maxLength: 100, description: 'the ETag of the version being changed' })) });
export const TemplateIdParams = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });
export const VersionParams = Type.Object(
  { id: Type.String({ format: 'uuid' }), n: Type.Integer({ minimum: 1, maximum: 2_000_000_000 }) },
  { additionalProperties: false },
);
export const PageQuery = Type.Object({ limit: Type.Optional(Limit), cursor: Type.Optional(Cursor) }, { additionalProperties: false });
export const VersionsQuery = Type.Object(
  { limit: Type.Optional(Limit), before: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_000_000_000, description: 'next_before of the previous page' })) },
  { additionalProperties: false },
);

export const Template = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  description: Type.String(),
  body: Type.String(),
  version: Type.Integer(),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
});
export const TemplatesPage = Type.Object({ items: Type.Array(Template), next_cursor: Type.Union([Type.String(), Type.Null()]) });
export const TemplateVersion = Type.Object({
  version: Type.Integer(),
  name: Type.String(),
  description: Type.String(),
  body: Type.String(),
  source: Type.Union([Type.Literal('create'), Type.Literal('update'), Type.Literal('restore'), Type.Literal('generate')]),
  created_at: Type.String({ format: 'date-time' }),
});
export const TemplateVersionsPage = Type.Object({ items: Type.Array(TemplateVersion), next_before: Type.Union([Type.Integer(), Type.Null()]) });
