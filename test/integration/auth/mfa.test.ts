// Two-factor sign-in (TOTP) end to end: enrol, confirm, login with a challenge, recovery
// codes, replay refused, challenge bound/single-use/expiring, attempts throttled and
// counted toward the lockout (FAIL-015), secrets sealed at rest, disable, REQUIRE_ADMIN_MFA.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Secret, TOTP } from 'otpauth';
import { createUser, type CreatedUser } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';
import { createTestClock, type TestClock } from '../../helpers/clock.ts';

const UA = 'mfa-test/1.0';

describe('two-factor sign-in (TOTP)', () => {
  let t: TestApp;
  let clock: TestClock;
  before(async () => {
    clock = createTestClock();
    t = await buildTestApp({ clock });
  });
  after(() => t.close());

  const codeAt = (secret: string, at: Date) =>
    new TOTP({ algorithm: 'SHA1', digits: 6, period: 30, secret: Secret.fromBase32(secret) }).generate({ timestamp: at.getTime() });
  /** Moves the clock to the start of the next 30 s step, so each code below is fresh. */
  const nextStep = () => clock.advance(30_000 - (clock.now().getTime() % 30_000) + 1000);

  const login = (user: { email: string; password: string }, headers: Record<string, string> = { 'user-agent': UA }) =>
    t.app.inject({ method: 'POST', url: '/v1/auth/login', headers, payload: { email: user.email, password: user.password } });
  const mfa = (mfaToken: string, code: string, headers: Record<string, string> = { 'user-agent': UA }) =>
    t.app.inject({ method: 'POST', url: '/v1/auth/mfa', headers, payload: { mfa_token: mfaToken, code } });
  const challenge = async (user: { email: string; password: string }) => {
    const res = await login(user);
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json<{ mfa_required: boolean; mfa_token: string; expires_in: number; access_token?: string }>();
    assert.equal(body.mfa_required, true);
    assert.equal(body.access_token, undefined, 'no tokens before the second factor');
    return body.mfa_token;
  };

  /** A user with MFA on: returns the base32 secret and the recovery codes. */
  async function enrolled(): Promise<CreatedUser & { secret: string; recoveryCodes: string[] }> {
    const user = await createUser(t);
    const start = await t.app.inject({ method: 'POST', url: '/v1/me/mfa/totp', headers: user.headers });
    assert.equal(start.statusCode, 201, start.body);
    const { secret, otpauth_uri: uri } = start.json<{ secret: string; otpauth_uri: string }>();
    assert.match(uri, /^otpauth:\/\/totp\/FinanceHub:/);
    assert.ok(uri.includes(`secret=${secret}`));
    const confirm = await t.app.inject({ method: 'POST', url: '/v1/me/mfa/totp/confirm', headers: user.headers, payload: { code: codeAt(secret, clock.now()) } });
    assert.equal(confirm.statusCode, 200, confirm.body);
    const recoveryCodes = confirm.json<{ recovery_codes: string[] }>().recovery_codes;
    nextStep();
    return { ...user, secret, recoveryCodes };
  }

  it('enrol → confirm turns MFA on with ten distinct recovery codes, stored hashed; the secret is sealed at rest', async () => {
    const user = await createUser(t);
    assert.deepEqual((await t.app.inject({ method: 'GET', url: '/v1/me/mfa', headers: user.headers })).json(), { enabled: false, pending: false, recovery_codes_left: 0 });
    const start = await t.app.inject({ method: 'POST', url: '/v1/me/mfa/totp', headers: user.headers });
    const { secret } = start.json<{ secret: string }>();
    assert.deepEqual((await t.app.inject({ method: 'GET', url: '/v1/me/mfa', headers: user.headers })).json(), { enabled: false, pending: true, recovery_codes_left: 0 });
    // Pending: login still answers tokens.
    assert.ok((await login(user)).json<{ access_token?: string }>().access_token);

    const wrong = await t.app.inject({ method: 'POST', url: '/v1/me/mfa/totp/confirm', headers: user.headers, payload: { code: codeAt(secret, new Date(clock.now().getTime() - 600_000)) } });
    assert.equal(wrong.statusCode, 400);
    assert.equal(wrong.json<{ code: string }>().code, 'invalid_mfa_code');
    const confirm = await t.app.inject({ method: 'POST', url: '/v1/me/mfa/totp/confirm', headers: user.headers, payload: { code: codeAt(secret, clock.now()) } });
    assert.equal(confirm.statusCode, 200);
    const codes = confirm.json<{ recovery_codes: string[] }>().recovery_codes;
    assert.equal(codes.length, 10);
    assert.equal(new Set(codes).size, 10);
    assert.deepEqual((await t.app.inject({ method: 'GET', url: '/v1/me/mfa', headers: user.headers })).json(), { enabled: true, pending: false, recovery_codes_left: 10 });
    const again = await t.app.inject({ method: 'POST', url: '/v1/me/mfa/totp', headers: user.headers });
    assert.equal(again.statusCode, 409);

    const stored = await t.db.query<{ secret_sealed: string }>('SELECT secret_sealed FROM mfa_totp WHERE user_id = $1', [user.userId]);
    const sealed = stored.rows[0]?.secret_sealed ?? '';
    assert.ok(!sealed.includes(secret), 'the secret is not stored in clear');
    assert.match(sealed, /^v1\./);
    const hashes = await t.db.query<{ code_hash: string }>('SELECT code_hash FROM mfa_recovery_codes WHERE user_id = $1', [user.userId]);
    assert.equal(hashes.rows.length, 10);
    for (const code of codes) assert.ok(!hashes.rows.some((r) => r.code_hash.includes(code.replace(/-/g, ''))));
    // Copied onto another user's row, the sealed secret does not decrypt (bound to its user).
    const other = await createUser(t);
    await t.db.query('INSERT INTO mfa_totp (user_id, secret_sealed, enabled_at, created_at) VALUES ($1, $2, $3, $3)', [other.userId, sealed, clock.now()]);
    nextStep();
    const copied = await mfa(await challenge(other), codeAt(secret, clock.now()));
    assert.equal(copied.statusCode, 401);
    assert.equal(copied.json<{ code: string }>().code, 'mfa_failed');
  });

  it('login with MFA: password → challenge → code gives tokens; the same code again (replay) is refused', async () => {
    const user = await enrolled();
    const code = codeAt(user.secret, clock.now());
    const first = await mfa(await challenge(user), code);
    assert.equal(first.statusCode, 200, first.body);
    const tokens = first.json<{ access_token: string; refresh_token: string }>();
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${tokens.access_token}` } })).statusCode, 200);

    const replay = await mfa(await challenge(user), code);
    assert.equal(replay.statusCode, 401, 'a code is accepted once within its window');
    assert.equal(replay.json<{ code: string }>().code, 'mfa_failed');
    // The previous step's code is older than the last accepted one: refused too.
    const older = await mfa(await challenge(user), codeAt(user.secret, new Date(clock.now().getTime() - 30_000)));
    assert.equal(older.statusCode, 401);
    nextStep();
    const fresh = await mfa(await challenge(user), codeAt(user.secret, clock.now()));
    assert.equal(fresh.statusCode, 200, 'the next step\'s code works');
  });

  it('two concurrent completions with one code: exactly one gets tokens', async () => {
    const user = await enrolled();
    const code = codeAt(user.secret, clock.now());
    const [a, b] = [await challenge(user), await challenge(user)];
    const results = await Promise.all([mfa(a, code), mfa(b, code)]);
    assert.deepEqual(results.map((r) => r.statusCode).sort(), [200, 401]);
  });

  it('a recovery code completes a login once; used again it is refused', async () => {
    const user = await enrolled();
    const recovery = user.recoveryCodes[0] ?? '';
    const ok = await mfa(await challenge(user), recovery.toUpperCase());
    assert.equal(ok.statusCode, 200, ok.body);
    const again = await mfa(await challenge(user), recovery);
    assert.equal(again.statusCode, 401);
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/me/mfa', headers: user.headers })).json<{ recovery_codes_left: number }>().recovery_codes_left, 9);
  });

  it('the challenge is single use, expires, and works only from the login\'s IP and user agent', async () => {
    const user = await enrolled();
    const token = await challenge(user);
    const elsewhere = await mfa(token, codeAt(user.secret, clock.now()), { 'user-agent': 'another-browser' });
    assert.equal(elsewhere.statusCode, 401);
    assert.equal(elsewhere.json<{ code: string }>().code, 'invalid_mfa_challenge');
    const used = await mfa(token, codeAt(user.secret, clock.now()));
    assert.equal(used.statusCode, 200);
    nextStep();
    const reused = await mfa(token, codeAt(user.secret, clock.now()));
    assert.equal(reused.statusCode, 401);
    assert.equal(reused.json<{ code: string }>().code, 'invalid_mfa_challenge');

    const expiring = await challenge(user);
    clock.advance(301_000);
    const late = await mfa(expiring, codeAt(user.secret, clock.now()));
    assert.equal(late.statusCode, 401);
    assert.equal(late.json<{ code: string }>().code, 'invalid_mfa_challenge');
    const garbage = await mfa('not-a-challenge', '123456');
    assert.equal(garbage.statusCode, 401);
    const malformed = await t.app.inject({ method: 'POST', url: '/v1/auth/mfa', payload: { mfa_token: token, code: 123456 } });
    assert.equal(malformed.statusCode, 400);
    // The stored challenge is a hash, not the token.
    const rows = await t.db.query<{ token_hash: string }>('SELECT token_hash FROM mfa_challenges WHERE user_id = $1', [user.userId]);
    assert.ok(rows.rows.every((r) => r.token_hash !== token && r.token_hash.length === 64));
  });

  it('FAIL-015: wrong codes count toward the login lockout; after it even a right code and the right password get 429', async () => {
    const user = await enrolled();
    const max = t.config.loginMaxConsecutiveFailures;
    const spare = await challenge(user);
    let token = await challenge(user);
    for (let i = 0; i < max; i++) {
      const res = await mfa(token, String(100000 + i));
      if (res.statusCode === 401 && res.json<{ code: string }>().code === 'invalid_mfa_challenge') {
        token = await challenge(user);
        i--;
        continue;
      }
      assert.equal(res.statusCode, 401, res.body);
      assert.equal(res.json<{ code: string }>().code, 'mfa_failed');
    }
    const right = await mfa(spare, codeAt(user.secret, clock.now()));
    assert.equal(right.statusCode, 429);
    assert.equal(right.json<{ code: string }>().code, 'login_throttled');
    assert.equal((await login(user)).statusCode, 429);
    const events = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM security_events WHERE user_id = $1 AND event = 'mfa_failed'", [user.userId]);
    assert.equal(events.rows[0]?.n, max);
  });

  it('FAIL-015: 50 parallel wrong codes from one address against a limit of 5: at most 5 are checked, the rest get 429', async () => {
    const user = await enrolled();
    const max = t.config.loginMaxConsecutiveFailures;
    // Ten challenges (a correct password counts as no failure), five guesses on each, so the
    // challenge's own bound of 5 attempts cannot be what stops them: only the throttle can.
    const tokens: string[] = [];
    for (let i = 0; i < 10; i++) tokens.push(await challenge(user));
    const responses = await Promise.all(Array.from({ length: 50 }, (_, i) => mfa(tokens[i % 10] ?? '', String(100000 + i))));
    const codes = responses.map((r) => `${r.statusCode}:${r.json<{ code: string }>().code}`);
    const checked = codes.filter((c) => c === '401:mfa_failed').length;
    const refused = codes.filter((c) => c === '429:login_throttled').length;
    assert.equal(checked + refused, 50, codes.join(','));
    assert.ok(checked <= max, `checked ${checked} of 50 codes against a limit of ${max}`);
    const events = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM security_events WHERE user_id = $1 AND event = 'mfa_failed'", [user.userId]);
    assert.equal(events.rows[0]?.n, checked);
    assert.equal((await login(user)).statusCode, 429, 'the pair is blocked: even the right password is refused');
  });

  it('a challenge allows at most 5 attempts', async () => {
    const user = await enrolled();
    const token = await challenge(user);
    // Another IP per attempt would dodge the pair counter; the challenge's own bound still ends it.
    await t.db.query('UPDATE mfa_challenges SET attempts = 5 WHERE user_id = $1', [user.userId]);
    const res = await mfa(token, codeAt(user.secret, clock.now()));
    assert.equal(res.statusCode, 401);
    assert.equal(res.json<{ code: string }>().code, 'invalid_mfa_challenge');
  });

  it('disable needs the password and a code; after it login answers tokens again', async () => {
    const user = await enrolled();
    const noCode = await t.app.inject({ method: 'DELETE', url: '/v1/me/mfa/totp', headers: user.headers, payload: { password: user.password } });
    assert.equal(noCode.statusCode, 400);
    const wrong = await t.app.inject({ method: 'DELETE', url: '/v1/me/mfa/totp', headers: user.headers, payload: { password: user.password, code: '000000' } });
    assert.equal(wrong.statusCode, 403);
    const ok = await t.app.inject({ method: 'DELETE', url: '/v1/me/mfa/totp', headers: user.headers, payload: { password: user.password, code: codeAt(user.secret, clock.now()) } });
    assert.equal(ok.statusCode, 204, ok.body);
    assert.ok((await login(user)).json<{ access_token?: string }>().access_token);
    const left = await t.db.query<{ n: number }>('SELECT (SELECT count(*) FROM mfa_totp WHERE user_id = $1)::int + (SELECT count(*) FROM mfa_recovery_codes WHERE user_id = $1)::int AS n', [user.userId]);
    assert.equal(left.rows[0]?.n, 0);
  });

  it('deleting an account with MFA on needs a code too', async () => {
    const user = await enrolled();
    const noCode = await t.app.inject({ method: 'DELETE', url: '/v1/me', headers: user.headers, payload: { password: user.password } });
    assert.equal(noCode.statusCode, 403);
    const ok = await t.app.inject({ method: 'DELETE', url: '/v1/me', headers: user.headers, payload: { password: user.password, code: user.recoveryCodes[1] } });
    assert.equal(ok.statusCode, 204, ok.body);
  });
});

describe('REQUIRE_ADMIN_MFA', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp({ env: { REQUIRE_ADMIN_MFA: 'true' } });
  });
  after(() => t.close());

  it('an admin without MFA is refused on admin routes (403) until they enrol', async () => {
    const admin = await createUser(t, { role: 'admin' });
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/admin/users', headers: admin.headers })).statusCode, 403);
    const start = await t.app.inject({ method: 'POST', url: '/v1/me/mfa/totp', headers: admin.headers });
    const { secret } = start.json<{ secret: string }>();
    const code = new TOTP({ secret: Secret.fromBase32(secret) }).generate();
    assert.equal((await t.app.inject({ method: 'POST', url: '/v1/me/mfa/totp/confirm', headers: admin.headers, payload: { code } })).statusCode, 200);
    // The guard caches users for a few seconds per instance: poll until the cached copy is re-read.
    let status = 0;
    for (let i = 0; i < 60 && status !== 200; i++) {
      status = (await t.app.inject({ method: 'GET', url: '/v1/admin/users', headers: admin.headers })).statusCode;
      if (status !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(status, 200);
  });
});
