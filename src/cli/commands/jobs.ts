import { loadConfig } from '../../config.ts';
import { createLogger } from '../../platform/logger.ts';
import { createDeadLetters, type DeadLetter, type DeadLetterService } from '../../modules/jobs/index.ts';
import type { Command, Io } from '../command.ts';
import { withRuntime } from '../runtime.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function line(item: DeadLetter): string {
  return [item.id, item.queue ?? '-', `attempts=${item.attempts ?? '-'}`, item.failedAt.toISOString(), item.lastError ?? ''].join('\t');
}

/** Opens the runtime, starts the queue as a producer (no polling) and runs `fn` on the dead letters. */
async function withDeadLetters(io: Io, fn: (deadLetters: DeadLetterService) => Promise<number>): Promise<number> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  return withRuntime(config, logger, io, async (runtime) => {
    await runtime.jobs.start('producer');
    return fn(createDeadLetters(runtime.db, runtime.jobs));
  });
}

function requireId(positionals: string[], io: Io, verb: string): string | undefined {
  const id = positionals[0];
  if (id === undefined || !UUID.test(id) || positionals.length > 1) {
    io.err(`financehub jobs dlq ${verb}: give one dead-letter id (a UUID from \`financehub jobs dlq list\`)`);
    return undefined;
  }
  return id;
}

const notFoundText = (io: Io, id: string) => {
  io.err(`no dead letter ${id}`);
  return 1;
};

const isNotFound = (err: unknown) => typeof err === 'object' && err !== null && (err as { status?: unknown }).status === 404;

export const jobsDlqListCommand: Command = {
  words: ['jobs', 'dlq', 'list'],
  summary: 'list dead-lettered jobs (id, queue, attempts, failed at, last error)',
  options: { queue: { type: 'string' }, limit: { type: 'string' } },
  usage: `financehub jobs dlq list [--queue NAME] [--limit N]

Prints one dead letter a line, oldest first, tab-separated: id, source queue, attempts,
time it failed its last attempt, last error message. --limit defaults to 100.`,
  async run({ values, io }) {
    const limit = values.limit === undefined ? 100 : Number(values.limit);
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 100) {
      io.err('financehub jobs dlq list: --limit must be a whole number from 1 to 100');
      return 1;
    }
    const queue = typeof values.queue === 'string' ? values.queue : undefined;
    return withDeadLetters(io, async (deadLetters) => {
      const page = await deadLetters.list({ limit, ...(queue === undefined ? {} : { queue }) });
      for (const item of page.items) io.out(line(item));
      if (page.nextCursor !== null) io.err(`more than ${limit}; use --limit or the admin API to page on`);
      return 0;
    });
  },
};

export const jobsDlqShowCommand: Command = {
  words: ['jobs', 'dlq', 'show'],
  summary: 'print one dead-lettered job as JSON (payload, attempts, last error)',
  allowPositionals: true,
  usage: `financehub jobs dlq show <id>`,
  async run({ positionals, io }) {
    const id = requireId(positionals, io, 'show');
    if (id === undefined) return 1;
    return withDeadLetters(io, async (deadLetters) => {
      try {
        const item = await deadLetters.get(id);
        io.out(JSON.stringify({ ...item, failedAt: item.failedAt.toISOString(), enqueuedAt: item.enqueuedAt?.toISOString() ?? null }, null, 2));
        return 0;
      } catch (err) {
        if (isNotFound(err)) return notFoundText(io, id);
        throw err;
      }
    });
  },
};

export const jobsDlqRetryCommand: Command = {
  words: ['jobs', 'dlq', 'retry'],
  summary: 'move a dead-lettered job back to its queue with a fresh set of attempts',
  allowPositionals: true,
  usage: `financehub jobs dlq retry <id>`,
  async run({ positionals, io }) {
    const id = requireId(positionals, io, 'retry');
    if (id === undefined) return 1;
    return withDeadLetters(io, async (deadLetters) => {
      try {
        const item = await deadLetters.retry(id);
        io.out(`requeued ${id} on ${item.queue ?? '?'}`);
        return 0;
      } catch (err) {
        if (isNotFound(err)) return notFoundText(io, id);
        throw err;
      }
    });
  },
};

export const jobsDlqPurgeCommand: Command = {
  words: ['jobs', 'dlq', 'purge'],
  summary: 'delete every dead-lettered job (of one queue with --queue)',
  options: { queue: { type: 'string' }, yes: { type: 'boolean' } },
  usage: `financehub jobs dlq purge --yes [--queue NAME]

Deletes the dead letters for good; --yes is required.`,
  async run({ values, io }) {
    if (values.yes !== true) {
      io.err('financehub jobs dlq purge: this deletes dead letters for good; pass --yes');
      return 1;
    }
    const queue = typeof values.queue === 'string' ? values.queue : undefined;
    return withDeadLetters(io, async (deadLetters) => {
      const deleted = await deadLetters.purge(queue);
      io.out(`deleted ${deleted} dead letter(s)`);
      return 0;
    });
  },
};
