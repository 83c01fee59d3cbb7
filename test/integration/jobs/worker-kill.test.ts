// FAIL-021: a worker process killed mid-job (SIGKILL, after its effect and before its
// completion) loses nothing: once the job's lock expires another worker runs it again,
// it completes, and its effect exists exactly once (idempotent by a natural key).
// Real child processes on a real database: a PGlite data directory (one process at a
// time, as PGlite allows) or, in the PostgreSQL pass, a schema of the shared server.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { usingPostgres } from '../../helpers/build-test-app.ts';
import { childEnv, ROOT, tempDir } from '../../helpers/processes.ts';

const CHILD = path.join(ROOT, 'test/helpers/job-worker-child.ts');

function startChild(env: Record<string, string>) {
  const child = spawn(process.execPath, [CHILD], { cwd: ROOT, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const waitForLine = async (pattern: RegExp, timeoutMs = 120_000): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = stdout.split('\n').find((l) => pattern.test(l));
      if (line !== undefined) return line;
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`child exited before ${pattern}:\n${stdout}\n${stderr}`);
      if (Date.now() > deadline) throw new Error(`no ${pattern} within ${timeoutMs} ms:\n${stdout}\n${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  return { child, exited, waitForLine, stdout: () => stdout };
}

describe('a worker killed mid-job', () => {
  const data = tempDir('financehub-jobs-kill-');
  const schema = `t_${randomBytes(6).toString('hex')}`;
  after(async () => {
    data.remove();
    if (usingPostgres) {
      const client = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    }
  });

  it('FAIL-021: a worker SIGKILLed between the effect and completion: the job runs again after its lock expires, completes, and its effect exists once', async () => {
    const env = {
      LOG_LEVEL: 'warn',
      JOBS_POLL_INTERVAL_MS: '500',
      JOBS_EXPIRE_SECONDS: '2',
      JOBS_SUPERVISE_INTERVAL_SECONDS: '1',
      ...(usingPostgres ? { DATABASE_URL: process.env.TEST_DATABASE_URL ?? '', DATABASE_POOL_MIN: '0', DATABASE_POOL_MAX: '3', CHILD_SCHEMA: schema } : { DATA_DIR: data.dir }),
    };
    const first = startChild({ ...env, CHILD_ENQUEUE: 'order-42', CHILD_HANG_AFTER_EFFECT: '1' });
    await first.waitForLine(/^EFFECT order-42$/);
    first.child.kill('SIGKILL');
    const killed = await first.exited;
    assert.equal(killed.signal, 'SIGKILL');
    assert.doesNotMatch(first.stdout(), /COMPLETED/, 'the first worker never completed the job');

    const second = startChild(env);
    const report = await second.waitForLine(/^REPORT /);
    await second.exited;
    assert.match(second.stdout(), /^RAN order-42 [2-9]$/m, 'the job ran again in the second worker, as a retry');
    const parsed = JSON.parse(report.slice('REPORT '.length)) as { effects: string[]; jobs: { state: string; retry_count: number }[] };
    assert.deepEqual(parsed.effects, ['order-42'], 'the effect exists exactly once');
    assert.equal(parsed.jobs.length, 1);
    assert.equal(parsed.jobs[0]?.state, 'completed');
    assert.ok((parsed.jobs[0]?.retry_count ?? 0) >= 1, 'completed on a retry');
  });
});
