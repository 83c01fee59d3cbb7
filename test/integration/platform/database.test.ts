// The database layer: one interface over PGlite and PostgreSQL (types, transactions),
// migrations under an advisory lock reporting through the logger (FAIL-003), slow-query
// logging without parameter values (S-016) and the pool's limits and timeouts (S-015).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { loadConfig } from '../../../src/config.ts';
import { AppError } from '../../../src/platform/errors.ts';
import { openDatabase } from '../../../src/platform/db/index.ts';
import { loadMigrations, migrate } from '../../../src/platform/db/migrations.ts';
import { createLogger } from '../../../src/platform/logger.ts';
import { buildTestApp, testEnv, usingPostgres, type TestApp } from '../../helpers/build-test-app.ts';
import { LogCapture } from '../../helpers/logs.ts';
import { jsonLines, runCli, startCli, tempDir } from '../../helpers/processes.ts';

const PARAM_SECRET = 'param-secret-4711';

/** A database that cannot answer is a 503 database_unavailable whose cause says why. */
function unavailableBecause(reason: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof AppError, String(err));
    assert.equal(err.status, 503);
    assert.equal(err.code, 'database_unavailable');
    assert.match(String((err.cause as Error | undefined)?.message), reason);
    return true;
  };
}

describe('database', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp({ env: { SLOW_QUERY_MS: '100' }, unmigrated: true });
  });
  after(() => t.close());

  it('NUMERIC comes back as a string, int8 as a number, timestamptz as a Date', async () => {
    const { rows } = await t.db.query<{ amount: unknown; n: unknown; at: unknown }>(
      `SELECT $1::numeric(20,4) AS amount, $2::int8 AS n, $3::timestamptz AS at`,
      ['101.25', 42, '2024-01-02T03:04:05Z'],
    );
    assert.deepEqual(rows[0], { amount: '101.2500', n: 42, at: new Date('2024-01-02T03:04:05Z') });
  });

  it('FAIL-023: the embedded database does not zero-fill new WAL segments (a 16 MB write that held the loop for 250–425 ms), in memory and in a data directory', { skip: usingPostgres && 'PGlite only' }, async () => {
    const setting = async (db: Pick<TestApp['db'], 'query'>) => (await db.query<{ wal_init_zero: string }>('SHOW wal_init_zero')).rows[0]?.wal_init_zero;
    assert.equal(await setting(t.db), 'off');
    assert.equal(await t.db.transaction((q) => setting(q)), 'off');
    const data = tempDir();
    const onDisk = await openDatabase(loadConfig(testEnv({ DATA_DIR: data.dir })), createLogger('silent'));
    try {
      assert.equal(await setting(onDisk), 'off');
    } finally {
      await onDisk.close();
      data.remove();
    }
  });

  it('a transaction commits when its function resolves and rolls back when it throws', async () => {
    await t.db.exec('CREATE TABLE tx_probe (id int PRIMARY KEY)');
    await t.db.transaction(async (tx) => {
      await tx.query('INSERT INTO tx_probe (id) VALUES ($1)', [1]);
    });
    await assert.rejects(
      t.db.transaction(async (tx) => {
        await tx.query('INSERT INTO tx_probe (id) VALUES ($1)', [2]);
        throw new Error('changed my mind');
      }),
      /changed my mind/,
    );
    const { rows } = await t.db.query<{ id: number }>('SELECT id FROM tx_probe ORDER BY id');
    assert.deepEqual(rows, [{ id: 1 }]);
  });

  it('S-016: a query slower than SLOW_QUERY_MS is logged with duration and statement, never its parameters', async () => {
    const before = t.logs.raw.length;
    const { rows } = await t.db.query<{ v: string }>('SELECT pg_sleep(0.3), $1::text AS v', [PARAM_SECRET]);
    assert.equal(rows[0]?.v, PARAM_SECRET);
    await t.db.transaction((tx) => tx.query('SELECT pg_sleep(0.3), $1::text AS in_tx', [PARAM_SECRET]));
    const lines = t.logs.lines.slice(before);
    // Only this test's statements: on a loaded machine another statement of the app (a
    // timer's flush) may pass the threshold too, and is logged the same way.
    const slow = lines.filter((line) => line.event === 'slow_query' && String(line.statement).includes('pg_sleep(0.3)'));
    assert.equal(slow.length, 2, JSON.stringify(lines));
    for (const line of slow) {
      assert.equal(line.level, 'warn');
      assert.equal(typeof line.durationMs, 'number');
      assert.ok((line.durationMs as number) >= 100, 'pg_sleep(0.3) is over the threshold');
      assert.match(String(line.statement), /^SELECT pg_sleep\(0\.3\), \$1::text AS (v|in_tx)$/);
    }
    assert.ok(!t.logs.text().includes(PARAM_SECRET), 'parameter values never reach the log');
  });

  it('FAIL-003: migrations report through the logger, one event per applied file', () => {
    const migrations = loadMigrations();
    const applied = t.logs.events('migration_applied');
    assert.deepEqual(
      applied.map((line) => line.version),
      migrations.map((m) => m.version),
    );
    for (const line of applied) assert.equal(typeof line.durationMs, 'number');
    assert.equal(t.logs.events('migrations_complete')[0]?.applied, migrations.length);
  });

  it('migrating again applies nothing; a changed migration is refused', async () => {
    const logs = new LogCapture();
    const logger = createLogger('info', logs);
    assert.deepEqual(await migrate(t.db, logger), { applied: [] });
    assert.equal(logs.events('migrations_complete')[0]?.msg, 'database schema is up to date');
    const [first, ...rest] = loadMigrations();
    assert.ok(first);
    await assert.rejects(migrate(t.db, logger, [{ ...first, sql: `${first.sql}\n-- edited`, checksum: 'different' }, ...rest]), /changed after it was applied/);
  });
});

describe('concurrent migrations', () => {
  it('two migrate() calls at once on one database apply each migration exactly once', async () => {
    const config = loadConfig(testEnv());
    const logs = new LogCapture();
    const logger = createLogger('info', logs);
    const schema = `m_${randomBytes(5).toString('hex')}`;
    const db = await openDatabase(config, logger, usingPostgres ? { schema } : {});
    try {
      const [a, b] = await Promise.all([migrate(db, logger), migrate(db, logger)]);
      const all = [...a.applied, ...b.applied].sort((x, y) => x - y);
      assert.deepEqual(all, loadMigrations().map((m) => m.version));
      assert.ok(a.applied.length === 0 || b.applied.length === 0, 'one of them found nothing to do');
      const { rows } = await db.query<{ n: number }>('SELECT count(*)::int8 AS n FROM schema_migrations');
      assert.equal(rows[0]?.n, all.length);
    } finally {
      if (usingPostgres) await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await db.close();
    }
  });

  it('financehub migrate from two processes at once applies each migration once (PostgreSQL)', { skip: !usingPostgres && 'needs TEST_DATABASE_URL' }, async () => {
    const base = process.env.TEST_DATABASE_URL ?? '';
    const schema = `m_${randomBytes(5).toString('hex')}`;
    const admin = new pg.Client({ connectionString: base });
    await admin.connect();
    try {
      await admin.query(`CREATE SCHEMA ${schema}`);
      const url = new URL(base);
      url.searchParams.set('options', `-c search_path=${schema}`);
      const env = { DATABASE_URL: url.toString(), DATABASE_POOL_MIN: '0', DATABASE_POOL_MAX: '2' };
      const [one, two] = await Promise.all([startCli(['migrate'], env).finished, startCli(['migrate'], env).finished]);
      assert.equal(one.code, 0, one.stderr);
      assert.equal(two.code, 0, two.stderr);
      const applied = [...jsonLines(one.stdout), ...jsonLines(two.stdout)]
        .filter((line) => line.event === 'migration_applied')
        .map((line) => line.version as number)
        .sort((x, y) => x - y);
      assert.deepEqual(applied, loadMigrations().map((m) => m.version));
      const { rows } = await admin.query<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.schema_migrations`);
      assert.equal(Number(rows[0]?.n), applied.length);
    } finally {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    }
  });

  it('financehub migrate on the embedded database logs JSON lines and exits 0; a second run applies nothing', async () => {
    const data = tempDir();
    try {
      const env = { DATA_DIR: `${data.dir}/data` };
      const first = await runCli(['migrate'], env);
      assert.equal(first.code, 0, first.stderr);
      assert.equal(first.stderr, '');
      const lines = jsonLines(first.stdout);
      assert.equal(lines.length, first.stdout.trim().split('\n').length, 'every line of output is a JSON log line');
      assert.equal(lines.filter((line) => line.event === 'migration_applied').length, loadMigrations().length);
      const second = await runCli(['migrate'], env);
      assert.equal(second.code, 0, second.stderr);
      assert.deepEqual(
        jsonLines(second.stdout).filter((line) => line.event === 'migrations_complete').map((line) => line.applied),
        [0],
      );
    } finally {
      data.remove();
    }
  });
});

describe('PostgreSQL pool (S-015)', () => {
  it('S-015: a connection that never answers fails after DATABASE_CONNECT_TIMEOUT_MS with a clear error', async () => {
    // Accepts TCP connections and never says anything, like a hung database.
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const config = loadConfig({ DATABASE_URL: `postgres://nobody@127.0.0.1:${port}/none`, DATABASE_CONNECT_TIMEOUT_MS: '300', DATABASE_POOL_MIN: '0' });
    const db = await openDatabase(config, createLogger('silent'));
    try {
      await assert.rejects(db.query('SELECT 1'), unavailableBecause(/timeout/i));
    } finally {
      await db.close();
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  it('S-015: a statement longer than DATABASE_STATEMENT_TIMEOUT_MS is cancelled', { skip: !usingPostgres && 'needs TEST_DATABASE_URL' }, async () => {
    const config = loadConfig(testEnv({ DATABASE_STATEMENT_TIMEOUT_MS: '200' }));
    const db = await openDatabase(config, createLogger('silent'));
    try {
      await assert.rejects(db.query('SELECT pg_sleep(3)'), unavailableBecause(/canceling statement due to statement timeout/));
      const { rows } = await db.query<{ ok: number }>('SELECT 1 AS ok');
      assert.deepEqual(rows, [{ ok: 1 }], 'the pool is usable afterwards');
    } finally {
      await db.close();
    }
  });

  it('S-015: the pool never opens more than DATABASE_POOL_MAX connections; the rest wait', { skip: !usingPostgres && 'needs TEST_DATABASE_URL' }, async () => {
    const config = loadConfig(testEnv({ DATABASE_POOL_MIN: '1', DATABASE_POOL_MAX: '2' }));
    assert.equal(config.databasePoolMin, 1);
    const db = await openDatabase(config, createLogger('silent'));
    try {
      const queries = Array.from({ length: 5 }, () => db.query('SELECT pg_sleep(0.2)'));
      const during = db.poolStats();
      assert.ok(during.total <= 2, JSON.stringify(during));
      assert.equal(during.waiting, 3);
      await Promise.all(queries);
      const afterwards = db.poolStats();
      assert.ok(afterwards.total <= 2 && afterwards.total >= 1, JSON.stringify(afterwards));
      assert.equal(afterwards.waiting, 0);
    } finally {
      await db.close();
    }
  });
});
