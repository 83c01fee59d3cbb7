import assert from 'node:assert/strict';
import { createHmac, createPublicKey, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { exportSPKI, generateKeyPair, importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';
import { createUser, type CreatedUser } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';
import { createTestClock, type TestClock } from '../../helpers/clock.ts';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('access tokens (FAIL-006)', () => {
  let t: TestApp;
  let clock: TestClock;
  let user: CreatedUser;
  let kid: string;
  let privateJwk: JWK;
  let publicJwk: JWK;
  let signingKey: CryptoKey;

  before(async () => {
    clock = createTestClock();
    t = await buildTestApp({ clock, env: { ACCESS_TOKEN_TTL: '1' } });
    user = await createUser(t);
    const { rows } = await t.db.query<{ kid: string; private_jwk: JWK; public_jwk: JWK }>(
      'SELECT kid, private_jwk, public_jwk FROM jwt_keys WHERE retired_at IS NULL',
    );
    const row = rows[0];
    assert.ok(row);
    ({ kid } = row);
    privateJwk = row.private_jwk;
    publicJwk = row.public_jwk;
    signingKey = (await importJWK(privateJwk, 'EdDSA')) as CryptoKey;
  });
  after(() => t.close());

  const me = (token: string) => t.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${token}` } });

  /** A token signed with the server's real key; `override` breaks exactly one thing. */
  const forge = async (override: { claims?: Record<string, unknown>; header?: Record<string, unknown> } = {}) => {
    const now = Math.floor(clock.now().getTime() / 1000);
    const claims = {
      iss: t.config.jwtIssuer,
      aud: t.config.jwtAudience,
      sub: user.userId,
      sid: user.sessionId,
      iat: now,
      nbf: now,
      exp: now + 60,
      jti: randomUUID(),
      token_use: 'access',
      ...override.claims,
    };
    return new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid, typ: 'at+jwt', ...override.header }).sign(signingKey);
  };

  const assertRefused = async (token: string, what: string) => {
    const res = await me(token);
    assert.equal(res.statusCode, 401, `${what} must be refused`);
    assert.equal(res.json<{ code: string }>().code, 'authentication_failed');
  };

  it('control: a correctly formed token signed with the real key is accepted (so the refusals below are meaningful)', async () => {
    assert.equal((await me(await forge())).statusCode, 200);
  });

  it('FAIL-006: an expired access token is refused (ACCESS_TOKEN_TTL=1 and the clock moved on)', async () => {
    const fresh = await createUser(t);
    assert.equal((await me(fresh.accessToken)).statusCode, 200);
    clock.advance(2_000);
    await assertRefused(fresh.accessToken, 'expired token');
    await assertRefused(await forge({ claims: { exp: Math.floor(clock.now().getTime() / 1000) - 1 } }), 'forged expired token');
  });

  it('FAIL-006: a not-yet-valid token (nbf in the future) is refused', async () => {
    const now = Math.floor(clock.now().getTime() / 1000);
    await assertRefused(await forge({ claims: { nbf: now + 30, exp: now + 90 } }), 'nbf in the future');
  });

  it('FAIL-006: a token issued in the future (iat beyond the 5 s skew, nbf now) is refused; within the skew it passes', async () => {
    const now = Math.floor(clock.now().getTime() / 1000);
    await assertRefused(await forge({ claims: { iat: now + 3600, nbf: now, exp: now + 60 } }), 'iat an hour ahead');
    await assertRefused(await forge({ claims: { iat: now + 6, nbf: now, exp: now + 60 } }), 'iat 6 s ahead');
    assert.equal((await me(await forge({ claims: { iat: now + 4, nbf: now, exp: now + 60 } }))).statusCode, 200, 'iat 4 s ahead: clock skew');
  });

  it('FAIL-006: a wrong issuer or audience is refused', async () => {
    await assertRefused(await forge({ claims: { iss: 'someone-else' } }), 'wrong issuer');
    await assertRefused(await forge({ claims: { aud: 'another-api' } }), 'wrong audience');
    await assertRefused(await forge({ claims: { aud: [t.config.jwtAudience, 'x'].reverse().slice(0, 1) } }), 'audience list without ours');
  });

  it('FAIL-006: missing claims, a wrong token type or a wrong header type are refused', async () => {
    await assertRefused(await forge({ claims: { token_use: 'refresh' } }), 'token_use refresh');
    await assertRefused(await forge({ claims: { token_use: undefined } }), 'no token_use');
    await assertRefused(await forge({ claims: { sid: undefined } }), 'no sid');
    await assertRefused(await forge({ claims: { jti: undefined } }), 'no jti');
    await assertRefused(await forge({ claims: { nbf: undefined } }), 'no nbf');
    await assertRefused(await forge({ header: { typ: 'JWT' } }), 'typ JWT');
    await assertRefused(await forge({ header: { kid: 'unknown-kid' } }), 'unknown kid');
  });

  it('FAIL-006: alg none is refused', async () => {
    const now = Math.floor(clock.now().getTime() / 1000);
    const payload = { iss: t.config.jwtIssuer, aud: t.config.jwtAudience, sub: user.userId, sid: user.sessionId, iat: now, nbf: now, exp: now + 60, jti: randomUUID(), token_use: 'access' };
    for (const alg of ['none', 'None', 'NONE']) {
      await assertRefused(`${b64({ alg, kid, typ: 'at+jwt' })}.${b64(payload)}.`, `alg ${alg}`);
    }
  });

  it('FAIL-006: HS256 signed with the public key (algorithm confusion) is refused', async () => {
    const now = Math.floor(clock.now().getTime() / 1000);
    const payload = { iss: t.config.jwtIssuer, aud: t.config.jwtAudience, sub: user.userId, sid: user.sessionId, iat: now, nbf: now, exp: now + 60, jti: randomUUID(), token_use: 'access' };
    const pem = await exportSPKI((await importJWK(publicJwk, 'EdDSA', { extractable: true })) as CryptoKey);
    const der = createPublicKey(pem).export({ format: 'der', type: 'spki' });
    const secrets: Array<[string, Buffer | string]> = [
      ['PEM', pem],
      ['DER', der],
      ['JWK x', Buffer.from(String(publicJwk.x), 'base64url')],
      ['JWK JSON', JSON.stringify(publicJwk)],
    ];
    for (const [name, secret] of secrets) {
      const signingInput = `${b64({ alg: 'HS256', kid, typ: 'at+jwt' })}.${b64(payload)}`;
      const signature = createHmac('sha256', secret).update(signingInput).digest('base64url');
      await assertRefused(`${signingInput}.${signature}`, `HS256 with the public key as ${name}`);
    }
  });

  it('FAIL-006: a token signed by another key, even with our kid, is refused', async () => {
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const now = Math.floor(clock.now().getTime() / 1000);
    const token = await new SignJWT({ sid: user.sessionId, token_use: 'access' })
      .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'at+jwt' })
      .setIssuer(t.config.jwtIssuer)
      .setAudience(t.config.jwtAudience)
      .setSubject(user.userId)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + 60)
      .setJti(randomUUID())
      .sign(privateKey);
    await assertRefused(token, 'foreign key');
  });

  it('FAIL-006: a validly signed token whose sid has no session row, or names another user\'s session, is refused', async () => {
    await assertRefused(await forge({ claims: { sid: randomUUID() } }), 'unknown session id');
    const other = await createUser(t);
    await assertRefused(await forge({ claims: { sid: other.sessionId } }), "another user's session");
    assert.equal((await me(await forge())).statusCode, 200, 'the same token with its own session passes');
  });

  it('FAIL-006: a refresh token presented as an access token is refused', async () => {
    const fresh = await createUser(t);
    await assertRefused(fresh.refreshToken, 'refresh token as bearer');
  });

  it('FAIL-006: a token for a user that does not exist, or a disabled user, is refused', async () => {
    await assertRefused(await forge({ claims: { sub: randomUUID() } }), 'unknown subject');
    const victim = await createUser(t);
    await t.db.query('UPDATE users SET disabled = true WHERE id = $1', [victim.userId]);
    clock.advance(6_000); // past the guard's user cache
    const now = Math.floor(clock.now().getTime() / 1000);
    const token = await new SignJWT({ sid: victim.sessionId, token_use: 'access' })
      .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'at+jwt' })
      .setIssuer(t.config.jwtIssuer)
      .setAudience(t.config.jwtAudience)
      .setSubject(victim.userId)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + 60)
      .setJti(randomUUID())
      .sign(signingKey);
    await assertRefused(token, 'disabled user');
  });

  it('issued tokens carry kid, typ at+jwt and the claims iss, aud, sub, sid, iat, nbf, exp, jti, token_use', async () => {
    const fresh = await createUser(t);
    const [header, payload] = fresh.accessToken.split('.').slice(0, 2).map((p) => JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>);
    assert.deepEqual({ alg: header?.alg, kid: header?.kid, typ: header?.typ }, { alg: 'EdDSA', kid, typ: 'at+jwt' });
    assert.deepEqual(Object.keys(payload ?? {}).sort(), ['aud', 'exp', 'iat', 'iss', 'jti', 'nbf', 'sid', 'sub', 'token_use']);
    assert.equal(payload?.token_use, 'access');
    assert.equal(Number(payload?.exp) - Number(payload?.iat), 1);
  });
});
