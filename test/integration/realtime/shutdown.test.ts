// The real `financehub serve` process: on SIGTERM every WebSocket is closed with 1001
// (going away) and the process exits 0 within the shutdown bound.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freePort, startCli, tempDir, waitForHttp, type Running } from '../../helpers/processes.ts';
import { strongPassword } from '../../helpers/auth.ts';
import { connectReady } from '../../helpers/ws.ts';

const SHUTDOWN_TIMEOUT_MS = 4000;

describe('realtime shutdown', () => {
  let running: Running;
  let base: string;
  let cleanup: () => void;

  before(async () => {
    const data = tempDir();
    cleanup = data.remove;
    const port = await freePort();
    running = startCli(['serve'], { PORT: String(port), DATA_DIR: `${data.dir}/data`, SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS), FREE_WS_CONNECTIONS: '5', SHED_EVENT_LOOP_DELAY_MS: '0' });
    base = `http://127.0.0.1:${port}`;
    // Start-up migrates a fresh embedded database; on a loaded machine that can take minutes.
    await waitForHttp(`${base}/health/live`, running, 180_000);
  });
  after(() => {
    if (running.child.exitCode === null) running.child.kill('SIGKILL');
    cleanup();
  });

  it('SIGTERM closes open sockets with 1001 and the process exits 0 within SHUTDOWN_TIMEOUT_MS', async () => {
    const email = `ws-${Date.now()}@example.test`;
    const password = strongPassword();
    const reg = await fetch(`${base}/v1/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
    assert.equal(reg.status, 201);
    const loginRes = await fetch(`${base}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
    const { access_token: token } = (await loginRes.json()) as { access_token: string };
    const url = `${base.replace('http', 'ws')}/v1/ws`;
    const sockets = [await connectReady(url, token), await connectReady(url, token)];
    for (const s of sockets) s.send({ type: 'subscribe', channels: ['quotes:AAPL'] });
    const started = Date.now();
    running.child.kill('SIGTERM');
    for (const s of sockets) assert.equal((await s.closed).code, 1001);
    const finished = await running.finished;
    const elapsed = Date.now() - started;
    assert.equal(finished.code, 0, finished.stderr);
    assert.ok(elapsed < SHUTDOWN_TIMEOUT_MS, `stopped in ${elapsed} ms`);
  });
});
