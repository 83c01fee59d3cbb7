import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';
import { rotateSigningKey } from '../../../src/cli/commands/keys.ts';
import { generateKeyRecord } from '../../../src/modules/auth/index.ts';
import { openDatabase } from '../../../src/platform/db/index.ts';
import { createLogger } from '../../../src/platform/logger.ts';
import { createUser, login, strongPassword } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';
import { createTestClock, type TestClock } from '../../helpers/clock.ts';
import { BIN, childEnv, ROOT, tempDir } from '../../helpers/processes.ts';

const kidOf = (token: string) => (JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString()) as { kid: string }).kid;

async function jwks(t: TestApp): Promise<JWK[]> {
  const res = await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
  assert.equal(res.statusCode, 200);
  return res.json<{ keys: JWK[] }>().keys;
}

describe('signing keys: generated, rotated, or given by JWT_KEYS', () => {
  let t: TestApp;
  let clock: TestClock;
  before(async () => {
    clock = createTestClock();
    t = await buildTestApp({ clock, env: { ACCESS_TOKEN_TTL: '900' } });
  });
  after(() => t.close());

  it('without ADMIN_EMAIL there is no admin at all', async () => {
    const { rows } = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM users WHERE role = 'admin'");
    assert.equal(rows[0]?.n, 0);
  });

  it('financehub keys rotate: new tokens use the new key, tokens of the old key keep working until they expire, then the old key stops verifying', async () => {
    const user = await createUser(t);
    const oldKid = kidOf(user.accessToken);
    const { rows } = await t.db.query<{ private_jwk: JWK }>('SELECT private_jwk FROM jwt_keys WHERE kid = $1', [oldKid]);
    const oldKey = (await importJWK(rows[0]?.private_jwk ?? {}, 'EdDSA')) as CryptoKey;

    const { added } = await rotateSigningKey(t.db, clock.now());
    assert.notEqual(added.kid, oldKid);
    const me = (token: string) => t.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${token}` } });
    assert.equal((await me(user.accessToken)).statusCode, 200, 'the old token still verifies right after rotation');

    clock.advance(61_000); // instances re-read keys within a minute
    const fresh = await login(t, user.email, user.password);
    assert.equal(kidOf(fresh.accessToken), added.kid, 'new tokens are signed with the new key');
    assert.equal((await me(user.accessToken)).statusCode, 200, 'old tokens keep working until they expire');
    assert.deepEqual((await jwks(t)).map((k) => k.kid).sort(), [oldKid, added.kid].sort());

    clock.advance(900_000 + 60_000); // past every token the old key signed, and the reload grace
    const kids = (await jwks(t)).map((k) => k.kid);
    assert.deepEqual(kids, [added.kid], 'the retired key is no longer published');
    const now = Math.floor(clock.now().getTime() / 1000);
    const lateToken = await new SignJWT({ sid: fresh.sessionId, token_use: 'access' })
      .setProtectedHeader({ alg: 'EdDSA', kid: oldKid, typ: 'at+jwt' })
      .setIssuer(t.config.jwtIssuer)
      .setAudience(t.config.jwtAudience)
      .setSubject(user.userId)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + 60)
      .setJti(randomUUID())
      .sign(oldKey);
    assert.equal((await me(lateToken)).statusCode, 401, 'a token signed with the retired key after its grace is refused');
  });

  it('JWT_KEYS: the first key signs, every listed key verifies, only public parts are published', async () => {
    const first = await generateKeyRecord('EdDSA', new Date());
    const second = await generateKeyRecord('EdDSA', new Date());
    const withEnv = await buildTestApp({ env: { JWT_KEYS: JSON.stringify({ keys: [first.privateJwk, second.privateJwk] }) } });
    try {
      const user = await createUser(withEnv);
      assert.equal(kidOf(user.accessToken), first.kid);
      const published = await jwks(withEnv);
      assert.deepEqual(published.map((k) => k.kid), [first.kid, second.kid]);
      assert.ok(published.every((k) => k.d === undefined));
      const now = Math.floor(Date.now() / 1000);
      const bySecond = await new SignJWT({ sid: user.sessionId, token_use: 'access' })
        .setProtectedHeader({ alg: 'EdDSA', kid: second.kid, typ: 'at+jwt' })
        .setIssuer(withEnv.config.jwtIssuer)
        .setAudience(withEnv.config.jwtAudience)
        .setSubject(user.userId)
        .setIssuedAt(now)
        .setNotBefore(now)
        .setExpirationTime(now + 60)
        .setJti(randomUUID())
        .sign(await importJWK(second.privateJwk, 'EdDSA'));
      const res = await withEnv.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${bySecond}` } });
      assert.equal(res.statusCode, 200);
      const stored = await withEnv.db.query<{ n: number }>('SELECT count(*)::int AS n FROM jwt_keys');
      assert.equal(stored.rows[0]?.n, 0, 'keys from the environment are not written to the database');
    } finally {
      await withEnv.close();
    }
  });
});

describe('the first admin: ADMIN_EMAIL/ADMIN_PASSWORD or financehub users create --admin', () => {
  it('ADMIN_EMAIL/ADMIN_PASSWORD create the admin at start, once', async () => {
    const password = strongPassword();
    const t = await buildTestApp({ env: { ADMIN_EMAIL: ' Root@Example.TEST ', ADMIN_PASSWORD: password } });
    try {
      const tokens = await login(t, 'root@example.test', password);
      const me = await t.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${tokens.accessToken}` } });
      assert.equal(me.json<{ role: string }>().role, 'admin');
      const { rows } = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM users WHERE role = 'admin'");
      assert.equal(rows[0]?.n, 1);
    } finally {
      await t.close();
    }
  });

  it('financehub users create --admin reads the password from stdin and creates the admin', async () => {
    const tmp = tempDir();
    try {
      const dataDir = path.join(tmp.dir, 'db');
      const password = strongPassword();
      const run = (args: string[], input: string) =>
        new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
          const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: childEnv({ DATA_DIR: dataDir, LOG_LEVEL: 'error' }), stdio: ['pipe', 'pipe', 'pipe'] });
          let stdout = '';
          let stderr = '';
          child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
          child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
          child.on('close', (code) => resolve({ code, stdout, stderr }));
          child.stdin.end(input);
        });
      const created = await run(['users', 'create', '--admin', '--email', 'Ops@Example.test'], `${password}\n`);
      assert.equal(created.code, 0, created.stderr);
      assert.match(created.stdout, /created admin ops@example\.test/);
      assert.ok(!created.stdout.includes(password) && !created.stderr.includes(password));
      const again = await run(['users', 'create', '--admin', '--email', 'ops@example.test'], `${password}\n`);
      assert.equal(again.code, 1);
      const weak = await run(['users', 'create', '--email', 'weak@example.test'], 'password123\n');
      assert.equal(weak.code, 1);
      assert.match(weak.stderr, /too easy to guess/);

      const db = await openDatabase({ dataDir, databaseUrl: undefined, databasePoolMin: 0, databasePoolMax: 1, databaseConnectTimeoutMs: 1000, databaseStatementTimeoutMs: 1000, slowQueryMs: 10_000 }, createLogger('silent'));
      try {
        const { rows } = await db.query<{ email: string; role: string; password_hash: string }>('SELECT email, role, password_hash FROM users');
        assert.deepEqual(rows.map((r) => [r.email, r.role]), [['ops@example.test', 'admin']]);
        assert.match(rows[0]?.password_hash ?? '', /^\$argon2id\$/);
      } finally {
        await db.close();
      }
    } finally {
      tmp.remove();
    }
  });
});
