// The write-behind under a crash: a real process evaluating ticks is SIGKILLed after
// firings were acknowledged (their ticks' promises resolved) and while condition flips
// are still waiting to be written behind. After a restart on the same database:
//   - every acknowledged event is stored, exactly once (same id);
//   - each firing's alert has the condition committed with its event ("met"), so the
//     same crossing, still holding on the first tick after the restart, does not fire
//     again, and replaying an acknowledged tick stores nothing;
//   - only the unwritten flips are lost (here a flip back to "not met": the stored
//     condition is the one committed with the earlier firing);
//   - new crossings fire as before.
// Real child processes on a PGlite data directory (one process at a time) or, in the
// PostgreSQL pass, a schema of the shared server.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { usingPostgres } from '../../helpers/build-test-app.ts';
import { childEnv, ROOT, tempDir } from '../../helpers/processes.ts';

const CHILD = path.join(ROOT, 'test/helpers/alerts-child.ts');

interface Dump {
  events: { id: string; alert_id: string; crossing_key: string; value: string }[];
  conditions: Record<string, boolean | null>;
}

const children: ChildProcess[] = [];

function startChild(env: Record<string, string>) {
  const child = spawn(process.execPath, [CHILD], { cwd: ROOT, env: childEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  let read = 0;
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  /** The next line of output (after those already read), log lines (JSON) skipped. */
  const nextLine = async (timeoutMs = 120_000): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lines = stdout.split('\n');
      while (lines.length - 1 > read) {
        const line = lines[read++] as string;
        if (!line.startsWith('{')) return line;
      }
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`child exited:\n${stdout}\n${stderr}`);
      if (Date.now() > deadline) throw new Error(`no output within ${timeoutMs} ms:\n${stdout}\n${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const send = async (command: object, answer: string): Promise<string> => {
    child.stdin.write(`${JSON.stringify(command)}\n`);
    const line = await nextLine();
    assert.ok(line.startsWith(`${answer} `), `expected ${answer}, got: ${line}\n${stderr}`);
    return line.slice(answer.length + 1);
  };
  return {
    child,
    exited,
    ready: async () => assert.equal(await nextLine(), 'READY'),
    create: async (kind: string, threshold: string) => (JSON.parse(await send({ op: 'create', kind, symbol: 'CRSH', threshold }, 'CREATED')) as { id: string }).id,
    tick: async (price: string, asOf: string) =>
      JSON.parse(await send({ op: 'tick', symbol: 'CRSH', price, as_of: asOf }, 'ACK')) as { id: string; alert_id: string; value: string }[],
    dump: async () => JSON.parse(await send({ op: 'dump' }, 'DUMP')) as Dump,
    exit: async () => {
      child.stdin.write(`${JSON.stringify({ op: 'exit' })}\n`);
      return exited;
    },
  };
}

describe('alerts: a crash between a firing and the write-behind', () => {
  const data = tempDir('financehub-alerts-crash-');
  const schema = `t_${randomBytes(6).toString('hex')}`;
  after(async () => {
    // A failed assertion leaves a child waiting for commands: it must not outlive the test.
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    data.remove();
    if (usingPostgres) {
      const client = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    }
  });

  it('FAIL-021: SIGKILL with flips unwritten: every acknowledged event is stored exactly once, no crossing fires twice after the restart, only the unwritten flips are lost', async () => {
    const env = {
      LOG_LEVEL: 'warn',
      ...(usingPostgres ? { DATABASE_URL: process.env.TEST_DATABASE_URL ?? '', DATABASE_POOL_MIN: '0', DATABASE_POOL_MAX: '3', CHILD_SCHEMA: schema } : { DATA_DIR: data.dir }),
    };
    const t = (second: number) => new Date(Date.UTC(2026, 3, 1, 15, 0, second)).toISOString();

    const first = startChild(env);
    await first.ready();
    const above = await first.create('price_above', '100');
    const below = await first.create('price_below', '99.5');
    // 99: `below` fires; `above` flips to "not met" (written behind).
    const ack1 = await first.tick('99', t(1));
    assert.deepEqual(
      ack1.map((e) => e.alert_id),
      [below],
    );
    // 101: `above` fires (its condition committed with the event); `below` flips back to
    // "not met", a flip only written behind, which the kill loses.
    const ack2 = await first.tick('101', t(2));
    assert.deepEqual(
      ack2.map((e) => e.alert_id),
      [above],
    );
    first.child.kill('SIGKILL');
    assert.equal((await first.exited).signal, 'SIGKILL');

    const second = startChild(env);
    await second.ready();
    const restarted = await second.dump();
    assert.deepEqual(
      restarted.events.map((e) => e.id),
      [...ack1, ...ack2].map((e) => e.id),
      'every acknowledged event is stored, once, with its id',
    );
    assert.equal(restarted.conditions[above], true, 'the firing alert: the condition committed with its event');
    assert.equal(restarted.conditions[below], true, 'the flip back to "not met" was not written: lost with the process');

    // The crossing of `above` still holds on the first tick after the restart: no second event.
    assert.deepEqual(await second.tick('101.5', t(3)), []);
    // An acknowledged tick delivered again stores nothing.
    assert.deepEqual(await second.tick('101', t(2)), []);
    // New crossings fire as before.
    const ack4 = await second.tick('99', t(4));
    assert.deepEqual(
      ack4.map((e) => e.alert_id),
      [below],
    );
    const ack5 = await second.tick('102', t(5));
    assert.deepEqual(
      ack5.map((e) => e.alert_id),
      [above],
    );
    const final = await second.dump();
    assert.deepEqual(
      final.events.map((e) => [e.alert_id, e.value]),
      [
        [below, '99'],
        [above, '101'],
        [below, '99'],
        [above, '102'],
      ],
    );
    const exit = await second.exit();
    assert.equal(exit.code, 0);
  });
});
