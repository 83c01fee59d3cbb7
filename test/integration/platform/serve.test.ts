// The real process, as `npm start` runs it: `financehub serve` migrates, listens, answers,
// and on SIGTERM/SIGINT stops accepting, lets in-flight requests finish, closes its pools
// and exits 0.
import assert from 'node:assert/strict';
import http from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { spawn } from 'node:child_process';
import { ROOT, childEnv, freePort, jsonLines, startCli, tempDir, waitForHttp, type Running } from '../../helpers/processes.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

async function serve(env: Record<string, string> = {}): Promise<{ running: Running; url: string; port: number; cleanup: () => void }> {
  const data = tempDir();
  const port = await freePort();
  const running = startCli(['serve'], { PORT: String(port), DATA_DIR: `${data.dir}/data`, ...env });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/health/live`, running);
  } catch (err) {
    running.child.kill('SIGKILL');
    data.remove();
    throw err;
  }
  return { running, url, port, cleanup: data.remove };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('financehub serve', () => {
  // One server for the first two tests (start-up migrates a fresh embedded database, which
  // takes a few seconds): the first looks at it, the second shuts it down.
  let server: Awaited<ReturnType<typeof serve>>;
  before(async () => {
    // debug: the SIGTERM test waits for the `incoming request` line (debug only) of its in-flight request.
    server = await serve({ LOG_LEVEL: 'debug' });
  });
  after(() => {
    if (server.running.child.exitCode === null) server.running.child.kill('SIGKILL');
    server.cleanup();
  });

  it('serves the API on the embedded database: live, ready, OpenAPI, docs, request ids', async () => {
    const { running, url } = server;
    const live = await fetch(`${url}/health/live`);
    assert.equal(live.status, 200);
    assert.deepEqual(await live.json(), { status: 'ok' });
    assert.match(live.headers.get('x-request-id') ?? '', UUID);
    const ready = await fetch(`${url}/health/ready`);
    assert.deepEqual(await ready.json(), { status: 'ok' });
    const openapi = await fetch(`${url}/openapi.json`);
    assert.equal(openapi.status, 200);
    assert.ok(((await openapi.json()) as { paths: Record<string, unknown> }).paths['/health/live']);
    const docs = await fetch(`${url}/docs`);
    assert.equal(docs.status, 200);
    assert.match(await docs.text(), /swagger/i);
    // Log lines reach stdout in batches, at most LOG_FLUSH_MS after they were written.
    await until(() => jsonLines(running.stdout()).some((line) => line.event === 'listening'), 'the listening line');
    const lines = jsonLines(running.stdout());
    assert.ok(lines.some((line) => line.event === 'migration_applied'), 'serve migrates on start');
    const listening = lines.find((line) => line.event === 'listening');
    assert.equal(listening?.database, 'pglite');
  });

  it('SIGTERM: an in-flight request completes (its answer closes its connection), idle keep-alive connections do not hold it up, exit 0', async () => {
    const { running, url, port } = server;
    // An idle keep-alive connection.
    const agent = new http.Agent({ keepAlive: true });
    await new Promise<void>((resolve, reject) => {
      http.get(`${url}/health/live`, { agent }, (res) => {
        res.resume();
        res.on('end', resolve);
      }).on('error', reject);
    });

    // A request in flight: headers sent, body not yet complete (the server answers a
    // POST only once its body has arrived).
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    const body = JSON.stringify({ note: 'sent in two parts' });
    socket.write(
      `POST /v1/in-flight HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 5)}`,
    );
    const incoming = () =>
      jsonLines(running.stdout()).some((line) => line.msg === 'incoming request' && (line.req as { url?: string } | undefined)?.url === '/v1/in-flight');
    await until(incoming, 'the server to see the in-flight request');

    running.child.kill('SIGTERM');
    await until(() => jsonLines(running.stdout()).some((line) => line.event === 'shutdown'), 'the shutdown to begin');
    // The rest of the body, and the socket left open: the server itself closes the
    // connection once it has answered, rather than keeping it alive and waiting on it.
    socket.write(body.slice(5));
    await closed;

    const result = await running.finished;
    assert.equal(result.code, 0, result.stderr);
    assert.match(received, /^HTTP\/1\.1 404 /, 'the in-flight request got its full answer');
    assert.match(received, /\r\nconnection: close\r\n/i, 'on a connection that closes after it');
    const json = received.slice(received.indexOf('\r\n\r\n') + 4);
    assert.equal((JSON.parse(json) as { code: string }).code, 'not_found');
    const events = jsonLines(result.stdout).map((line) => line.event);
    assert.ok(events.includes('shutdown') && events.includes('stopped'), events.join(','));
    assert.equal(result.stderr, '');
    agent.destroy();
  });

  it('FAIL-023: a request sent on an idle keep-alive connection once shutdown began gets 503 problem JSON with Connection: close, not a reset', async () => {
    const { running, port, cleanup } = await serve();
    const socket = connect(port, '127.0.0.1');
    let received = '';
    let reset: Error | undefined;
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
    socket.on('error', (err) => (reset = err));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    try {
      // One answered request leaves the connection idle and kept alive.
      socket.write('GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n');
      await until(() => received.includes('{"status":"ok"}'), 'the first answer');
      received = '';
      running.child.kill('SIGTERM');
      await until(() => jsonLines(running.stdout()).some((line) => line.event === 'shutdown'), 'the shutdown to begin');
      socket.write('GET /v1/portfolios HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n');
      await closed;
      assert.equal(reset, undefined, 'no connection reset');
      assert.match(received, /^HTTP\/1\.1 503 /);
      assert.match(received, /\r\nconnection: close\r\n/i);
      assert.match(received, /\r\ncontent-type: application\/problem\+json/i);
      assert.match(received, /\r\nretry-after: 1\r\n/i);
      const body = JSON.parse(received.slice(received.indexOf('\r\n\r\n') + 4)) as { code: string; status: number };
      assert.equal(body.code, 'shutting_down');
      const result = await running.finished;
      assert.equal(result.code, 0, result.stderr);
    } finally {
      socket.destroy();
      if (running.child.exitCode === null) running.child.kill('SIGKILL');
      cleanup();
    }
  });

  it('SIGINT works the same way; a request that never finishes is cut off after SHUTDOWN_TIMEOUT_MS, logged, exit 1', async () => {
    // `incoming request` (what this waits for) is logged at debug only.
    const { running, port, cleanup } = await serve({ SHUTDOWN_TIMEOUT_MS: '300', LOG_LEVEL: 'debug' });
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined); // the server goes away under it
    try {
      socket.write('POST /v1/stuck HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{');
      await until(
        () => jsonLines(running.stdout()).some((line) => (line.req as { url?: string } | undefined)?.url === '/v1/stuck'),
        'the server to see the stuck request',
      );
      running.child.kill('SIGINT');
      const result = await running.finished;
      assert.equal(result.code, 1);
      assert.equal(jsonLines(result.stdout).find((line) => line.event === 'shutdown')?.signal, 'SIGINT');
      assert.equal(result.stderr, '', 'reported through the logger, not the console');
      const timeout = jsonLines(result.stdout).find((line) => line.event === 'shutdown_timeout');
      assert.equal(timeout?.level, 'error');
      assert.equal(timeout?.delayMs, 300);
    } finally {
      socket.destroy();
      if (running.child.exitCode === null) running.child.kill('SIGKILL');
      cleanup();
    }
  });

  it('a database that cannot be reached at start is one fatal log line and exit 1', async () => {
    const closedPort = await freePort();
    const result = await startCli(['serve'], {
      DATABASE_URL: `postgres://nobody:db-password-123@127.0.0.1:${closedPort}/none`,
      DATABASE_CONNECT_TIMEOUT_MS: '1000',
      PORT: String(await freePort()),
    }).finished;
    assert.equal(result.code, 1);
    assert.equal(result.stderr, '');
    const fatal = jsonLines(result.stdout).filter((line) => line.level === 'fatal');
    assert.equal(fatal.length, 1);
    assert.equal(fatal[0]?.event, 'startup_failed');
    assert.ok(!result.stdout.includes('db-password-123'));
  });

  it('npm start: SIGTERM sent to npm reaches the server, which shuts down gracefully; npm exits 0', async () => {
    // npm runs scripts through a shell; `exec` in the start script makes the server replace
    // it, so the signal npm forwards is not lost on a shell and the server is not orphaned.
    const data = tempDir();
    const port = await freePort();
    const npm = process.env.npm_execpath;
    const [command, args] = npm !== undefined && npm.endsWith('.js') ? [process.execPath, [npm, 'start']] : ['npm', ['start']];
    const child = spawn(command, args, { cwd: ROOT, env: childEnv({ PORT: String(port), DATA_DIR: `${data.dir}/data` }), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.resume();
    const finished = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    const running: Running = { child, stdout: () => stdout, stderr: () => '', finished: finished.then((code) => ({ code, signal: null, stdout, stderr: '' })) };
    try {
      await waitForHttp(`http://127.0.0.1:${port}/health/live`, running);
      child.kill('SIGTERM');
      assert.equal(await finished, 0);
      const events = jsonLines(stdout).map((line) => line.event);
      assert.ok(events.includes('shutdown') && events.includes('stopped'), events.join(','));
      await assert.rejects(fetch(`http://127.0.0.1:${port}/health/live`), 'nothing listens any more');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      data.remove();
    }
  });
});
