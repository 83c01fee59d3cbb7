import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSecretBox, isSealed, SecretBoxError } from './secret-box.ts';

describe('secret box (AES-256-GCM)', () => {
  const box = createSecretBox('a-secret-of-at-least-32-characters!!', 'test');

  it('round-trips, with a fresh IV each time', () => {
    const a = box.seal('JBSWY3DPEHPK3PXP', 'user:1');
    const b = box.seal('JBSWY3DPEHPK3PXP', 'user:1');
    assert.notEqual(a, b);
    assert.ok(isSealed(a));
    assert.ok(!a.includes('JBSWY3DPEHPK3PXP'));
    assert.equal(box.open(a, 'user:1'), 'JBSWY3DPEHPK3PXP');
  });

  it('refuses another row\'s associated data, another key, another purpose, and any altered byte', () => {
    const sealed = box.seal('secret', 'user:1');
    assert.throws(() => box.open(sealed, 'user:2'), SecretBoxError);
    assert.throws(() => createSecretBox('another-secret-of-at-least-32-chars!', 'test').open(sealed, 'user:1'), SecretBoxError);
    assert.throws(() => createSecretBox('a-secret-of-at-least-32-characters!!', 'other').open(sealed, 'user:1'), SecretBoxError);
    const parts = sealed.split('.');
    const body = Buffer.from(parts[3] ?? '', 'base64url');
    body[0] = (body[0] ?? 0) ^ 1;
    assert.throws(() => box.open([parts[0], parts[1], parts[2], body.toString('base64url')].join('.'), 'user:1'), SecretBoxError);
    assert.throws(() => box.open('not sealed', 'user:1'), SecretBoxError);
  });
});
