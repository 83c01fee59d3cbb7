// Instances started together on a database whose job-queue schema does not exist yet
// (a fresh deployment scaled to three replicas) race to install it. Every one of them
// must start: the losers find the schema the winner installed. PostgreSQL only: PGlite
// has one process and runs one transaction at a time.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { loadConfig } from '../../../src/config.ts';
import { openDatabase, type Database } from '../../../src/platform/db/index.ts';
import { createJobQueue } from '../../../src/platform/jobs/index.ts';
import { createLogger } from '../../../src/platform/logger.ts';
import { testEnv, usingPostgres } from '../../helpers/build-test-app.ts';

const INSTANCES = 3;
const ROUNDS = 6;

const skip = usingPostgres ? false : 'needs TEST_DATABASE_URL (concurrent installs race only on PostgreSQL)';

describe('job queue installation by instances starting together', () => {
  it(`${INSTANCES} instances starting at once on a fresh queue schema all start, ${ROUNDS} rounds`, { skip }, async () => {
    const config = loadConfig(testEnv());
    const logger = createLogger('silent');
    const databases: Database[] = [];
    for (let i = 0; i < INSTANCES; i += 1) databases.push(await openDatabase(config, logger));
    try {
      for (let round = 0; round < ROUNDS; round += 1) {
        const schema = `jr_${randomBytes(5).toString('hex')}`;
        const queues = databases.map((db) => {
          const jobs = createJobQueue({ db, logger, config: config.jobs, schema });
          jobs.define({ name: 'test.noop', handler: () => Promise.resolve() });
          return jobs;
        });
        try {
          const outcomes = await Promise.allSettled(queues.map((jobs) => jobs.start('producer')));
          const failures = outcomes.flatMap((o) => (o.status === 'rejected' ? [String((o.reason as Error).message)] : []));
          assert.deepEqual(failures, [], `round ${round}: instances that failed to start`);
          const { rows } = await databases[0]!.query<{ name: string }>(`SELECT name FROM ${schema}.queue WHERE name = 'test.noop'`);
          assert.equal(rows.length, 1);
        } finally {
          await Promise.allSettled(queues.map((jobs) => jobs.stop()));
          await databases[0]!.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        }
      }
    } finally {
      await Promise.all(databases.map((db) => db.close()));
    }
  });
});
