// Two real processes on one PGlite data directory: `financehub serve` holds it, and a
// writing CLI command started meanwhile is refused with the holder's pid instead of
// printing success for rows the server never sees (and a restart would drop). A lock
// left by a killed server is stale and cleaned; what the CLI writes then survives.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { LOCK_FILE } from '../../../src/platform/db/data-dir-lock.ts';
import { freePort, runCli, startCli, tempDir, waitForHttp, type Running } from '../../helpers/processes.ts';

const PASSWORD = 'quiet-lantern-orbit-7391-Fjord';

async function serve(dataDir: string): Promise<{ running: Running; url: string }> {
  const port = await freePort();
  const running = startCli(['serve'], { PORT: String(port), DATA_DIR: dataDir, MARKET_DATA_PROVIDER: 'none' });
  const url = `http://127.0.0.1:${port}`;
  try {
    // Start-up migrates a fresh PGlite database: slow on a loaded machine.
    await waitForHttp(`${url}/health/live`, running, 180_000);
  } catch (err) {
    running.child.kill('SIGKILL');
    throw err;
  }
  return { running, url };
}

describe('the PGlite data directory lock (two real processes)', () => {
  it('a CLI write while serve runs is refused naming the server pid; after a crash the stale lock is cleaned and nothing is lost', async () => {
    const tmp = tempDir();
    const dataDir = path.join(tmp.dir, 'data');
    let server: { running: Running; url: string } | undefined;
    try {
      server = await serve(dataDir);
      const pid = server.running.child.pid;
      assert.ok(pid !== undefined);
      const lock = JSON.parse(readFileSync(path.join(dataDir, LOCK_FILE), 'utf8')) as { pid: number };
      assert.equal(lock.pid, pid, 'the server holds the lock with its pid');

      const refused = await runCli(['users', 'create', '--admin', '--email', 'ops@example.test'], { DATA_DIR: dataDir, LOG_LEVEL: 'error' }, 60_000, `${PASSWORD}\n`);
      assert.equal(refused.code, 1, refused.stdout + refused.stderr);
      assert.match(refused.stderr, new RegExp(`in use by process ${pid}\\b`));
      assert.match(refused.stderr, /Stop that process first/);
      assert.doesNotMatch(refused.stdout, /created/);

      const csv = path.join(tmp.dir, 'p.csv');
      writeFileSync(csv, 'Date,Open,High,Low,Close,Volume\n2024-01-02,1.00,1.10,0.90,1.05,100\n');
      const prices = await runCli(['import', 'prices', '--symbol', 'ACME', csv], { DATA_DIR: dataDir, LOG_LEVEL: 'error' });
      assert.equal(prices.code, 1);
      assert.match(prices.stderr, new RegExp(`in use by process ${pid}\\b`));

      const second = await runCli(['serve'], { PORT: String(await freePort()), DATA_DIR: dataDir }, 180_000);
      assert.equal(second.code, 1, 'a second server on the same directory does not start');
      assert.match(second.stdout, /"event":"data_dir_locked"/);

      // The server still answers: the refused commands changed nothing under it.
      assert.equal((await fetch(`${server.url}/health/ready`)).status, 200);

      // A crash leaves the lock file behind; its pid no longer runs, so it is stale.
      server.running.child.kill('SIGKILL');
      await server.running.finished;
      server = undefined;
      assert.ok(existsSync(path.join(dataDir, LOCK_FILE)), 'a killed server leaves its lock');

      const created = await runCli(['users', 'create', '--admin', '--email', 'ops@example.test'], { DATA_DIR: dataDir, LOG_LEVEL: 'error' }, 60_000, `${PASSWORD}\n`);
      assert.equal(created.code, 0, created.stdout + created.stderr);
      assert.match(created.stdout, /created admin ops@example\.test/);
      assert.ok(!existsSync(path.join(dataDir, LOCK_FILE)), 'the CLI released the lock on exit');

      // The next server sees the account the CLI wrote.
      server = await serve(dataDir);
      const login = await fetch(`${server.url}/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'ops@example.test', password: PASSWORD }),
      });
      assert.equal(login.status, 200, await login.clone().text());
    } finally {
      if (server !== undefined) {
        server.running.child.kill('SIGTERM');
        await server.running.finished;
      }
      tmp.remove();
    }
  });
});
