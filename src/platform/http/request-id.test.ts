import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { requestIdGenerator } from './request-id.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const withHeader = (value: string | string[] | undefined) => ({ headers: { 'x-request-id': value } }) as unknown as IncomingMessage;

describe('requestIdGenerator', () => {
  it('S-014: keeps a well-formed incoming id only when the proxy is trusted', () => {
    assert.equal(requestIdGenerator(true)(withHeader('a.b:c_d-9')), 'a.b:c_d-9');
    assert.equal(requestIdGenerator(true)(withHeader('x'.repeat(128))), 'x'.repeat(128));
    assert.match(requestIdGenerator(false)(withHeader('a.b:c_d-9')), UUID);
  });

  it('FAIL-020: anything else gets a fresh UUID', () => {
    const generate = requestIdGenerator(true);
    for (const bad of [undefined, '', ' ', 'x'.repeat(129), 'a/b', 'a b', 'ä', 'a\nb', ['a', 'b']]) {
      assert.match(generate(withHeader(bad)), UUID, JSON.stringify(bad));
    }
    assert.notEqual(generate(withHeader(undefined)), generate(withHeader(undefined)));
  });
});
