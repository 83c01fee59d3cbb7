import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { runWithContext } from './context.ts';
import { createLogger, isPretty, stripQuery } from './logger.ts';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { lines, logger: createLogger('info', stream) };
}

describe('logger', () => {
  it('LOG_FORMAT: auto is readable on a terminal and JSON otherwise; json and pretty force one', () => {
    assert.equal(isPretty('auto', { isTTY: true }), true);
    assert.equal(isPretty('auto', { isTTY: false }), false);
    assert.equal(isPretty('auto', {}), false);
    assert.equal(isPretty('json', { isTTY: true }), false);
    assert.equal(isPretty('pretty', { isTTY: false }), true);
  });

  it('stripQuery drops the query string and keeps the path', () => {
    assert.equal(stripQuery('/v1/x?token=abc&y=1'), '/v1/x');
    assert.equal(stripQuery('/v1/x'), '/v1/x');
    assert.equal(stripQuery('/?'), '/');
  });

  it('FAIL-003: passwords and tokens are redacted at the top level and one level down', () => {
    const { lines, logger } = capture();
    logger.info(
      {
        password: 'p1',
        token: 't1',
        refresh_token: 'r1',
        user: { password: 'p2', accessToken: 'a2', apiKey: 'k2', name: 'ok' },
        headers: { authorization: 'Bearer h1', cookie: 'c1', accept: 'json' },
      },
      'msg',
    );
    const text = JSON.stringify(lines);
    for (const secret of ['p1', 't1', 'r1', 'p2', 'a2', 'k2', 'h1', 'c1']) assert.ok(!text.includes(`"${secret}"`), secret);
    assert.match(text, /"name":"ok"/);
    assert.match(text, /"accept":"json"/);
  });

  it('FAIL-019: ISO time, level as a word, no pid/hostname noise', () => {
    const { lines, logger } = capture();
    logger.warn({ event: 'x' }, 'hello');
    const [line] = lines;
    assert.equal(line?.level, 'warn');
    assert.match(String(line?.time), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.equal(line?.msg, 'hello');
    assert.equal(line?.event, 'x');
    assert.equal(line?.pid, undefined);
    assert.equal(line?.hostname, undefined);
  });

  it('FAIL-020: lines written inside a request context carry its requestId and userId', () => {
    const { lines, logger } = capture();
    runWithContext({ requestId: 'req-1', userId: 'user-1' }, () => logger.info('inside'));
    logger.info('outside');
    assert.equal(lines[0]?.requestId, 'req-1');
    assert.equal(lines[0]?.userId, 'user-1');
    assert.equal(lines[1]?.requestId, undefined);
    // A child logger that already has the id bound does not get it twice.
    runWithContext({ requestId: 'req-2' }, () => logger.child({ requestId: 'req-2' }).info('child'));
    assert.equal(JSON.stringify(lines[2]).match(/req-2/g)?.length, 1);
  });
});
