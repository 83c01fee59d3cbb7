import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { runWithContext } from './context.ts';
import fc from 'fast-check';
import { createLogger, isPretty, RequestLogger, requestLineWriter, stripQuery, type RequestLine } from './logger.ts';

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

  it('FAIL-020: a request logger writes through a child with the request id bound, made only when it first writes', () => {
    const { lines, logger } = capture();
    let children = 0;
    const child = logger.child.bind(logger);
    logger.child = ((...args: Parameters<typeof child>) => {
      children++;
      return child(...args);
    }) as typeof logger.child;
    const log = new RequestLogger(logger, { requestId: 'req-9' }, {});
    assert.equal(log.isLevelEnabled('info'), true);
    assert.equal(log.isLevelEnabled('debug'), false);
    log.debug('not at this level');
    assert.equal(children, 0, 'no child for a request that wrote nothing');
    log.info({ event: 'x', user: { password: 'p' } }, 'first');
    log.warn('second');
    assert.equal(children, 1, 'one child for every line of the request');
    assert.deepEqual(
      lines.map((line) => [line.level, line.msg, line.requestId]),
      [
        ['info', 'first', 'req-9'],
        ['warn', 'second', 'req-9'],
      ],
    );
    assert.deepEqual(lines[0]?.user, { password: '[REDACTED]' });
  });

  it('a request logger keeps a route\'s level, and a level set later reaches its child', () => {
    const { lines, logger } = capture();
    const quiet = new RequestLogger(logger, { requestId: 'r' }, { level: 'warn' });
    assert.equal(quiet.level, 'warn');
    quiet.info('dropped');
    quiet.error('kept');
    quiet.level = 'silent';
    quiet.fatal('dropped too');
    assert.equal(quiet.isLevelEnabled('fatal'), false);
    assert.deepEqual(
      lines.map((line) => line.msg),
      ['kept'],
    );
  });

  it('FAIL-019: the request line is the line pino writes for the same fields, whatever the strings hold', () => {
    const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('/v1/a"b\\c', 'x\ny', '\u0000', 'é€😀', '\ud800'));
    const line = fc.record({
      requestId: text,
      method: fc.constantFrom('GET', 'POST'),
      url: text,
      remoteAddress: fc.option(text, { nil: undefined }),
      statusCode: fc.integer({ min: 100, max: 599 }),
      responseTime: fc.double({ min: 0, max: 1e6, noNaN: true }),
      userId: fc.option(text, { nil: undefined }),
    });
    const written: string[] = [];
    const ours = requestLineWriter(createLogger('info', { write: (chunk: string) => written.push(chunk) }));
    const reference: string[] = [];
    const pinoLine = createLogger('info', { write: (chunk: string) => reference.push(chunk) });
    fc.assert(
      fc.property(line, (fields: RequestLine) => {
        written.length = 0;
        reference.length = 0;
        ours(fields);
        pinoLine.info({ ...fields }, 'request completed');
        assert.equal(written.length, 1);
        assert.ok(written[0]?.endsWith('}\n'));
        const mine = JSON.parse(written[0] ?? '') as Record<string, unknown>;
        const theirs = JSON.parse(reference[0] ?? '') as Record<string, unknown>;
        assert.match(String(mine.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        assert.ok(Math.abs(Date.parse(String(mine.time)) - Date.parse(String(theirs.time))) < 1000);
        mine.time = theirs.time;
        assert.deepEqual(Object.entries(mine), Object.entries(theirs));
      }),
      { numRuns: 300 },
    );
  });
});
