import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '../../platform/errors.ts';
import { assertAcceptablePassword, createPasswordHasher, OWASP_MINIMUM } from './password.ts';
import { isValidEmail, normaliseEmail } from './users.service.ts';

const code = (err: unknown) => (err instanceof AppError ? err.code : String(err));

describe('email normalisation', () => {
  it('trims and lower-cases', () => {
    assert.equal(normaliseEmail('  Alice.Smith@Example.COM\t'), 'alice.smith@example.com');
  });

  it('accepts plain addresses and refuses malformed ones', () => {
    for (const ok of ['a@b.co', 'first.last+tag@sub.example.org', 'ünï@exämple.de']) assert.ok(isValidEmail(normaliseEmail(ok)), ok);
    for (const bad of ['', 'plain', 'a@b', '@example.com', 'a@@example.com', 'a b@example.com', 'a@exa mple.com', 'a\u0000@example.com', `${'x'.repeat(250)}@e.co`]) {
      assert.ok(!isValidEmail(normaliseEmail(bad)), JSON.stringify(bad));
    }
  });
});

describe('password policy', () => {
  it('accepts long unpredictable passwords', async () => {
    await assertAcceptablePassword('Correct-Horse-Battery-Staple-42');
    await assertAcceptablePassword('xK9#mQ2$vL7@pR4!');
  });

  it('refuses common, patterned and personal passwords as weak_password', async () => {
    for (const weak of ['password123', 'qwertyuiop', '1234567890', 'aaaaaaaaaaaa', 'iloveyou2024']) {
      await assert.rejects(assertAcceptablePassword(weak), (err: unknown) => code(err) === 'weak_password', weak);
    }
    await assert.rejects(assertAcceptablePassword('jonathan.smithers', ['jonathan.smithers@example.com', 'jonathan.smithers']), (err: unknown) => code(err) === 'weak_password');
  });

  it('enforces 10 to 1024 characters (counted as code points)', async () => {
    await assert.rejects(assertAcceptablePassword('Xk9#mQ2$v'), (err: unknown) => code(err) === 'validation_failed');
    await assert.rejects(assertAcceptablePassword('Xk9#'.repeat(257)), (err: unknown) => code(err) === 'validation_failed');
    // 10 emoji are 20 UTF-16 units but 10 characters.
    await assertAcceptablePassword('🦊🐙🦉🐝🦀🐢🦋🐬🦔🐧');
  });
});

describe('password hashing', () => {
  it('refuses a cost below the OWASP minimum', () => {
    assert.throws(() => createPasswordHasher({ ...OWASP_MINIMUM, memoryKib: 19_455 }));
    assert.throws(() => createPasswordHasher({ ...OWASP_MINIMUM, timeCost: 1 }));
  });

  it('hashes with argon2id and verifies; a wrong password or a malformed hash is false, never a throw', async () => {
    const hasher = createPasswordHasher(OWASP_MINIMUM);
    const hash = await hasher.hash('Correct-Horse-Battery-Staple-42');
    assert.match(hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    assert.equal(await hasher.verify(hash, 'Correct-Horse-Battery-Staple-42'), true);
    assert.equal(await hasher.verify(hash, 'correct-horse-battery-staple-42'), false);
    assert.equal(await hasher.verify('not-a-hash', 'anything'), false);
    await hasher.verifyDummy('anything');
  });

  it('FAIL-023: past the concurrency and queue bounds a verification is refused with 503, not queued without bound', async () => {
    const hasher = createPasswordHasher(OWASP_MINIMUM, { maxConcurrent: 1, maxQueue: 1 });
    const hash = await hasher.hash('Correct-Horse-Battery-Staple-42');
    const results = await Promise.allSettled([1, 2, 3, 4].map(() => hasher.verify(hash, 'Correct-Horse-Battery-Staple-42')));
    const passed = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected');
    assert.equal(passed.length, 2, 'one running and one queued verification complete');
    for (const r of passed) assert.equal(r.value, true);
    assert.equal(refused.length, 2);
    for (const r of refused) {
      assert.ok(r.reason instanceof AppError);
      assert.equal(r.reason.status, 503);
      assert.equal(r.reason.code, 'overloaded');
      assert.equal(r.reason.headers['retry-after'], '1');
    }
    // Capacity comes back once the work is done.
    assert.equal(await hasher.verify(hash, 'wrong-password-entirely'), false);
  });
});
