import assert from 'node:assert/strict';
import { test } from 'node:test';
import { schemaErrorFormatter } from './errors.ts';

test('a schema refusal is an Error without a captured stack, and the stack limit is left as it was', () => {
  const before = Error.stackTraceLimit;
  const error = schemaErrorFormatter();
  assert.ok(error instanceof Error);
  // `stack` holds the message line only: no "    at …" frame was captured.
  assert.equal(error.stack, 'Error: validation failed');
  assert.equal(Error.stackTraceLimit, before);
  assert.match(String(new Error('x').stack), /\n {4}at /, 'other errors keep their stacks');
});
