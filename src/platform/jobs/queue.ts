// Durable background jobs (FAIL-021) on pg-boss, in the same database as the data:
// PGlite shares its one connection with pg-boss (its PGlite adapter), PostgreSQL shares
// the pool. A job caused by a change is enqueued through the change's own transaction,
// so a rolled-back change never runs its job. Failed jobs are retried with exponential
// backoff and jitter; a job whose worker died is retried once its lock expires; after
// the last attempt the job moves to the dead-letter queue with its payload, attempts
// and last error. Handlers must be idempotent (keyed by a natural key): a job can run
// again after a worker died between its effect and its completion.
import { fromPglite, PgBoss, type Db as BossDb, type Job } from 'pg-boss';
import type { Config } from '../../config.ts';
import { currentRequestId, runWithContext } from '../context.ts';
import type { Database, Queryable } from '../db/index.ts';
import type { Logger } from '../logger.ts';

/** Where every queue's exhausted jobs go; `source_name` says which queue they came from. */
export const DEAD_LETTER_QUEUE = 'dead-letter';

export type JobsConfig = Config['jobs'];

export interface JobContext {
  id: string;
  queue: string;
  /** 1 on the first run. */
  attempt: number;
  /** The request that caused the job (or `job-<id>` for scheduled work); in every log line of the job. */
  requestId: string;
  logger: Logger;
}

export interface JobDefinition<P extends object = object> {
  name: string;
  handler: (payload: P, context: JobContext) => Promise<void>;
  /**
   * `short`: at most one job per singleton key waits in the queue (another is accepted once
   * it runs). Set when the queue is created; pg-boss cannot change it later.
   */
  policy?: 'standard' | 'short';
  /** Overrides of the configured defaults for this queue. */
  retryLimit?: number;
  expireSeconds?: number;
  retryDelaySeconds?: number;
  /**
   * Cron schedule (UTC); run by one instance across all (pg-boss keeps the schedule in the
   * database, and files each occurrence under one singleton key). Without it, a worker
   * removes any stored schedule of the queue.
   */
  cron?: string;
}

export interface EnqueueOptions {
  /** The job's key: one waiting job per key on a `short` queue; a natural key for handlers otherwise. */
  singletonKey?: string;
  startAfterSeconds?: number;
}

/** What is stored as the job's data: the payload and the request that caused it (FAIL-020). */
interface Envelope {
  payload: object;
  request_id?: string;
}

/** Which parts of pg-boss this process runs. */
export type JobsRole =
  /** Enqueues only (`serve --no-worker`, CLI): no polling, no maintenance. */
  | 'producer'
  /** Works the queues, supervises expired jobs and runs schedules. */
  | 'worker';

export interface JobEvents {
  failed?: (queue: string) => void;
  deadLettered?: (queue: string) => void;
  completed?: (queue: string, seconds: number) => void;
}

export interface JobQueue {
  readonly schema: string;
  define: <P extends object>(definition: JobDefinition<P>) => void;
  /** Installs or migrates the queue schema and creates the defined queues; with 'worker', starts working them. */
  start: (role: JobsRole) => Promise<void>;
  /**
   * Enqueues `payload` on `queue`. With `tx` (the Queryable of `db.transaction`), the job is
   * written by that transaction: it exists if and only if the transaction commits.
   */
  enqueue: (tx: Queryable | undefined, queue: string, payload: object, options?: EnqueueOptions) => Promise<string | null>;
  /**
   * Enqueues several jobs on `queue` in one statement (the queue's retry, expiry and
   * dead-letter settings apply as with `enqueue`); with `tx`, as part of that transaction.
   */
  enqueueMany: (tx: Queryable | undefined, queue: string, jobs: { payload: object; singletonKey?: string }[]) => Promise<void>;
  /** pg-boss itself, for the dead-letter service and tests; not for modules. */
  readonly boss: () => PgBoss;
  names: () => string[];
  definitionOf: (name: string) => Required<Pick<JobDefinition, 'retryLimit' | 'expireSeconds' | 'retryDelaySeconds'>> | undefined;
  setEvents: (events: JobEvents) => void;
  started: () => boolean;
  stop: () => Promise<void>;
}

function unwrap(result: unknown): { rows: unknown[] } {
  if (Array.isArray(result)) {
    return { rows: (result as { rows?: unknown[] }[]).flatMap((r) => r.rows ?? []) };
  }
  return { rows: (result as { rows: unknown[] }).rows };
}

/** pg-boss on the database's own driver: the PGlite instance, or the PostgreSQL pool. */
function bossDb(db: Database): BossDb {
  if (db.native.kind === 'pglite') return fromPglite(db.native.pglite);
  const pool = db.native.pool;
  return {
    async executeSql(text: string, values?: unknown[]) {
      return unwrap(await pool.query(text, values));
    },
  };
}

/** pg-boss statements run through an application transaction (parameterised single statements). */
export function transactionDb(tx: Queryable): BossDb {
  return {
    async executeSql(text: string, values?: unknown[]) {
      if (values !== undefined && values.length > 0) return tx.query(text, values);
      await tx.exec(text);
      return { rows: [] };
    },
  };
}

/**
 * Starts pg-boss, installing its schema if it is missing. Instances starting together on a
 * fresh database race to install it: pg-boss serialises the install with an advisory lock
 * and takes an "already exists" error as a lost race, but PostgreSQL can report the same
 * lost race on CREATE SCHEMA as a unique violation of pg_namespace instead. The loser's
 * second start finds the schema the winner installed; any other failure is thrown.
 */
async function startInstalling(instance: PgBoss, logger: Logger): Promise<void> {
  try {
    await instance.start();
  } catch (err) {
    if (!lostSchemaRace(err)) throw err;
    logger.info({ event: 'jobs_install_race' }, 'another instance installed the job queue schema at the same time; starting again');
    await instance.start();
  }
}

function lostSchemaRace(err: unknown): boolean {
  const { code, constraint } = (err ?? {}) as { code?: unknown; constraint?: unknown };
  return code === '23505' && constraint === 'pg_namespace_nspname_index';
}

export function createJobQueue(deps: { db: Database; logger: Logger; config: JobsConfig; schema?: string }): JobQueue {
  const { db, logger, config } = deps;
  const schema = deps.schema ?? config.schema;
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid jobs schema ${schema}`);
  const definitions = new Map<string, JobDefinition>();
  let events: JobEvents = {};
  let boss: PgBoss | undefined;
  let role: JobsRole | undefined;
  let workersStarting: Promise<void> = Promise.resolve();

  const settings = (definition: JobDefinition) => ({
    retryLimit: definition.retryLimit ?? config.retryLimit,
    expireSeconds: definition.expireSeconds ?? config.expireSeconds,
    retryDelaySeconds: definition.retryDelaySeconds ?? config.retryDelaySeconds,
  });

  async function run(definition: JobDefinition, job: Job<Envelope>): Promise<void> {
    const envelope = job.data;
    const requestId = typeof envelope.request_id === 'string' ? envelope.request_id : `job-${job.id}`;
    const attempt = job.retryCount + 1;
    const limit = settings(definition).retryLimit;
    const log = logger.child({ requestId, jobId: job.id, queue: definition.name, attempt });
    const started = performance.now();
    await runWithContext({ requestId }, async () => {
      log.info({ event: 'job_started' }, 'job started');
      try {
        await definition.handler(envelope.payload, { id: job.id, queue: definition.name, attempt, requestId, logger: log });
      } catch (err) {
        events.failed?.(definition.name);
        if (attempt > limit) {
          events.deadLettered?.(definition.name);
          log.error({ err, event: 'job_dead_lettered', attempts: attempt }, 'job failed its last attempt; moved to the dead-letter queue');
        } else {
          log.warn({ err, event: 'job_failed', attempts: attempt, retry_limit: limit }, 'job failed; it will be retried');
        }
        throw err;
      }
      const seconds = (performance.now() - started) / 1000;
      events.completed?.(definition.name, seconds);
      log.info({ event: 'job_completed', durationMs: Math.round(seconds * 1000) }, 'job completed');
    });
  }

  return {
    schema,
    define(definition) {
      if (boss !== undefined) throw new Error('define jobs before the queue starts');
      if (definitions.has(definition.name)) throw new Error(`job ${definition.name} defined twice`);
      definitions.set(definition.name, definition as unknown as JobDefinition);
    },
    async start(wanted) {
      if (boss !== undefined) return;
      role = wanted;
      const worker = wanted === 'worker';
      const instance = new PgBoss({
        db: bossDb(db),
        backend: db.kind === 'pglite' ? 'pglite' : 'postgres',
        schema,
        supervise: worker,
        schedule: worker,
        superviseIntervalSeconds: config.superviseIntervalSeconds,
        monitorIntervalSeconds: config.superviseIntervalSeconds,
        cronMonitorIntervalSeconds: config.cronMonitorSeconds,
        cronWorkerIntervalSeconds: config.cronMonitorSeconds,
        persistWarnings: false,
      });
      instance.on('error', (err: unknown) => logger.error({ err, event: 'jobs_error' }, 'job queue error'));
      instance.on('warning', (warning: unknown) => logger.warn({ event: 'jobs_warning', warning }, 'job queue warning'));
      await startInstalling(instance, logger);
      boss = instance;
      await instance.createQueue(DEAD_LETTER_QUEUE, { retentionSeconds: config.deadLetterRetentionDays * 86_400, retryLimit: 0 });
      for (const definition of definitions.values()) {
        const s = settings(definition);
        const options = {
          retryLimit: s.retryLimit,
          retryDelay: s.retryDelaySeconds,
          retryBackoff: true,
          retryDelayMax: config.retryDelayMaxSeconds,
          expireInSeconds: s.expireSeconds,
          deadLetter: DEAD_LETTER_QUEUE,
        };
        if ((await instance.getQueue(definition.name)) === null) await instance.createQueue(definition.name, { ...options, policy: definition.policy ?? 'standard' });
        else await instance.updateQueue(definition.name, options);
      }
      if (!worker) return;
      // Workers and schedules start in the background: enqueueing works as soon as the
      // queues exist, and serving need not wait for the pollers (start-up stays short).
      workersStarting = (async () => {
        for (const definition of definitions.values()) {
          await instance.work<Envelope>(
            definition.name,
            { pollingIntervalSeconds: config.pollIntervalMs / 1000, batchSize: 1, localConcurrency: config.concurrency },
            async (jobs) => {
              for (const job of jobs) await run(definition, job);
            },
          );
          // A queue defined without a cron loses any schedule an earlier start stored for it
          // (schedules switched off, or a changed configuration).
          if (definition.cron !== undefined) await instance.schedule(definition.name, definition.cron, { payload: {} }, { tz: 'UTC' });
          else await instance.unschedule(definition.name);
        }
        logger.info({ event: 'jobs_worker_started', queues: [...definitions.keys()] }, 'job worker started');
      })().catch((err: unknown) => logger.error({ err, event: 'jobs_worker_failed' }, 'the job worker could not start'));
    },
    async enqueue(tx, queue, payload, options = {}) {
      if (boss === undefined) throw new Error('the job queue has not started');
      if (!definitions.has(queue)) throw new Error(`unknown job queue ${queue}`);
      const requestId = currentRequestId();
      const data: Envelope = { payload, ...(requestId === undefined ? {} : { request_id: requestId }) };
      return boss.send(queue, data, {
        ...(tx === undefined ? {} : { db: transactionDb(tx) }),
        ...(options.singletonKey === undefined ? {} : { singletonKey: options.singletonKey }),
        ...(options.startAfterSeconds === undefined ? {} : { startAfter: options.startAfterSeconds }),
      });
    },
    async enqueueMany(tx, queue, list) {
      if (boss === undefined) throw new Error('the job queue has not started');
      if (!definitions.has(queue)) throw new Error(`unknown job queue ${queue}`);
      if (list.length === 0) return;
      const requestId = currentRequestId();
      await boss.insert(
        queue,
        list.map((job) => ({
          data: { payload: job.payload, ...(requestId === undefined ? {} : { request_id: requestId }) } satisfies Envelope,
          ...(job.singletonKey === undefined ? {} : { singletonKey: job.singletonKey }),
        })),
        tx === undefined ? {} : { db: transactionDb(tx) },
      );
    },
    boss() {
      if (boss === undefined) throw new Error('the job queue has not started');
      return boss;
    },
    names: () => [...definitions.keys()],
    definitionOf(name) {
      const definition = definitions.get(name);
      return definition === undefined ? undefined : settings(definition);
    },
    setEvents(next) {
      events = next;
    },
    started: () => boss !== undefined && role !== undefined,
    async stop() {
      const instance = boss;
      boss = undefined;
      if (instance === undefined) return;
      await workersStarting;
      // Waits for running handlers (bounded), and never closes the shared database.
      await instance.stop({ graceful: true, timeout: 10_000, close: false });
    },
  };
}
