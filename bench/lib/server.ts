// Starts the real server as a child process (`financehub serve`) on a free port, with
// DATA_DIR in a fresh temporary directory, and waits until /health/live answers.
// The child inherits the environment, so `DATABASE_URL=… npm run bench` measures the
// scaled-out mode; its log goes to a file in the temporary directory.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// One way to find the root, the CLI and a free port, shared with the tests' process helpers.
import { BIN, freePort, ROOT } from '../../test/helpers/processes.ts';

export { BIN, freePort, ROOT };

export interface ServerOptions {
  /** Extra environment for the server (strings, as in a real environment). */
  env?: Record<string, string>;
  /** How long to wait for /health/live, ms. */
  startTimeoutMs?: number;
  /** Another program than `financehub serve` (a script path and its arguments); it reads PORT. */
  script?: string[];
  /** The path polled until it answers 2xx; `/health/live` by default. */
  readyPath?: string;
}

export interface BenchServer {
  /** Base URL without a trailing slash, e.g. http://127.0.0.1:41234 */
  url: string;
  port: number;
  /** The server process (for its CPU time: /proc/<pid>/stat). */
  pid: number;
  dataDir: string;
  logFile: string;
  stop: () => Promise<void>;
}

/**
 * Rate limits and the daily request quota raised out of the way: a benchmark measures
 * throughput, and at default limits it would mostly measure 429s (docs/limits.md). A
 * benchmark of the limits themselves passes its own values in `env`.
 */
export const UNLIMITED_ENV: Readonly<Record<string, string>> = {
  RATE_LIMIT_PUBLIC: '999999999/60',
  RATE_LIMIT_LOGIN: '999999999/60',
  RATE_LIMIT_REGISTER: '999999999/60',
  RATE_LIMIT_REFRESH_IP: '999999999/60',
  RATE_LIMIT_REFRESH_SESSION: '999999999/60',
  FREE_REQUESTS_PER_DAY: '999999999',
  PRO_REQUESTS_PER_DAY: '999999999',
};

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

export async function startServer(options: ServerOptions = {}): Promise<BenchServer> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'financehub-bench-'));
  const dataDir = path.join(tmp, 'data');
  const logFile = path.join(tmp, 'server.log');
  const port = await freePort();
  const log = openSync(logFile, 'a');
  const child = spawn(process.execPath, options.script ?? [BIN, 'serve'], {
    cwd: ROOT,
    env: { ...process.env, ...UNLIMITED_ENV, HOST: '127.0.0.1', PORT: String(port), DATA_DIR: dataDir, ...options.env },
    stdio: ['ignore', log, log],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  const tail = () => readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n');
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode} before it was ready:\n${tail()}`);
    try {
      const res = await fetch(`${url}${options.readyPath ?? '/health/live'}`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) break;
    } catch {
      // Not listening yet: keep polling until the deadline.
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server did not answer /health/live within the start timeout:\n${tail()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  let stopped: Promise<void> | undefined;
  return {
    url,
    port,
    pid: child.pid ?? 0,
    dataDir,
    logFile,
    stop: () =>
      (stopped ??= (async () => {
        const done = exited(child);
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await done;
        clearTimeout(timer);
        rmSync(tmp, { recursive: true, force: true });
      })()),
  };
}
