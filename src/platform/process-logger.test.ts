// The JSON log output of serve and worker (processLogDestination): lines leave without
// blocking the event loop, every line is written when the process exits (an uncaught
// exception included), and an output that stops taking lines costs dropped, counted lines
// rather than a stalled server. Each case runs in a child process that owns its stdout.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const LOGGER = fileURLToPath(new URL('./logger.ts', import.meta.url));

/** Runs `body` as an ES module in a child process with `logger.ts`' exports in scope; stdout is a pipe. */
function child(body: string) {
  const source = `const { createLogger, createProcessLogger, processLogDestination, droppedLogLines } = await import(${JSON.stringify(LOGGER)});\n${body}`;
  return spawn(process.execPath, ['--input-type=module', '-e', source], { stdio: ['ignore', 'pipe', 'pipe'] });
}

async function collect(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  stream.setEncoding('utf8');
  for await (const chunk of stream) text += chunk as string;
  return text;
}

const LINES = 20_000;

describe('process log output', () => {
  for (const [ending, code, exit] of [
    ['process.exit(0) right after the last line', 0, 'process.exit(0);'],
    ['an uncaught exception right after the last line', 1, "throw new Error('boom');"],
  ] as const) {
    it(`every line reaches the output when the process ends with ${ending}`, async () => {
      const proc = child(`
        const { logger } = createProcessLogger('info', 'json', { isTTY: false, fd: 1 });
        for (let i = 0; i < ${LINES}; i++) logger.info({ i }, 'line');
        ${exit}`);
      const [out, , exited] = await Promise.all([collect(proc.stdout), collect(proc.stderr), once(proc, 'exit') as Promise<[number | null]>]);
      assert.equal(exited[0], code);
      const lines = out.split('\n').filter((line) => line !== '');
      assert.equal(lines.length, LINES);
      assert.deepEqual(
        lines.map((line) => (JSON.parse(line) as { i: number }).i),
        Array.from({ length: LINES }, (_, i) => i),
      );
    });
  }

  it('a lone line on an idle process reaches the output by the periodic flush, without waiting for a batch to fill or the process to end', async (t) => {
    const proc = child(`
      const { logger } = createProcessLogger('info', 'json', { isTTY: false, fd: 1 });
      logger.info('alone');
      setTimeout(() => undefined, 20_000);`);
    t.after(() => void proc.kill('SIGKILL'));
    const started = performance.now();
    proc.stdout.setEncoding('utf8');
    const [line] = (await once(proc.stdout, 'data')) as [string];
    const waitedMs = performance.now() - started;
    assert.equal((JSON.parse(line) as { msg: string }).msg, 'alone');
    // LOG_FLUSH_MS after the line, plus the child's start-up: far less than its 20 s of life.
    assert.ok(waitedMs < 10_000, `the line arrived after ${Math.round(waitedMs)} ms`);
  });

  it('FAIL-023: an output that takes nothing does not block logging: lines past the buffer are dropped and counted, the rest arrive once it reads again', async (t) => {
    // 20,000 lines of about 1 KB into a pipe nobody reads and a 1 MiB buffer. A blocking
    // write would never return; here the loop finishes and reports before the pipe is read.
    const proc = child(`
      const logger = createLogger('info', processLogDestination(1, 1024 * 1024));
      const padding = 'x'.repeat(1000);
      const started = performance.now();
      for (let i = 0; i < ${LINES}; i++) logger.info({ i, padding }, 'line');
      process.stderr.write(JSON.stringify({ dropped: droppedLogLines(), ms: performance.now() - started }) + '\\n');`);
    // A child left writing into its stuck pipe would outlive a failed test.
    t.after(() => void proc.kill('SIGKILL'));
    proc.stdout.pause();
    const report = await new Promise<{ dropped: number; ms: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the child did not finish logging while its output was stuck')), 30_000);
      let text = '';
      proc.stderr.setEncoding('utf8');
      proc.stderr.on('data', (chunk: string) => {
        text += chunk;
        if (text.includes('\n')) {
          clearTimeout(timer);
          resolve(JSON.parse(text.slice(0, text.indexOf('\n'))) as { dropped: number; ms: number });
        }
      });
    });
    assert.ok(report.dropped > LINES / 2, `dropped ${report.dropped}`);
    const [out] = await Promise.all([collect(proc.stdout), once(proc, 'exit')]);
    const received = out.split('\n').filter((line) => line !== '');
    assert.equal(received.length + report.dropped, LINES);
    for (const line of received) assert.equal((JSON.parse(line) as { msg: string }).msg, 'line');
  });
});
