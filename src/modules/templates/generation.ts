// POST /v1/templates/generate: a job writes a generated body. Without a template id it
// creates a template (tier cap applies); with one it needs If-Match and writes a new version
// through the same one-statement versioned UPDATE as a user edit, in the transaction that
// records the outcome. A stale expected version is recorded as `conflict` with the version
// it lost to: a concurrent edit is never overwritten, and the loss is never silent.
import { randomUUID } from 'node:crypto';
import { Type } from 'typebox';
import type { TierLimits } from '../../config.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Database } from '../../platform/db/index.ts';
import { notFound } from '../../platform/errors.ts';
import { principalOf, type Guards } from '../../platform/http/principal.ts';
import { problemResponses } from '../../platform/http/problem.ts';
import type { App } from '../../platform/http/types.ts';
import type { JobQueue } from '../../platform/jobs/index.ts';
import { generateBody, SECTIONS, type Section } from './generate.ts';
import { validateTemplate } from './language.ts';
import type { TemplatesRepository } from './templates.repository.ts';
import { expectedVersion } from './templates.service.ts';

export const GENERATE_QUEUE = 'templates.generate';

interface GenerationRow {
  id: string;
  user_id: string;
  template_id: string | null;
  expected_version: number | null;
  name: string;
  sections: string[];
  status: 'queued' | 'done' | 'conflict' | 'failed';
  result_version: number | null;
  current_version: number | null;
  note: string | null;
  created_at: Date;
  finished_at: Date | null;
}
const COLUMNS = 'id, user_id, template_id, expected_version, name, sections, status, result_version, current_version, note, created_at, finished_at';

const Generation = Type.Object({
  id: Type.String({ format: 'uuid' }),
  template_id: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
  expected_version: Type.Union([Type.Integer(), Type.Null()]),
  sections: Type.Array(Type.String()),
  status: Type.Union([Type.Literal('queued'), Type.Literal('done'), Type.Literal('conflict'), Type.Literal('failed')]),
  result_version: Type.Union([Type.Integer(), Type.Null()], { description: 'the version written (done)' }),
  current_version: Type.Union([Type.Integer(), Type.Null()], { description: 'the version the generation lost to (conflict)' }),
  note: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
  finished_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
const GenerateBody = Type.Object(
  {
    sections: Type.Array(Type.Union(SECTIONS.map((s) => Type.Literal(s))), { minItems: 1, maxItems: SECTIONS.length, uniqueItems: true }),
    template_id: Type.Optional(Type.String({ format: 'uuid', description: 'replace this template’s body as a new version (If-Match required)' })),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);

const json = (row: GenerationRow) => ({
  id: row.id,
  template_id: row.template_id,
  expected_version: row.expected_version,
  sections: row.sections,
  status: row.status,
  result_version: row.result_version,
  current_version: row.current_version,
  note: row.note,
  created_at: row.created_at.toISOString(),
  finished_at: row.finished_at === null ? null : row.finished_at.toISOString(),
});

export function registerGeneration(
  app: App,
  deps: { db: Database; jobs: JobQueue; clock: Clock; guards: Guards; repo: TemplatesRepository; tiers: { free: TierLimits; pro: TierLimits } },
): void {
  const { db, jobs, clock, repo } = deps;
  const common = { onRequest: deps.guards.requireUser };
  const meta = { tags: ['templates'], security: [{ bearer: [] }] };

  app.post(
    '/v1/templates/generate',
    {
      ...common,
      schema: { ...meta, summary: 'Generate a template body from chosen sections (202; a job writes it)', headers: Type.Object({ 'if-match': Type.Optional(Type.String({ maxLength: 100 })) }), body: GenerateBody, response: { 202: Generation, ...problemResponses } },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const body = request.body;
      const expected = body.template_id === undefined ? null : expectedVersion(request.headers['if-match']);
      const row = await db.transaction(async (tx) => {
        if (body.template_id !== undefined && (await repo.get(tx, principal.userId, body.template_id)) === undefined) throw notFound('Template');
        const { rows } = await tx.query<GenerationRow>(
          `INSERT INTO template_generations (id, user_id, template_id, expected_version, name, sections, status, created_at)
           VALUES ($1, $2, $3, $4, $5, $6::text[], 'queued', $7) RETURNING ${COLUMNS}`,
          [randomUUID(), principal.userId, body.template_id ?? null, expected, body.name ?? 'Generated analysis', body.sections, clock.now()],
        );
        const created = rows[0] as GenerationRow;
        await jobs.enqueue(tx, GENERATE_QUEUE, { generation_id: created.id, tier: principal.tier }, { singletonKey: created.id });
        return created;
      });
      void reply.code(202).header('location', `/v1/templates/generations/${row.id}`);
      return json(row);
    },
  );

  app.get(
    '/v1/templates/generations/:id',
    { ...common, schema: { ...meta, summary: 'A generation: queued, done (result_version), conflict (current_version) or failed', params: Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false }), response: { 200: Generation, ...problemResponses } } },
    async (request) => {
      const { rows } = await db.query<GenerationRow>(`SELECT ${COLUMNS} FROM template_generations WHERE id = $1 AND user_id = $2`, [request.params.id, principalOf(request).userId]);
      const row = rows[0];
      if (row === undefined) throw notFound('Generation');
      return json(row);
    },
  );

  jobs.define<{ generation_id: string; tier: 'free' | 'pro' }>({
    name: GENERATE_QUEUE,
    handler: async ({ generation_id: id, tier }) => {
      const { rows } = await db.query<GenerationRow>(`SELECT ${COLUMNS} FROM template_generations WHERE id = $1`, [id]);
      const gen = rows[0];
      if (gen === undefined || gen.status !== 'queued') return;
      const body = generateBody(gen.sections as Section[]);
      validateTemplate(body);
      const at = clock.now();
      const finish = (tx: { query: Database['query'] }, status: GenerationRow['status'], values: { result?: number; current?: number | null; note?: string; templateId?: string }) =>
        tx.query(
          `UPDATE template_generations SET status = $2, result_version = $3, current_version = $4, note = $5, template_id = COALESCE(template_id, $6), finished_at = $7 WHERE id = $1 AND status = 'queued'`,
          [id, status, values.result ?? null, values.current ?? null, values.note ?? null, values.templateId ?? null, at],
        );
      if (gen.template_id === null || gen.expected_version === null) {
        // The new template's id is the generation's: a retried job finds it instead of creating another.
        const existing = await repo.get(db, gen.user_id, gen.id);
        if (existing !== undefined) return void (await finish(db, 'done', { result: 1, templateId: existing.id }));
        const created = await repo.create({ id: gen.id, user_id: gen.user_id, name: gen.name, description: 'generated', body, created_at: at }, deps.tiers[tier].templates);
        if (created === 'full') await finish(db, 'failed', { note: 'The tier’s template limit is reached.' });
        else await finish(db, 'done', { result: created.version, templateId: created.id });
        return;
      }
      const templateId = gen.template_id;
      const expected = gen.expected_version;
      await db.transaction(async (tx) => {
        const result = await repo.update(tx, gen.user_id, templateId, expected, { body }, 'generate', at);
        if ('current' in result) {
          await finish(tx, result.current === null ? 'failed' : 'conflict', { current: result.current, note: result.current === null ? 'The template was deleted.' : `The template changed to version ${result.current} first; nothing was written.` });
        } else {
          await finish(tx, 'done', { result: result.version });
        }
      });
    },
  });
}

