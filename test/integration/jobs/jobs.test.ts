// Durable jobs (FAIL-021) on the real app and database: a failing job retries with
// backoff, lands in the dead-letter queue with payload, attempts and last error, and a
// retry from there completes it once the cause is fixed; a job enqueued in a rolled-back
// transaction never runs; the request id travels into the job's payload and every log
// line of the job; the dead-letter admin API is admin-only.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Type } from 'typebox';
import { createUser, type CreatedUser } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';
import { waitFor } from '../../helpers/wait.ts';

interface DeadLetterJson {
  id: string;
  queue: string | null;
  source_job_id: string | null;
  payload: { key?: string } | null;
  request_id: string | null;
  attempts: number | null;
  last_error: string | null;
  failed_at: string;
}

const RETRY_LIMIT = 2;

describe('durable jobs and the dead-letter queue', () => {
  let t: TestApp;
  let admin: CreatedUser;
  let user: CreatedUser;
  let broken = true;
  const runs: { key: string; attempt: number }[] = [];

  const effect = async (key: string) => (await t.db.query<{ key: string; request_id: string | null }>('SELECT key, request_id FROM test_job_effects WHERE key = $1', [key])).rows[0];
  const deadLetters = async (query = '') => {
    const res = await t.app.inject({ method: 'GET', url: `/v1/admin/jobs/dead-letter${query}`, headers: admin.headers });
    assert.equal(res.statusCode, 200, res.body);
    return res.json<{ items: DeadLetterJson[]; next_cursor: string | null }>();
  };

  before(async () => {
    t = await buildTestApp({
      worker: true,
      env: { JOBS_POLL_INTERVAL_MS: '500', JOBS_RETRY_DELAY_SECONDS: '1', JOBS_RETRY_DELAY_MAX_SECONDS: '2', JOBS_SUPERVISE_INTERVAL_SECONDS: '1' },
      async beforeReady(app, { db, jobs }) {
        await db.exec('CREATE TABLE test_job_effects (key text PRIMARY KEY, request_id text)');
        // Fails while `broken`; otherwise writes its effect once per natural key.
        jobs.define<{ key: string }>({
          name: 'test.flaky',
          retryLimit: RETRY_LIMIT,
          async handler(payload, context) {
            runs.push({ key: payload.key, attempt: context.attempt });
            context.logger.info({ event: 'test_job_ran', key: payload.key }, 'test job ran');
            if (broken) throw new Error(`upstream refused ${payload.key}`);
            await db.query('INSERT INTO test_job_effects (key, request_id) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [payload.key, context.requestId]);
          },
        });
        // A route that changes data and enqueues its job in the same transaction, then fails when asked.
        app.post(
          '/test/change',
          { schema: { body: Type.Object({ key: Type.String(), fail: Type.Boolean() }) } },
          async (request) => {
            const { key, fail } = request.body;
            try {
              await db.transaction(async (tx) => {
                await tx.query('INSERT INTO test_job_effects (key) VALUES ($1)', [`change:${key}`]);
                await jobs.enqueue(tx, 'test.flaky', { key });
                if (fail) throw new Error('rolled back on purpose');
              });
            } catch {
              return { committed: false };
            }
            return { committed: true };
          },
        );
      },
    });
    admin = await createUser(t, { role: 'admin' });
    user = await createUser(t);
  });
  after(() => t.close());

  it('FAIL-021: a job that always fails is retried, then dead-lettered with payload, attempts and error; a retry after the fix completes it', async () => {
    broken = true;
    const res = await t.app.inject({ method: 'POST', url: '/test/change', payload: { key: 'dlq-1', fail: false }, headers: { 'x-request-id': 'ignored-untrusted' } });
    assert.equal(res.statusCode, 200);
    const requestId = res.headers['x-request-id'];
    assert.equal(typeof requestId, 'string');

    const dead = await waitFor('the job in the dead-letter queue', async () => (await deadLetters('?queue=test.flaky')).items.find((d) => d.payload?.key === 'dlq-1'));
    assert.equal(dead.queue, 'test.flaky');
    assert.deepEqual(dead.payload, { key: 'dlq-1' });
    assert.equal(dead.attempts, RETRY_LIMIT + 1);
    assert.equal(dead.last_error, 'upstream refused dlq-1');
    assert.equal(dead.request_id, requestId);
    assert.deepEqual(
      runs.filter((r) => r.key === 'dlq-1').map((r) => r.attempt),
      [1, 2, 3],
      'one run per attempt, no more',
    );
    assert.equal(await effect('dlq-1'), undefined, 'no effect while broken');

    const one = await t.app.inject({ method: 'GET', url: `/v1/admin/jobs/dead-letter/${dead.id}`, headers: admin.headers });
    assert.equal(one.statusCode, 200);
    assert.equal(one.json<DeadLetterJson>().last_error, 'upstream refused dlq-1');
    assert.doesNotMatch(one.body, /at .*\.ts:\d+/, 'no stack trace in the API');

    // Backoff: the retries waited (retry delay 1 s, exponential with jitter).
    const attempts = t.logs.lines.filter((l) => l.event === 'job_started' && l.jobId === dead.source_job_id);
    assert.equal(attempts.length, 3);

    broken = false;
    const retry = await t.app.inject({ method: 'POST', url: `/v1/admin/jobs/dead-letter/${dead.id}/retry`, headers: admin.headers });
    assert.equal(retry.statusCode, 202, retry.body);
    assert.equal(retry.json<{ status: string }>().status, 'requeued');
    const done = await waitFor('the retried job to complete', async () => await effect('dlq-1'));
    assert.equal(done.request_id, requestId, 'the request id survives the dead-letter round trip');
    assert.equal((await deadLetters('?queue=test.flaky')).items.some((d) => d.id === dead.id), false, 'gone from the dead-letter queue');
    const again = await t.app.inject({ method: 'POST', url: `/v1/admin/jobs/dead-letter/${dead.id}/retry`, headers: admin.headers });
    assert.equal(again.statusCode, 404);
  });

  it('FAIL-021: the request id that caused a job is in every log line of the job', () => {
    const jobLines = t.logs.lines.filter((l) => typeof l.jobId === 'string' && (l.event === 'job_started' || l.event === 'test_job_ran' || l.event === 'job_failed' || l.event === 'job_completed' || l.event === 'job_dead_lettered'));
    assert.ok(jobLines.length >= 5);
    const dlqRun = t.logs.lines.find((l) => l.event === 'test_job_ran' && l.key === 'dlq-1');
    assert.ok(dlqRun?.requestId !== undefined);
    for (const line of jobLines.filter((l) => l.key === 'dlq-1' || l.jobId === dlqRun.jobId)) {
      assert.equal(line.requestId, dlqRun.requestId, `${line.event} carries the request id`);
    }
  });

  it('FAIL-021: a job enqueued in a transaction that rolls back never runs; one that commits does', async () => {
    broken = false;
    const rolledBack = await t.app.inject({ method: 'POST', url: '/test/change', payload: { key: 'rb-1', fail: true } });
    assert.deepEqual(rolledBack.json(), { committed: false });
    const committed = await t.app.inject({ method: 'POST', url: '/test/change', payload: { key: 'ok-1', fail: false } });
    assert.deepEqual(committed.json(), { committed: true });
    await waitFor('the committed job', async () => await effect('ok-1'));
    // The committed job ran; give the rolled-back one a few polling rounds to prove it does not exist.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.equal(await effect('change:rb-1'), undefined, 'the change rolled back');
    assert.equal(await effect('rb-1'), undefined, 'its job never ran');
    assert.equal(runs.some((r) => r.key === 'rb-1'), false);
    const stored = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t.jobs.schema}.job WHERE data->'payload'->>'key' = 'rb-1'`);
    assert.equal(stored.rows[0]?.n, 0, 'no job row exists');
  });

  it('FAIL-021: dead letters can be deleted; the admin API is admin-only and validates ids', async () => {
    broken = true;
    await t.app.inject({ method: 'POST', url: '/test/change', payload: { key: 'del-1', fail: false } });
    const dead = await waitFor('dead letter del-1', async () => (await deadLetters()).items.find((d) => d.payload?.key === 'del-1'));
    for (const [method, url] of [
      ['GET', '/v1/admin/jobs/dead-letter'],
      ['GET', `/v1/admin/jobs/dead-letter/${dead.id}`],
      ['POST', `/v1/admin/jobs/dead-letter/${dead.id}/retry`],
      ['DELETE', `/v1/admin/jobs/dead-letter/${dead.id}`],
    ] as const) {
      assert.equal((await t.app.inject({ method, url })).statusCode, 401, `${method} ${url} anonymous`);
      assert.equal((await t.app.inject({ method, url, headers: user.headers })).statusCode, 403, `${method} ${url} as a user`);
    }
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/admin/jobs/dead-letter/not-a-uuid', headers: admin.headers })).statusCode, 400);
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/admin/jobs/dead-letter?cursor=bad!', headers: admin.headers })).statusCode, 400);
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/admin/jobs/dead-letter?cursor=eyJ4IjoxfQ', headers: admin.headers })).statusCode, 400);
    const del = await t.app.inject({ method: 'DELETE', url: `/v1/admin/jobs/dead-letter/${dead.id}`, headers: admin.headers });
    assert.equal(del.statusCode, 204);
    assert.equal((await t.app.inject({ method: 'GET', url: `/v1/admin/jobs/dead-letter/${dead.id}`, headers: admin.headers })).statusCode, 404);
    broken = false;
  });

  it('FAIL-021: dead letters page with a cursor and filter by queue; metrics and readiness report the queue', async () => {
    broken = true;
    for (const key of ['pg-1', 'pg-2', 'pg-3']) await t.app.inject({ method: 'POST', url: '/test/change', payload: { key, fail: false } });
    await waitFor('three dead letters', async () => ((await deadLetters('?queue=test.flaky')).items.filter((d) => d.payload?.key?.startsWith('pg-') === true).length === 3 ? true : undefined));
    broken = false;
    const first = await deadLetters('?queue=test.flaky&limit=2');
    assert.equal(first.items.length, 2);
    assert.ok(first.next_cursor !== null);
    const second = await deadLetters(`?queue=test.flaky&limit=2&cursor=${first.next_cursor}`);
    const ids = [...first.items, ...second.items].map((d) => d.id);
    assert.equal(new Set(ids).size, ids.length, 'no row twice');
    assert.equal((await deadLetters('?queue=other.queue')).items.length, 0);

    const metrics = await t.app.inject({ method: 'GET', url: '/metrics', headers: admin.headers });
    assert.equal(metrics.statusCode, 200, metrics.body.slice(0, 200));
    assert.match(metrics.body, /financehub_jobs_dead_letters\{queue="test.flaky"\} [1-9]/);
    assert.match(metrics.body, /financehub_jobs_failures_total\{queue="test.flaky"\} [1-9]/);
    assert.match(metrics.body, /financehub_jobs_dead_lettered_total\{queue="test.flaky"\} [1-9]/);
    assert.match(metrics.body, /financehub_jobs_queue_depth\{queue="test.flaky"\} \d+/);
    const ready = await t.app.inject({ method: 'GET', url: '/health/ready?details=true', headers: admin.headers });
    assert.match(ready.body, /"name":"jobs","status":"ok"/);
  });
});
