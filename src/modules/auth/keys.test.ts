import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../config.ts';
import { generateKeyRecord, parseKeySet } from './keys.ts';

describe('JWT_KEYS parsing', () => {
  it('accepts a JWK Set of private keys and derives public parts without private members', async () => {
    const a = await generateKeyRecord('EdDSA', new Date());
    const b = await generateKeyRecord('ES256', new Date());
    const parsed = parseKeySet(JSON.stringify({ keys: [a.privateJwk, b.privateJwk] }), 'JWT_KEYS');
    assert.deepEqual(parsed.map((k) => [k.kid, k.alg]), [[a.kid, 'EdDSA'], [b.kid, 'ES256']]);
    for (const key of parsed) assert.equal(key.publicJwk.d, undefined);
  });

  it('refuses malformed sets with an error naming the variable', async () => {
    const good = (await generateKeyRecord('EdDSA', new Date())).privateJwk;
    const { d: _d, ...publicOnly } = good;
    const cases: unknown[] = [
      'not json',
      { keys: [] },
      { nokeys: true },
      { keys: [{ ...good, kid: undefined }] },
      { keys: [{ ...good, alg: 'HS256' }] },
      { keys: [{ ...good, alg: 'none' }] },
      { keys: [publicOnly] },
      { keys: [good, good] },
    ];
    for (const value of cases) {
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      assert.throws(() => parseKeySet(text, 'JWT_KEYS_FILE'), (err: unknown) => err instanceof ConfigError && err.message.startsWith('JWT_KEYS_FILE:'), text.slice(0, 60));
    }
  });
});
