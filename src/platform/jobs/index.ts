export {
  createJobQueue,
  transactionDb,
  DEAD_LETTER_QUEUE,
  type EnqueueOptions,
  type JobContext,
  type JobDefinition,
  type JobEvents,
  type JobQueue,
  type JobsConfig,
  type JobsRole,
} from './queue.ts';
