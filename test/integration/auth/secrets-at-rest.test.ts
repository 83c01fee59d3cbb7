// Secrets at rest: signing keys sealed with JWT_KEYS_ENCRYPTION_KEY (FAIL-006), and the
// CLI that resets a user's two-factor sign-in.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createUser, strongPassword } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';
import { ROOT, BIN, childEnv, runCli, tempDir } from '../../helpers/processes.ts';
import { spawn } from 'node:child_process';
import { openDatabase } from '../../../src/platform/db/index.ts';
import { createLogger } from '../../../src/platform/logger.ts';
import { systemClock } from '../../../src/platform/clock.ts';
import { createKeyStore, KeyConfigError } from '../../../src/modules/auth/index.ts';
import { createAccessTokens } from '../../../src/modules/auth/tokens.ts';
import { createPasswordHasher, OWASP_MINIMUM } from '../../../src/modules/users/index.ts';

/** The key store an app would build on this test app's database. */
const keyStoreOn = (t: TestApp, jwtKeysEncryptionKey: string | undefined) =>
  createKeyStore({ db: t.db, clock: systemClock, logger: createLogger('silent'), accessTokenTtlSeconds: 900, jwtKeys: undefined, jwtKeysFile: undefined, jwtKeysEncryptionKey });

const KEY = 'k'.repeat(16) + 'e'.repeat(16) + 'y'.repeat(8);
const OTHER_KEY = 'o'.repeat(40);

describe('JWT_KEYS_ENCRYPTION_KEY (FAIL-006)', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp({ env: { JWT_KEYS_ENCRYPTION_KEY: KEY } });
  });
  after(() => t.close());

  it('FAIL-006: the private signing key is stored sealed, not as a JWK; tokens still sign and verify', async () => {
    const user = await createUser(t);
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/me', headers: user.headers })).statusCode, 200);
    const { rows } = await t.db.query<{ private_jwk: Record<string, unknown> }>('SELECT private_jwk FROM jwt_keys');
    assert.ok(rows.length > 0);
    for (const row of rows) {
      assert.deepEqual(Object.keys(row.private_jwk), ['sealed']);
      assert.match(String(row.private_jwk.sealed), /^v1\./);
      assert.ok(!JSON.stringify(row.private_jwk).includes('"d"'));
    }
  });

  it('FAIL-006: a key store without the key, or with another key, refuses to load the keys with a message naming the variable', async () => {
    await assert.rejects(keyStoreOn(t, undefined), (err: unknown) => err instanceof KeyConfigError && /JWT_KEYS_ENCRYPTION_KEY/.test(err.message));
    await assert.rejects(keyStoreOn(t, OTHER_KEY), (err: unknown) => err instanceof KeyConfigError && /JWT_KEYS_ENCRYPTION_KEY/.test(err.message));
    await keyStoreOn(t, KEY);
  });
});

describe('keys stored in clear are sealed once the key is set', () => {
  it('FAIL-006: a start with JWT_KEYS_ENCRYPTION_KEY seals the existing clear key; its tokens keep verifying', async () => {
    const plain = await buildTestApp();
    try {
      const user = await createUser(plain);
      const before = await plain.db.query<{ private_jwk: Record<string, unknown> }>('SELECT private_jwk FROM jwt_keys');
      assert.equal(typeof before.rows[0]?.private_jwk.d, 'string', 'stored in clear without the key');
      // What the next start with the key does (the same key store the app builds, on its database).
      const sealed = await keyStoreOn(plain, KEY);
      const after = await plain.db.query<{ private_jwk: Record<string, unknown> }>('SELECT private_jwk FROM jwt_keys');
      assert.deepEqual(Object.keys(after.rows[0]?.private_jwk ?? {}), ['sealed']);
      const tokens = createAccessTokens({ keys: sealed, clock: systemClock, issuer: plain.config.jwtIssuer, audience: plain.config.jwtAudience, ttlSeconds: 60 });
      assert.equal((await tokens.verify(user.accessToken))?.userId, user.userId, 'tokens signed before keep verifying');
      await assert.rejects(keyStoreOn(plain, undefined), KeyConfigError);
    } finally {
      await plain.close();
    }
  });
});

describe('financehub users reset-mfa and reset-password', () => {
  it('reset-mfa removes the enrolment and recovery codes of that user only, records mfa_reset; reset-password sets a new hash and revokes every session; unknown emails exit 1', async () => {
    const tmp = tempDir();
    try {
      const dataDir = path.join(tmp.dir, 'db');
      const env = { DATA_DIR: dataDir, LOG_LEVEL: 'error' };
      const withStdin = (args: string[], input: string) =>
        new Promise<number | null>((resolve) => {
          const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: childEnv(env), stdio: ['pipe', 'ignore', 'ignore'] });
          child.on('close', resolve);
          child.stdin.end(input);
        });
      const create = (email: string) => withStdin(['users', 'create', '--email', email], `${strongPassword()}\n`);
      assert.equal(await create('lost@example.test'), 0);
      assert.equal(await create('keeps@example.test'), 0);
      const open = () =>
        openDatabase({ dataDir, databaseUrl: undefined, databasePoolMin: 0, databasePoolMax: 1, databaseConnectTimeoutMs: 1000, databaseStatementTimeoutMs: 1000, slowQueryMs: 10_000 }, createLogger('silent'));
      let db = await open();
      try {
        await db.query(`INSERT INTO mfa_totp (user_id, secret_sealed, enabled_at, created_at) SELECT id, 'v1.x.y.z', now(), now() FROM users`);
        await db.query(`INSERT INTO mfa_recovery_codes (user_id, code_hash) SELECT id, md5(id::text) FROM users`);
        await db.query(`INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at) SELECT gen_random_uuid(), id, now(), now(), now() + interval '1 day' FROM users`);
      } finally {
        await db.close();
      }
      const reset = await runCli(['users', 'reset-mfa', 'Lost@Example.test'], env);
      assert.equal(reset.code, 0, reset.stderr);
      assert.match(reset.stdout, /two-factor sign-in of lost@example\.test reset/);
      const unknown = await runCli(['users', 'reset-mfa', 'nobody@example.test'], env);
      assert.equal(unknown.code, 1);
      const newPassword = strongPassword();
      assert.equal(await withStdin(['users', 'reset-password', 'lost@example.test'], `${newPassword}\n`), 0);
      assert.equal(await withStdin(['users', 'reset-password', 'lost@example.test'], 'password123\n'), 1, 'weak password refused');
      assert.equal(await withStdin(['users', 'reset-password', 'nobody@example.test'], `${strongPassword()}\n`), 1);
      db = await open();
      try {
        const { rows } = await db.query<{ email: string; totp: number; codes: number }>(
          `SELECT u.email,
                  (SELECT count(*) FROM mfa_totp m WHERE m.user_id = u.id)::int AS totp,
                  (SELECT count(*) FROM mfa_recovery_codes r WHERE r.user_id = u.id)::int AS codes
             FROM users u ORDER BY u.email`,
        );
        assert.deepEqual(rows.map((r) => [r.email, r.totp, r.codes]), [['keeps@example.test', 1, 1], ['lost@example.test', 0, 0]]);
        const events = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM security_events WHERE event = 'mfa_reset'");
        assert.equal(events.rows[0]?.n, 1);
        const sessions = await db.query<{ email: string; live: number }>(
          'SELECT u.email, count(*) FILTER (WHERE s.revoked_at IS NULL)::int AS live FROM users u JOIN sessions s ON s.user_id = u.id GROUP BY u.email ORDER BY u.email',
        );
        assert.deepEqual(sessions.rows.map((r) => [r.email, r.live]), [['keeps@example.test', 1], ['lost@example.test', 0]]);
        const hash = await db.query<{ password_hash: string }>("SELECT password_hash FROM users WHERE email = 'lost@example.test'");
        const hasher = createPasswordHasher(OWASP_MINIMUM);
        assert.ok(await hasher.verify(hash.rows[0]?.password_hash ?? '', newPassword), 'the new password verifies');
      } finally {
        await db.close();
      }
    } finally {
      tmp.remove();
    }
  });
});
