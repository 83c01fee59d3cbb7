// What a person sees when they run `npm start` (`financehub serve`): on a terminal a
// short banner (URL, where the data lives, the market data source, how to create the
// first user, /docs) and readable log lines, and Ctrl+C stops it cleanly (the pretty
// printer is a stream in the process, not a worker thread that could hold shutdown);
// LOG_FORMAT=pretty forces both. (Which format `auto`/`json` choose is in
// src/platform/logger.test.ts; JSON lines off a terminal in serve.test.ts.) The terminal is a real pseudo-terminal from util-linux `script` where it is installed.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { BIN, ROOT, childEnv, freePort, jsonLines, startCli, waitForHttp, type Running } from '../../helpers/processes.ts';

const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;
// eslint-disable-next-line no-control-regex -- colours from the terminal
const plain = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, '').replace(/\r/g, '');

/** `financehub serve` inside a pseudo-terminal; what it writes, and Ctrl+C typed at it. */
function serveOnTerminal(env: Record<string, string>): Running & { ctrlC: () => void } {
  const command = `exec '${process.execPath}' '${BIN}' serve`;
  const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: ROOT, env: childEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const finished = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, finished, ctrlC: () => child.stdin.write('\u0003') };
}

describe('financehub serve: banner and log format', () => {
  it('on a terminal: a banner with URL, data location, market data source, first user and /docs; readable logs; Ctrl+C exits 0', { skip: hasScript ? false : 'util-linux script is not installed' }, async () => {
    const port = await freePort();
    const running = serveOnTerminal({ PORT: String(port), DATA_DIR: 'memory' });
    try {
      await waitForHttp(`http://127.0.0.1:${port}/health/live`, running);
      for (let i = 0; i < 100 && !plain(running.stdout()).includes('API docs:'); i++) await new Promise((resolve) => setTimeout(resolve, 50));
      const out = plain(running.stdout());
      assert.match(out, new RegExp(`FinanceHub is running at http://127\\.0\\.0\\.1:${port}/`));
      assert.match(out, /Data: +in memory/);
      assert.match(out, /Market data: +SIMULATED demo prices/);
      assert.match(out, /First user: +open http:\/\/127\.0\.0\.1:\d+\/ and create an account/);
      assert.match(out, /users create --admin/);
      assert.match(out, new RegExp(`API docs: +http://127\\.0\\.0\\.1:${port}/docs`));
      assert.match(out, /^\[\d\d:\d\d:\d\d\] INFO: FinanceHub is serving/m, 'readable log lines');
      assert.equal(jsonLines(out).length, 0, 'no JSON lines on a terminal');
      running.ctrlC();
      const finished = await running.finished;
      assert.equal(finished.code, 0, finished.stdout);
      assert.match(plain(finished.stdout), /INFO: stopped/);
    } finally {
      if (running.child.exitCode === null) running.child.kill('SIGKILL');
    }
  });

  // Not a terminal with LOG_FORMAT=auto (JSON lines, no banner) is test/integration/platform/serve.test.ts.
  it('not a terminal with LOG_FORMAT=pretty: the banner and readable lines; SIGTERM exits 0', async () => {
    {
      const port = await freePort();
      const running = startCli(['serve'], { PORT: String(port), DATA_DIR: 'memory', LOG_FORMAT: 'pretty', MARKET_DATA_PROVIDER: 'none' });
      try {
        await waitForHttp(`http://127.0.0.1:${port}/health/live`, running);
        running.child.kill('SIGTERM');
        const finished = await running.finished;
        assert.equal(finished.code, 0, finished.stderr);
        assert.match(finished.stdout, /FinanceHub is running at/);
        assert.match(finished.stdout, /Market data: +none \(stored prices and CSV imports only\)/);
        assert.equal(jsonLines(finished.stdout).length, 0);
      } finally {
        if (running.child.exitCode === null) running.child.kill('SIGKILL');
      }
    }
  });
});
