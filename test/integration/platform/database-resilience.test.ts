// The process survives the database (FAIL-023, S-015): a backend terminated inside a
// transaction fails only that request (503 problem JSON) and the pool heals; a paused
// database (a TCP proxy that stops forwarding, the shared server is never stopped)
// cannot hang a request past the statement timeout plus a margin; a pool with no free
// connection answers 503 with Retry-After instead of 500. PostgreSQL only: PGlite runs
// in process and has none of these failure modes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { loadConfig } from '../../../src/config.ts';
import { openDatabase } from '../../../src/platform/db/index.ts';
import { QUERY_TIMEOUT_MARGIN_MS } from '../../../src/platform/db/postgres.ts';
import { AppError } from '../../../src/platform/errors.ts';
import { createLogger } from '../../../src/platform/logger.ts';
import { createUser } from '../../helpers/auth.ts';
import { buildTestApp, testEnv, usingPostgres, type TestApp } from '../../helpers/build-test-app.ts';
import { LogCapture } from '../../helpers/logs.ts';
import { startTcpProxy, throughProxy, type TcpProxy } from '../../helpers/tcp-proxy.ts';

const skip = usingPostgres ? false : 'needs TEST_DATABASE_URL (PostgreSQL): PGlite has no connections to lose';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function isUnavailable(err: unknown): boolean {
  return err instanceof AppError && err.status === 503 && err.code === 'database_unavailable' && err.headers['retry-after'] !== undefined;
}

describe('the process survives the database (PostgreSQL)', () => {
  let admin: pg.Client;
  before(async () => {
    if (skip !== false) return;
    admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
    await admin.connect();
  });
  after(async () => {
    if (skip !== false) return;
    await admin.end();
  });

  it('FAIL-023: a backend terminated inside db.transaction() fails that transaction with 503; no uncaught error, the pool heals', { skip }, async () => {
    const logs = new LogCapture();
    const config = loadConfig(testEnv({ DATABASE_POOL_MIN: '0', DATABASE_POOL_MAX: '2' }));
    const db = await openDatabase(config, createLogger('info', logs));
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      let pid = 0;
      const outcome = db
        .transaction(async (tx) => {
          pid = (await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid ?? 0;
          // Idle in transaction: the termination arrives between statements, as an 'error'
          // event on the checked-out client, which is what used to crash the process.
          await sleep(800);
          await tx.query('SELECT 1');
          return 'committed';
        })
        .then(
          (value) => ({ value }),
          (err: unknown) => ({ err }),
        );
      while (pid === 0) await sleep(20);
      const terminated = await admin.query<{ ok: boolean }>('SELECT pg_terminate_backend($1) AS ok', [pid]);
      assert.equal(terminated.rows[0]?.ok, true);
      const result = await outcome;
      assert.ok('err' in result, 'the transaction failed');
      assert.ok(isUnavailable(result.err), String(result.err));
      assert.deepEqual(uncaught, [], 'no uncaught exception');
      assert.ok(logs.lines.some((l) => l.event === 'db_client_error'), 'the lost connection was logged');
      const { rows } = await db.query<{ ok: number }>('SELECT 1 AS ok');
      assert.deepEqual(rows, [{ ok: 1 }], 'the pool serves again');
      const again = await db.transaction(async (tx) => (await tx.query<{ ok: number }>('SELECT 2 AS ok')).rows[0]?.ok);
      assert.equal(again, 2, 'transactions work again');
    } finally {
      process.off('uncaughtException', onUncaught);
      await db.close();
    }
  });

  it('FAIL-023: a backend terminated during a statement in a transaction: 503, and the work is rolled back', { skip }, async () => {
    const config = loadConfig(testEnv({ DATABASE_POOL_MIN: '0', DATABASE_POOL_MAX: '2' }));
    const db = await openDatabase(config, createLogger('silent'));
    const table = `fault_${Date.now()}`;
    await db.exec(`CREATE TABLE ${table} (n int)`);
    try {
      let pid = 0;
      const outcome = db
        .transaction(async (tx) => {
          pid = (await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid ?? 0;
          await tx.query(`INSERT INTO ${table} VALUES (1)`);
          await tx.query('SELECT pg_sleep(5)');
        })
        .then(
          () => undefined,
          (err: unknown) => err,
        );
      while (pid === 0) await sleep(20);
      await sleep(200);
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      const err = await outcome;
      assert.ok(isUnavailable(err), String(err));
      const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int8 AS n FROM ${table}`);
      assert.deepEqual(rows, [{ n: 0 }], 'nothing of the failed transaction was kept');
    } finally {
      await db.exec(`DROP TABLE IF EXISTS ${table}`);
      await db.close();
    }
  });

  describe('a paused database (TCP proxy)', () => {
    let proxy: TcpProxy;
    before(async () => {
      if (skip !== false) return;
      proxy = await startTcpProxy({ host: new URL(process.env.TEST_DATABASE_URL ?? '').hostname, port: Number(new URL(process.env.TEST_DATABASE_URL ?? '').port || 5432) });
    });
    after(async () => {
      if (skip !== false) return;
      await proxy.close();
    });

    it('S-015: a query to a paused database fails after the statement timeout plus the client margin (503), not when the database wakes', { skip }, async () => {
      const statementMs = 500;
      const config = loadConfig(
        testEnv({ DATABASE_URL: throughProxy(process.env.TEST_DATABASE_URL ?? '', proxy), DATABASE_STATEMENT_TIMEOUT_MS: String(statementMs), DATABASE_CONNECT_TIMEOUT_MS: '1000', DATABASE_POOL_MIN: '0', DATABASE_POOL_MAX: '2' }),
      );
      const db = await openDatabase(config, createLogger('silent'));
      try {
        await db.query('SELECT 1');
        proxy.pause();
        const started = performance.now();
        const [plain, inTx] = await Promise.all([
          db.query('SELECT 1').then(
            () => undefined,
            (err: unknown) => err,
          ),
          db.transaction((tx) => tx.query('SELECT 2')).then(
            () => undefined,
            (err: unknown) => err,
          ),
        ]);
        const elapsed = performance.now() - started;
        assert.ok(isUnavailable(plain), String(plain));
        assert.ok(isUnavailable(inTx), String(inTx));
        // The bound is statement + margin (1.5 s) per query; the transaction's BEGIN is its
        // first. Generous slack for a noisy machine, far below "until the database wakes".
        assert.ok(elapsed >= statementMs + QUERY_TIMEOUT_MARGIN_MS - 50, `failed after ${Math.round(elapsed)} ms`);
        assert.ok(elapsed < 6000, `failed after ${Math.round(elapsed)} ms`);
        proxy.resume();
        const { rows } = await db.query<{ ok: number }>('SELECT 1 AS ok');
        assert.deepEqual(rows, [{ ok: 1 }], 'served again once the database answers');
      } finally {
        proxy.resume();
        await db.close();
      }
    });
  });

  it('S-015: a request waiting for a pool connection longer than DATABASE_CONNECT_TIMEOUT_MS gets 503 problem JSON with Retry-After, not 500', { skip }, async () => {
    let t: TestApp | undefined;
    try {
      t = await buildTestApp({ env: { DATABASE_POOL_MIN: '0', DATABASE_POOL_MAX: '1', DATABASE_CONNECT_TIMEOUT_MS: '300' } });
      const user = await createUser(t);
      let release: () => void = () => undefined;
      const held = new Promise<void>((resolve) => (release = resolve));
      let holding: () => void = () => undefined;
      const isHolding = new Promise<void>((resolve) => (holding = resolve));
      const hold = t.db.transaction(async () => {
        holding();
        await held;
      });
      await isHolding;
      const res = await t.app.inject({ method: 'GET', url: '/v1/portfolios', headers: user.headers });
      release();
      await hold;
      assert.equal(res.statusCode, 503, res.body);
      assert.match(String(res.headers['content-type']), /application\/problem\+json/);
      assert.equal(res.headers['retry-after'], '5');
      const body = res.json<{ code: string; status: number; requestId: string; stack?: unknown }>();
      assert.equal(body.code, 'database_unavailable');
      assert.equal(body.stack, undefined);
      assert.equal(t.logs.lines.filter((l) => l.event === 'unhandled_error').length, 0, 'not an unhandled 500');
      const after = await t.app.inject({ method: 'GET', url: '/v1/portfolios', headers: user.headers });
      assert.equal(after.statusCode, 200, 'served again once a connection is free');
    } finally {
      await t?.close();
    }
  });
});
