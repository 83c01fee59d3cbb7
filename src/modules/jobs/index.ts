// Jobs module (FAIL-021): the admin dead-letter API, the queue's metrics and its
// readiness check. The queue itself is platform (src/platform/jobs); modules define
// their jobs on it and enqueue through their transactions.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Queryable } from '../../platform/db/index.ts';
import type { Guards } from '../../platform/http/principal.ts';
import type { App } from '../../platform/http/types.ts';
import { DEAD_LETTER_QUEUE, type JobQueue } from '../../platform/jobs/index.ts';
import { createDeadLetterRepository } from './jobs.repository.ts';
import { jobsRoutes } from './jobs.routes.ts';
import { createDeadLetterService, type DeadLetterService } from './jobs.service.ts';

export function createDeadLetters(db: Queryable, jobs: JobQueue): DeadLetterService {
  return createDeadLetterService({ repo: createDeadLetterRepository(db, jobs.schema), jobs });
}

export function registerJobs(app: App, deps: { db: Queryable; jobs: JobQueue; guards: Guards; registry: Registry }): { deadLetters: DeadLetterService; check: () => Promise<void> } {
  const { jobs, registry } = deps;
  const deadLetters = createDeadLetters(deps.db, jobs);
  jobsRoutes(app, { guards: deps.guards, deadLetters });

  const failures = new Counter({ name: 'financehub_jobs_failures_total', help: 'job attempts that failed, by queue', labelNames: ['queue'] as const, registers: [registry] });
  const deadLettered = new Counter({
    name: 'financehub_jobs_dead_lettered_total',
    help: 'jobs moved to the dead-letter queue after their last attempt, by queue',
    labelNames: ['queue'] as const,
    registers: [registry],
  });
  const completed = new Counter({ name: 'financehub_jobs_completed_total', help: 'jobs completed, by queue', labelNames: ['queue'] as const, registers: [registry] });
  jobs.setEvents({
    failed: (queue) => failures.inc({ queue }),
    deadLettered: (queue) => deadLettered.inc({ queue }),
    completed: (queue) => completed.inc({ queue }),
  });
  new Gauge({
    name: 'financehub_jobs_queue_depth',
    help: 'jobs waiting (queued, not yet active), by queue',
    labelNames: ['queue'] as const,
    registers: [registry],
    async collect() {
      if (!jobs.started()) return;
      this.reset();
      for (const queue of await jobs.boss().getQueues(jobs.names())) this.set({ queue: queue.name }, queue.queuedCount);
    },
  });
  new Gauge({
    name: 'financehub_jobs_dead_letters',
    help: 'jobs in the dead-letter queue, by source queue',
    labelNames: ['queue'] as const,
    registers: [registry],
    async collect() {
      if (!jobs.started()) return;
      this.reset();
      for (const row of await deadLetters.countBySource()) this.set({ queue: row.source_name ?? 'unknown' }, row.count);
    },
  });

  const check = async (): Promise<void> => {
    if (!jobs.started()) throw new Error('job queue not started');
    if ((await jobs.boss().getQueue(DEAD_LETTER_QUEUE)) === null) throw new Error('dead-letter queue missing');
  };
  return { deadLetters, check };
}

export { createDeadLetterService, type DeadLetter, type DeadLetterService } from './jobs.service.ts';
export { deadLetterJson } from './jobs.routes.ts';
