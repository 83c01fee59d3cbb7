import { Type } from 'typebox';

const Limit = Type.Integer({ minimum: 1, maximum: 100, default: 50, description: 'page size' });
const Cursor = Type.String({ minLength: 1, maxLength: 512, pattern: '^[A-Za-z0-9_-]+$', description: 'next_cursor of the previous page' });
const QueueName = Type.String({ minLength: 1, maxLength: 100, pattern: '^[a-z0-9][a-z0-9._-]*$', description: 'source queue' });

export const DeadLetterQuery = Type.Object({ limit: Type.Optional(Limit), cursor: Type.Optional(Cursor), queue: Type.Optional(QueueName) }, { additionalProperties: false });

export const DeadLetterParams = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });

export const DeadLetterItem = Type.Object({
  id: Type.String({ format: 'uuid' }),
  queue: Type.Union([Type.String(), Type.Null()]),
  source_job_id: Type.Union([Type.String(), Type.Null()]),
  payload: Type.Unknown(),
  request_id: Type.Union([Type.String(), Type.Null()]),
  attempts: Type.Union([Type.Integer(), Type.Null()]),
  last_error: Type.Union([Type.String(), Type.Null()]),
  failed_at: Type.String({ format: 'date-time' }),
  enqueued_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

export const DeadLetterPage = Type.Object({ items: Type.Array(DeadLetterItem), next_cursor: Type.Union([Type.String(), Type.Null()]) });

export const RetryAccepted = Type.Object({ id: Type.String({ format: 'uuid' }), queue: Type.Union([Type.String(), Type.Null()]), status: Type.Literal('requeued') });
