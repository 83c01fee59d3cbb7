// SIGTERM while a real `financehub serve` (on PostgreSQL) is in the middle of a 50,000-row
// CSV import — while it parses and validates the rows, and inside the transaction that
// locks the portfolio — with the default shutdown bound (SHUTDOWN_TIMEOUT_MS, 10 s)
// (FAIL-023). The streamed, chunked import keeps the event loop turning, so the signal is
// handled at once; the import is a request in flight, so shutdown lets it finish, and the
// process exits 0 within the bound (the whole import takes 5-8 s on the project's
// machines). It is all or nothing: its rows are all there (and the client got 201) or,
// should the bound cut it off on a slower machine, none are (and the process exits 1).
// The measured figures are printed as test diagnostics (see docs/operations.md).
// PostgreSQL only: skipped, with the reason, when TEST_DATABASE_URL is not set.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it, type TestContext } from 'node:test';
import pg from 'pg';
import { MAX_IMPORT_ROWS } from '../../src/modules/portfolios/portfolios.import.ts';
import { usingPostgres } from '../helpers/build-test-app.ts';
import { freePort, jsonLines, startCli, waitForHttp, type Running } from '../helpers/processes.ts';

const skip = !usingPostgres && 'runs on PostgreSQL only (set TEST_DATABASE_URL): it watches the import transaction in pg_stat_activity';
const SHUTDOWN_TIMEOUT_MS = 10_000;
/** "Handled at once": the `shutdown` line is logged this soon after the signal. */
const HANDLED_WITHIN_MS = 1_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function depositsCsv(rows: number): string {
  const lines = ['date,type,amount'];
  const start = Date.UTC(2020, 0, 1);
  for (let i = 0; i < rows; i++) lines.push(`${new Date(start + i * 60_000).toISOString()},deposit,${(i % 1000) + 1}`);
  return `${lines.join('\n')}\n`;
}

describe('SIGTERM during a 50,000-row CSV import (PostgreSQL)', () => {
  const base = process.env.TEST_DATABASE_URL ?? '';
  const tag = randomBytes(5).toString('hex');
  const schema = `fs_${tag}`;
  const appName = `financehub_shutdown_${tag}`;
  const csv = depositsCsv(MAX_IMPORT_ROWS);
  let admin: pg.Client;
  const servers: Running[] = [];

  before(async () => {
    if (!usingPostgres) return;
    admin = new pg.Client({ connectionString: base });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
  });

  after(async () => {
    if (!usingPostgres) return;
    if (process.env.FAULTS_LOG !== undefined) (await import('node:fs')).writeFileSync(process.env.FAULTS_LOG, servers.map((s) => s.stdout() + s.stderr()).join('\n'));
    for (const server of servers) if (server.child.exitCode === null) server.child.kill('SIGKILL');
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  });

  /** A fresh server (each test stops its own), a user and an empty portfolio. */
  async function serveWithPortfolio(label: string) {
    const dbUrl = new URL(base);
    dbUrl.searchParams.set('options', `-c search_path=${schema}`);
    dbUrl.searchParams.set('application_name', appName);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const server = startCli(['serve'], {
      PORT: String(port),
      DATABASE_URL: dbUrl.toString(),
      // The job queue in this suite's own schema too: on a fresh database, servers of
      // parallel suites installing one shared `pgboss` schema at once can collide (a
      // unique violation pg-boss does not recognise as its create race), and they would
      // work each other's jobs.
      JOBS_SCHEMA: schema,
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      SHED_EVENT_LOOP_DELAY_MS: '0',
      RATE_LIMIT_PUBLIC: '100000/60',
      RATE_LIMIT_LOGIN: '100000/60',
      RATE_LIMIT_REGISTER: '100000/60',
      // debug: the `incoming request` line tells when the import request has arrived.
      LOG_LEVEL: 'debug',
    });
    servers.push(server);
    await waitForHttp(`${url}/health/ready`, server, 90_000);
    const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
      const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const email = `shutdown-${label}-${tag}@example.test`;
    const password = `Fh7-${randomBytes(14).toString('base64url')}`;
    assert.equal((await post('/v1/auth/register', { email, password })).status, 201);
    const login = await post('/v1/auth/login', { email, password });
    const auth = { authorization: `Bearer ${String(login.body.access_token)}` };
    const portfolio = await post('/v1/portfolios', { name: 'big import', base_currency: 'USD' }, auth);
    assert.equal(portfolio.status, 201);
    return { server, url, auth, portfolioId: String(portfolio.body.id) };
  }

  /**
   * Starts the import, sends SIGTERM once `midImport` says so, and checks the outcome:
   * handled within HANDLED_WITHIN_MS; exit 0 with the whole import stored, or (a machine
   * too slow for the bound) exit 1 at SHUTDOWN_TIMEOUT_MS with none of it stored.
   */
  async function sigtermDuringImport(t: TestContext, label: string, midImport: (server: Running, importPath: string) => Promise<boolean>) {
    const { server, url, auth, portfolioId } = await serveWithPortfolio(label);
    const importPath = `/v1/portfolios/${portfolioId}/transactions/import`;
    const started = performance.now();
    const importing = fetch(`${url}${importPath}`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'text/csv' },
      body: csv,
    }).then(
      async (res) => ({ status: res.status, connection: res.headers.get('connection'), body: (await res.json()) as Record<string, unknown>, at: performance.now() }),
      (err: unknown) => ({ status: 0, connection: null, body: { error: String(err) }, at: performance.now() }),
    );
    let reached = false;
    for (let i = 0; i < 3000 && !reached; i++) {
      reached = await midImport(server, importPath);
      if (!reached) await sleep(10);
    }
    assert.ok(reached, 'the import reached the point where the signal is sent');
    const signalled = performance.now();
    server.child.kill('SIGTERM');
    let handledAfter: number | undefined;
    const watch = (async () => {
      while (server.child.exitCode === null && handledAfter === undefined) {
        if (jsonLines(server.stdout()).some((line) => line.event === 'shutdown')) handledAfter = performance.now() - signalled;
        else await sleep(10);
      }
    })();
    const result = await server.finished;
    const exitedAfter = performance.now() - signalled;
    await watch;
    const answer = await importing;
    const { rows } = await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.transactions WHERE portfolio_id = $1`, [portfolioId]);
    const stored = rows[0]?.n ?? -1;

    t.diagnostic(
      `${label}: signal sent ${Math.round(signalled - started)} ms into the import; shutdown logged after ${handledAfter === undefined ? '-' : Math.round(handledAfter)} ms; ` +
        `import answered ${answer.status} ${Math.round(answer.at - signalled)} ms after the signal (${Math.round(answer.at - started)} ms in all); ` +
        `exit ${String(result.code)} after ${Math.round(exitedAfter)} ms; ${stored} rows stored`,
    );
    assert.ok(handledAfter !== undefined && handledAfter < HANDLED_WITHIN_MS, `the signal was handled after ${String(handledAfter)} ms`);
    const timedOut = jsonLines(result.stdout).some((line) => line.event === 'shutdown_timeout');
    if (result.code === 0) {
      // A clean exit: the import, a request in flight, was allowed to finish, all of it,
      // and its connection closed with the answer (kept alive, it would hold the server's
      // close until the client let go of it: 3 s with fetch's defaults, measured).
      assert.ok(!timedOut);
      assert.ok(exitedAfter < SHUTDOWN_TIMEOUT_MS, `exited ${Math.round(exitedAfter)} ms after the signal`);
      assert.equal(answer.status, 201, JSON.stringify(answer.body).slice(0, 300));
      assert.equal(answer.connection, 'close');
      assert.equal(answer.body.imported, MAX_IMPORT_ROWS);
      assert.equal(stored, MAX_IMPORT_ROWS);
    } else {
      // A machine too slow to finish within the bound: exit 1 at the bound, and nothing
      // of the import is left behind.
      assert.equal(result.code, 1, `exit code\n${result.stdout.slice(-2000)}`);
      assert.ok(timedOut, 'shutdown_timeout logged');
      assert.ok(exitedAfter >= SHUTDOWN_TIMEOUT_MS - 100 && exitedAfter < SHUTDOWN_TIMEOUT_MS + 3000, `exited ${Math.round(exitedAfter)} ms after the signal`);
      assert.equal(stored, 0, `answer ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`);
    }
  }

  it(`FAIL-023: SIGTERM while the import parses and validates its rows is handled within ${HANDLED_WITHIN_MS} ms; the process exits 0 once the whole import is stored, or 1 at SHUTDOWN_TIMEOUT_MS (${SHUTDOWN_TIMEOUT_MS} ms) with none of it`, { skip }, async (t) => {
    // The request has arrived (its body follows at once); parsing 50,000 rows takes seconds.
    await sigtermDuringImport(t, 'parsing', (server, importPath) =>
      Promise.resolve(
        jsonLines(server.stdout()).some((line) => line.msg === 'incoming request' && (line.req as { url?: string } | undefined)?.url === importPath),
      ),
    );
  });

  it(`FAIL-023: SIGTERM inside the import transaction is handled within ${HANDLED_WITHIN_MS} ms; the process exits 0 once the whole import is stored, or 1 at SHUTDOWN_TIMEOUT_MS (${SHUTDOWN_TIMEOUT_MS} ms) with none of it`, { skip }, async (t) => {
    // The server's backend is inside the import transaction, writing rows (its transaction
    // has an xid; its statement is the batched INSERT) that nobody else can see yet.
    await sigtermDuringImport(t, 'writing', async () => {
      const { rows } = await admin.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE application_name = $1 AND xact_start IS NOT NULL AND backend_xid IS NOT NULL AND query LIKE 'INSERT INTO transactions%'`,
        [appName],
      );
      return (rows[0]?.n ?? 0) > 0;
    });
  });
});
