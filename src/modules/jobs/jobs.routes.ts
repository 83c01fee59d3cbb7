// Admin routes over the dead-letter queue (FAIL-021). The admin role is checked in
// onRequest, before the body is read.
import { Type } from 'typebox';
import type { Guards } from '../../platform/http/principal.ts';
import { problemResponses } from '../../platform/http/problem.ts';
import type { App } from '../../platform/http/types.ts';
import { DeadLetterItem, DeadLetterPage, DeadLetterParams, DeadLetterQuery, RetryAccepted } from './jobs.schemas.ts';
import type { DeadLetter, DeadLetterService } from './jobs.service.ts';

export function deadLetterJson(item: DeadLetter) {
  return {
    id: item.id,
    queue: item.queue,
    source_job_id: item.sourceJobId,
    payload: item.payload,
    request_id: item.requestId,
    attempts: item.attempts,
    last_error: item.lastError,
    failed_at: item.failedAt.toISOString(),
    enqueued_at: item.enqueuedAt === null ? null : item.enqueuedAt.toISOString(),
  };
}

export function jobsRoutes(app: App, deps: { guards: Guards; deadLetters: DeadLetterService }): void {
  const { deadLetters } = deps;
  const common = { onRequest: deps.guards.requireAdmin };
  const meta = { tags: ['admin'], security: [{ bearer: [] }] };

  app.get(
    '/v1/admin/jobs/dead-letter',
    { ...common, schema: { ...meta, summary: 'List dead-lettered jobs (oldest first, keyset-paginated)', querystring: DeadLetterQuery, response: { 200: DeadLetterPage, ...problemResponses } } },
    async (request) => {
      const { limit, cursor, queue } = request.query;
      const page = await deadLetters.list({ limit: limit ?? 50, ...(cursor === undefined ? {} : { cursor }), ...(queue === undefined ? {} : { queue }) });
      return { items: page.items.map(deadLetterJson), next_cursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/admin/jobs/dead-letter/:id',
    { ...common, schema: { ...meta, summary: 'One dead-lettered job: payload, attempts, last error', params: DeadLetterParams, response: { 200: DeadLetterItem, ...problemResponses } } },
    async (request) => deadLetterJson(await deadLetters.get(request.params.id)),
  );

  app.post(
    '/v1/admin/jobs/dead-letter/:id/retry',
    { ...common, schema: { ...meta, summary: 'Re-drive a dead-lettered job into its queue', params: DeadLetterParams, response: { 202: RetryAccepted, ...problemResponses } } },
    async (request, reply) => {
      const item = await deadLetters.retry(request.params.id);
      void reply.code(202);
      return { id: item.id, queue: item.queue, status: 'requeued' as const };
    },
  );

  app.delete(
    '/v1/admin/jobs/dead-letter/:id',
    { ...common, schema: { ...meta, summary: 'Delete a dead-lettered job', params: DeadLetterParams, response: { 204: Type.Null(), ...problemResponses } } },
    async (request, reply) => {
      await deadLetters.remove(request.params.id);
      return reply.code(204).send(null);
    },
  );
}
