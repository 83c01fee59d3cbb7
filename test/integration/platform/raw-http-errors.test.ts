// Errors raised before a route is found, over a real socket: a malformed percent-encoding
// in the URL and headers over Node's size limit answer problem JSON, not Fastify's or
// Node's own bodies.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';

interface RawResponse {
  status: number;
  headers: Map<string, string>;
  body: string;
}

/** Sends raw bytes and reads until the server closes or the response is complete. */
function rawRequest(port: number, request: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    const finish = () => {
      const [head = '', ...rest] = data.split('\r\n\r\n');
      const [statusLine = '', ...headerLines] = head.split('\r\n');
      const headers = new Map(headerLines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
      const body = rest.join('\r\n\r\n');
      const length = Number(headers.get('content-length') ?? Number.NaN);
      if (Number.isFinite(length) && Buffer.byteLength(body) < length) return false;
      socket.destroy();
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body });
      return true;
    };
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      data += chunk;
      if (data.includes('\r\n\r\n')) finish();
    });
    socket.on('error', (err) => (data.includes('\r\n\r\n') ? finish() : reject(err)));
    socket.on('end', () => finish());
    socket.setTimeout(20_000, () => reject(new Error('no answer')));
    socket.write(request);
  });
}

function assertProblem(res: RawResponse, status: number, code: string): void {
  assert.equal(res.status, status, res.body);
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
  const body = JSON.parse(res.body) as Record<string, unknown>;
  assert.equal(body.status, status);
  assert.equal(body.code, code);
  assert.equal(body.type, `urn:financehub:problem:${code}`);
  assert.equal(typeof body.title, 'string');
  assert.equal(typeof body.requestId, 'string');
  assert.equal(body.statusCode, undefined, 'not Fastify’s own body');
}

describe('errors before routing, over a real socket', () => {
  let t: TestApp;
  let port: number;

  before(async () => {
    t = await buildTestApp();
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const address = t.app.server.address();
    assert.ok(address !== null && typeof address === 'object');
    port = address.port;
  });
  after(() => t.close());

  it('FAIL-007: a malformed percent-encoding in the URL answers 400 problem JSON', async () => {
    for (const path of ['/v1/portfolios/%E0%A4%A', '/%', '/v1/market/candles/%zz']) {
      const res = await rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
      assertProblem(res, 400, 'invalid_url');
    }
  });

  it('FAIL-007: headers over the size limit answer 431 problem JSON and the connection closes', async () => {
    const res = await rawRequest(port, `GET /health/live HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(32 * 1024)}\r\n\r\n`);
    assertProblem(res, 431, 'header_too_large');
    assert.equal(res.headers.get('connection'), 'close');
  });

  it('FAIL-007: a request line that is not HTTP answers 400 problem JSON', async () => {
    const res = await rawRequest(port, 'NOT A REQUEST\r\n\r\n');
    assertProblem(res, 400, 'bad_request');
  });
});
