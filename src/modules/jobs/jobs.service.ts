// The dead-letter queue for admins (FAIL-021): list (keyset pages, filter by source
// queue), inspect, re-drive into the source queue (a fresh set of attempts) and delete.
import { notFound } from '../../platform/errors.ts';
import { DEAD_LETTER_QUEUE, type JobQueue } from '../../platform/jobs/index.ts';
import { decodeTimeCursor, encodeTimeCursor, isUuid } from '../../platform/http/cursor.ts';
import type { DeadLetterRepository, DeadLetterRow } from './jobs.repository.ts';

export interface DeadLetter {
  id: string;
  queue: string | null;
  sourceJobId: string | null;
  payload: unknown;
  requestId: string | null;
  attempts: number | null;
  lastError: string | null;
  failedAt: Date;
  enqueuedAt: Date | null;
}

const MAX_ERROR_CHARS = 2000;

/** pg-boss 12 declares its command response as an empty interface; it carries `affected` (a count). */
const affected = (response: object): number => {
  const value = (response as { affected?: unknown }).affected;
  return typeof value === 'number' ? value : 0;
};

/** The message of the error the last attempt threw (pg-boss stores the serialised error); never its stack. */
function lastErrorOf(output: unknown): string | null {
  if (typeof output !== 'object' || output === null) return null;
  const message = (output as { message?: unknown }).message;
  if (typeof message !== 'string') return null;
  return message.length > MAX_ERROR_CHARS ? `${message.slice(0, MAX_ERROR_CHARS)}…` : message;
}

function toDeadLetter(row: DeadLetterRow): DeadLetter {
  const data = row.data ?? {};
  return {
    id: row.id,
    queue: row.source_name,
    sourceJobId: row.source_id,
    payload: data.payload ?? null,
    requestId: typeof data.request_id === 'string' ? data.request_id : null,
    attempts: row.source_retry_count === null ? null : row.source_retry_count + 1,
    lastError: lastErrorOf(row.source_output),
    failedAt: row.created_on,
    enqueuedAt: row.source_created_on,
  };
}

export function createDeadLetterService(deps: { repo: DeadLetterRepository; jobs: Pick<JobQueue, 'boss'> }) {
  const { repo, jobs } = deps;
  const find = async (id: string): Promise<DeadLetterRow> => {
    const row = isUuid(id) ? await repo.get(id) : undefined;
    if (row === undefined) throw notFound('Dead letter');
    return row;
  };
  return {
    async list(options: { limit: number; queue?: string; cursor?: string }): Promise<{ items: DeadLetter[]; nextCursor: string | null }> {
      const after = options.cursor === undefined ? undefined : decodeTimeCursor(options.cursor, 'dead-letters');
      const rows = await repo.list({
        limit: options.limit + 1,
        ...(options.queue === undefined ? {} : { queue: options.queue }),
        ...(after === undefined ? {} : { after }),
      });
      const page = rows.slice(0, options.limit);
      const last = page.at(-1);
      const nextCursor = rows.length > options.limit && last !== undefined ? encodeTimeCursor('dead-letters', last.created_on, last.id) : null;
      return { items: page.map(toDeadLetter), nextCursor };
    },
    async get(id: string): Promise<DeadLetter> {
      return toDeadLetter(await find(id));
    },
    /** Moves the job back to its source queue with a fresh set of attempts. */
    async retry(id: string): Promise<DeadLetter> {
      const row = await find(id);
      const moved = await jobs.boss().redrive(DEAD_LETTER_QUEUE, { ids: [row.id], limit: 1 });
      if (moved === 0) throw notFound('Dead letter');
      return toDeadLetter(row);
    },
    async remove(id: string): Promise<void> {
      const row = await find(id);
      if (affected(await jobs.boss().deleteJob(DEAD_LETTER_QUEUE, row.id)) === 0) throw notFound('Dead letter');
    },
    /** Deletes every dead letter (of one source queue); returns how many. */
    async purge(queue?: string): Promise<number> {
      const ids = await repo.ids(queue);
      let deleted = 0;
      for (let i = 0; i < ids.length; i += 500) {
        deleted += affected(await jobs.boss().deleteJob(DEAD_LETTER_QUEUE, ids.slice(i, i + 500)));
      }
      return deleted;
    },
    countBySource: () => repo.countBySource(),
  };
}

export type DeadLetterService = ReturnType<typeof createDeadLetterService>;
