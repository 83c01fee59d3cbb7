import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { createUser } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';

type Attempt = { email: string; password: string; ip?: string; headers?: Record<string, string> };

function attempt(t: TestApp, a: Attempt): Promise<LightMyRequestResponse> {
  return t.app.inject({
    method: 'POST',
    url: '/v1/auth/login',
    payload: { email: a.email, password: a.password },
    ...(a.ip === undefined ? {} : { remoteAddress: a.ip }),
    ...(a.headers === undefined ? {} : { headers: a.headers }),
  });
}

/** The body without its requestId, byte for byte as sent. */
function bodyWithoutRequestId(res: LightMyRequestResponse): string {
  const body = res.json<Record<string, unknown>>();
  assert.equal(typeof body.requestId, 'string');
  return res.body.replace(JSON.stringify(body.requestId), '"<id>"');
}

const WRONG = 'Wrong-password-but-long-9';

describe('login failures are indistinguishable (FAIL-010)', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  it('FAIL-010: unknown email, wrong password and a disabled (locked) account answer byte-identical 401 bodies except requestId', async () => {
    const known = await createUser(t);
    const disabled = await createUser(t);
    await t.db.query('UPDATE users SET disabled = true WHERE id = $1', [disabled.userId]);

    const unknown = await attempt(t, { email: 'nobody-here@example.test', password: WRONG, ip: '10.0.0.1' });
    const wrong = await attempt(t, { email: known.email, password: WRONG, ip: '10.0.0.2' });
    const locked = await attempt(t, { email: disabled.email, password: disabled.password, ip: '10.0.0.3' });
    for (const res of [unknown, wrong, locked]) {
      assert.equal(res.statusCode, 401);
      assert.equal(res.json<{ code: string }>().code, 'authentication_failed');
      assert.equal(res.headers['content-type'], unknown.headers['content-type']);
      assert.equal(res.headers['www-authenticate'], unknown.headers['www-authenticate']);
    }
    assert.equal(bodyWithoutRequestId(wrong), bodyWithoutRequestId(unknown));
    assert.equal(bodyWithoutRequestId(locked), bodyWithoutRequestId(unknown));
    assert.equal(
      JSON.stringify(Object.keys(unknown.headers).sort()),
      JSON.stringify(Object.keys(wrong.headers).sort()),
      'same header names',
    );
  });

  it('FAIL-010: comparable timing: medians of 30 unknown-email, wrong-password and disabled-account logins are within 1.5× of each other', async () => {
    const known = await createUser(t);
    const disabled = await createUser(t);
    await t.db.query('UPDATE users SET disabled = true WHERE id = $1', [disabled.userId]);
    const kinds = [
      { name: 'unknown email', email: 'nobody-timed@example.test', password: WRONG },
      { name: 'wrong password', email: known.email, password: WRONG },
      { name: 'disabled account', email: disabled.email, password: disabled.password },
    ];
    const samples: number[][] = kinds.map(() => []);
    // Interleaved, one address per attempt (no throttle in the way), so machine noise
    // falls on all three alike.
    for (let i = 0; i < 30; i++) {
      for (const [k, kind] of kinds.entries()) {
        const started = performance.now();
        const res = await attempt(t, { email: kind.email, password: kind.password, ip: `10.9.${k}.${i + 1}` });
        samples[k]?.push(performance.now() - started);
        assert.equal(res.statusCode, 401, `${kind.name}: ${res.body}`);
      }
    }
    const median = (values: number[]) => {
      const sorted = [...values].sort((a, b) => a - b);
      return ((sorted[14] ?? 0) + (sorted[15] ?? 0)) / 2;
    };
    const medians = samples.map(median);
    const report = kinds.map((kind, k) => `${kind.name} ${medians[k]?.toFixed(1)} ms`).join(', ');
    assert.ok(Math.max(...medians) <= 1.5 * Math.min(...medians), `medians not within 1.5×: ${report}`);
  });

  it('every failure and success is a security event (table and log), without the password', async () => {
    const user = await createUser(t);
    await attempt(t, { email: user.email, password: WRONG, ip: '10.0.1.1' });
    await attempt(t, { email: 'ghost@example.test', password: WRONG, ip: '10.0.1.1' });
    const { rows } = await t.db.query<{ event: string; user_id: string | null; ip: string; details: Record<string, unknown> }>(
      "SELECT event, user_id, ip, details FROM security_events WHERE ip = '10.0.1.1' ORDER BY id",
    );
    assert.deepEqual(rows.map((r) => [r.event, r.user_id, r.details.reason]), [
      ['login_failed', user.userId, 'wrong_password'],
      ['login_failed', null, 'unknown_user'],
    ]);
    const successes = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM security_events WHERE event = 'login_succeeded' AND user_id = $1", [user.userId]);
    assert.equal(successes.rows[0]?.n, 1);
    assert.ok(!JSON.stringify(rows).includes(WRONG));
    assert.ok(t.logs.events('login_failed').length >= 2);
  });
});

describe('lockout and throttling (FAIL-015)', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp({
      env: { LOGIN_MAX_CONSECUTIVE_FAILURES: '5', LOGIN_BLOCK_SECONDS: '1', LOGIN_BLOCK_MAX_SECONDS: '60', LOGIN_FAILURES_PER_EMAIL_PER_HOUR: '20', LOGIN_FAILURES_PER_IP_PER_DAY: '30' },
    });
  });
  after(() => t.close());

  /** Polls until the pair's block has passed (the block is 1-2 s here); no timing assertion. */
  const waitForUnblock = async (a: Attempt) => {
    for (let i = 0; i < 50; i++) {
      const res = await attempt(t, { ...a, password: WRONG });
      if (res.statusCode !== 429) return res;
      await sleep(200);
    }
    throw new Error('block never ended');
  };

  it('FAIL-015: the 6th wrong password from one IP is 429 with Retry-After; the right password while blocked is 429 too; after the block a success resets the pair', async () => {
    const user = await createUser(t);
    const ip = '192.0.2.10';
    for (let i = 1; i <= 5; i++) {
      const res = await attempt(t, { email: user.email, password: WRONG, ip });
      assert.equal(res.statusCode, 401, `failure ${i}`);
    }
    const sixth = await attempt(t, { email: user.email, password: WRONG, ip });
    assert.equal(sixth.statusCode, 429);
    assert.equal(sixth.json<{ code: string }>().code, 'login_throttled');
    assert.ok(Number(sixth.headers['retry-after']) >= 1);

    const right = await attempt(t, { email: user.email, password: user.password, ip });
    assert.equal(right.statusCode, 429, 'even the right password is refused while blocked');

    // Spoofed X-Forwarded-For does not move the caller to another pair (TRUST_PROXY is off).
    const spoofed = await attempt(t, { email: user.email, password: user.password, ip, headers: { 'x-forwarded-for': '203.0.113.99' } });
    assert.equal(spoofed.statusCode, 429);

    // Another IP is not blocked for this account.
    assert.equal((await attempt(t, { email: user.email, password: user.password, ip: '192.0.2.11' })).statusCode, 200);

    // After the block: the first try counts as one failure (401), then the right password succeeds...
    const afterBlock = await waitForUnblock({ email: user.email, password: WRONG, ip });
    assert.equal(afterBlock.statusCode, 401);
    assert.equal((await attempt(t, { email: user.email, password: user.password, ip })).statusCode, 200);
    // ...and resets the pair: four more failures are answered 401, not 429.
    for (let i = 1; i <= 4; i++) {
      assert.equal((await attempt(t, { email: user.email, password: WRONG, ip })).statusCode, 401, `after reset, failure ${i}`);
    }

    const events = await t.db.query<{ event: string }>("SELECT event FROM security_events WHERE ip = $1 AND event = 'login_blocked'", [ip]);
    assert.ok(events.rows.length >= 2, 'the block and the refused attempts are recorded');
  });

  it('FAIL-015: blocks grow: the second block of a pair lasts longer than the first', async () => {
    const user = await createUser(t);
    const ip = '192.0.2.20';
    for (let i = 0; i < 5; i++) await attempt(t, { email: user.email, password: WRONG, ip });
    const first = await attempt(t, { email: user.email, password: WRONG, ip });
    assert.equal(first.statusCode, 429);
    assert.equal(first.headers['retry-after'], '1');
    const unblocked = await waitForUnblock({ email: user.email, password: WRONG, ip });
    assert.equal(unblocked.statusCode, 401);
    for (let i = 0; i < 4; i++) await attempt(t, { email: user.email, password: WRONG, ip });
    const second = await attempt(t, { email: user.email, password: WRONG, ip });
    assert.equal(second.statusCode, 429);
    assert.equal(second.headers['retry-after'], '2');
  });

  it('FAIL-015: unknown emails are throttled exactly like known ones (same status, same body)', async () => {
    const user = await createUser(t);
    const known: LightMyRequestResponse[] = [];
    const unknown: LightMyRequestResponse[] = [];
    for (let i = 0; i < 6; i++) {
      known.push(await attempt(t, { email: user.email, password: WRONG, ip: '192.0.2.30' }));
      unknown.push(await attempt(t, { email: 'nobody-at-all@example.test', password: WRONG, ip: '192.0.2.31' }));
    }
    assert.deepEqual(known.map((r) => r.statusCode), [401, 401, 401, 401, 401, 429]);
    assert.deepEqual(unknown.map((r) => r.statusCode), known.map((r) => r.statusCode));
    const lastKnown = known[5];
    const lastUnknown = unknown[5];
    assert.ok(lastKnown && lastUnknown);
    assert.equal(bodyWithoutRequestId(lastKnown), bodyWithoutRequestId(lastUnknown));
  });

  it('FAIL-015: failures per email across many IPs are limited (LOGIN_FAILURES_PER_EMAIL_PER_HOUR)', async () => {
    const user = await createUser(t);
    for (let i = 0; i < 20; i++) {
      const res = await attempt(t, { email: user.email, password: WRONG, ip: `198.51.100.${i + 1}` });
      assert.equal(res.statusCode, 401, `ip ${i}`);
    }
    const fresh = await attempt(t, { email: user.email, password: user.password, ip: '198.51.100.200' });
    assert.equal(fresh.statusCode, 429, 'a new IP is refused for this email');
    assert.ok(Number(fresh.headers['retry-after']) > 1);
  });

  it('FAIL-015: failures per IP across many emails are limited (LOGIN_FAILURES_PER_IP_PER_DAY)', async () => {
    const user = await createUser(t);
    const ip = '203.0.113.7';
    for (let i = 0; i < 30; i++) {
      const res = await attempt(t, { email: `spray-${i}@example.test`, password: WRONG, ip });
      assert.equal(res.statusCode, 401, `email ${i}`);
    }
    const res = await attempt(t, { email: user.email, password: user.password, ip });
    assert.equal(res.statusCode, 429, 'the address is refused for every email');
  });
});

describe('lockout is atomic: the attempt is reserved before the password is verified (FAIL-015)', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp({
      env: { LOGIN_MAX_CONSECUTIVE_FAILURES: '5', LOGIN_BLOCK_SECONDS: '60', LOGIN_FAILURES_PER_EMAIL_PER_HOUR: '5', LOGIN_FAILURES_PER_IP_PER_DAY: '1000' },
    });
  });
  after(() => t.close());

  /** Verified attempts answer 200 or 401; the rest were refused before argon2 (429). */
  const tally = (responses: LightMyRequestResponse[]) => {
    const counts = { verified: 0, refused: 0, other: 0 };
    for (const r of responses) {
      if (r.statusCode === 200 || r.statusCode === 401) counts.verified += 1;
      else if (r.statusCode === 429) counts.refused += 1;
      else counts.other += 1;
    }
    return counts;
  };
  const failedLogins = async (userId: string) =>
    (await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM security_events WHERE event = 'login_failed' AND user_id = $1", [userId])).rows[0]?.n;

  it('FAIL-015: 50 parallel guesses from one address against a limit of 5: at most 5 are verified, the right password among them or refused', async () => {
    const user = await createUser(t);
    const ip = '192.0.2.70';
    const guesses = Array.from({ length: 50 }, (_, i) => attempt(t, { email: user.email, password: i === 49 ? user.password : `${WRONG}-${i}`, ip }));
    const responses = await Promise.all(guesses);
    const counts = tally(responses);
    assert.equal(counts.other, 0, responses.map((r) => r.statusCode).join(','));
    assert.ok(counts.verified <= 5, `verified ${counts.verified} of 50 against a limit of 5`);
    assert.equal(counts.verified + counts.refused, 50);
    const failures = await failedLogins(user.userId);
    assert.ok(failures !== undefined && failures <= 5, `argon2 said no ${failures} times`);
    // The pair is now blocked: even the right password is refused.
    assert.equal((await attempt(t, { email: user.email, password: user.password, ip })).statusCode, 429);
  });

  it('FAIL-015: 50 parallel guesses from 50 addresses against a per-email cap of 5: the cap is not overshot', async () => {
    const user = await createUser(t);
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => attempt(t, { email: user.email, password: `${WRONG}-${i}`, ip: `198.18.${Math.floor(i / 200)}.${(i % 200) + 1}` })),
    );
    const counts = tally(responses);
    assert.equal(counts.other, 0);
    assert.ok(counts.verified <= 5, `verified ${counts.verified} of 50 against a per-email cap of 5`);
    assert.equal(await failedLogins(user.userId), counts.verified);
    // Refused attempts gave their points back: the cap holds exactly 5 failures, no more.
    const next = await attempt(t, { email: user.email, password: WRONG, ip: '198.18.9.9' });
    assert.equal(next.statusCode, 429);
  });
});

describe('the owner keeps a way in past the per-email cap (FAIL-015)', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp({
      env: { LOGIN_MAX_CONSECUTIVE_FAILURES: '5', LOGIN_BLOCK_SECONDS: '60', LOGIN_FAILURES_PER_EMAIL_PER_HOUR: '5', LOGIN_FAILURES_PER_IP_PER_DAY: '1000' },
    });
  });
  after(() => t.close());

  /** The owner logs in from `home`; then an attacker spends the email's cap from five other addresses. */
  const targeted = async (home: string) => {
    const user = await createUser(t);
    const homeLogin = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: user.email, password: user.password }, remoteAddress: home });
    assert.equal(homeLogin.statusCode, 200);
    for (let i = 0; i < 5; i++) {
      assert.equal((await attempt(t, { email: user.email, password: WRONG, ip: `203.0.113.${100 + i}` })).statusCode, 401);
    }
    const attacker = await attempt(t, { email: user.email, password: user.password, ip: '203.0.113.200' });
    assert.equal(attacker.statusCode, 429, 'a new address is refused by the exhausted cap, even with the right password');
    return { user, deviceToken: homeLogin.json<{ refresh_token: string }>().refresh_token };
  };

  it('FAIL-015: a known address with no failures for the email logs in although the cap is spent; one failure there and it is refused too', async () => {
    const { user } = await targeted('192.0.2.80');
    const owner = await attempt(t, { email: user.email, password: user.password, ip: '192.0.2.80' });
    assert.equal(owner.statusCode, 200, owner.body);
    const { rows } = await t.db.query<{ details: Record<string, unknown> }>(
      "SELECT details FROM security_events WHERE event = 'login_succeeded' AND user_id = $1 AND ip = '192.0.2.80' ORDER BY id DESC LIMIT 1",
      [user.userId],
    );
    assert.equal(rows[0]?.details.past_email_cap, 'known_address');
    // A wrong password from the known address is verified once (401)...
    assert.equal((await attempt(t, { email: user.email, password: WRONG, ip: '192.0.2.80' })).statusCode, 401);
    // ...and then the address has a failure for this email: the cap applies to it again.
    assert.equal((await attempt(t, { email: user.email, password: user.password, ip: '192.0.2.80' })).statusCode, 429);
  });

  it('FAIL-015: a known device (its live refresh token) logs in from a new address; a foreign, spent or made-up token does not', async () => {
    const { user, deviceToken } = await targeted('192.0.2.81');
    const other = await createUser(t);
    const travel = '198.51.100.81';
    const withToken = (token: string, password = user.password, from = travel) =>
      t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: user.email, password, refresh_token: token }, remoteAddress: from });
    assert.equal((await withToken('made-up-token')).statusCode, 429);
    assert.equal((await withToken(other.refreshToken)).statusCode, 429, "another account's device is not this account's");
    // A wrong password from the known device is verified (401) and counts on its pair.
    assert.equal((await withToken(deviceToken, WRONG)).statusCode, 401);
    const ok = await withToken(deviceToken);
    assert.equal(ok.statusCode, 200, ok.body);
    // The device token was not consumed by the login: it still refreshes.
    const refreshed = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: deviceToken } });
    assert.equal(refreshed.statusCode, 200);
    // Now spent: it no longer names a known device (from an address the account never used).
    assert.equal((await withToken(deviceToken, user.password, '198.51.100.82')).statusCode, 429);
  });

  it('FAIL-015: an unknown email at its cap is refused the same way from any address (the way in reveals no account)', async () => {
    const email = 'nobody-owns-this@example.test';
    for (let i = 0; i < 5; i++) assert.equal((await attempt(t, { email, password: WRONG, ip: `203.0.113.${150 + i}` })).statusCode, 401);
    const refused = await attempt(t, { email, password: WRONG, ip: '127.0.0.1' });
    assert.equal(refused.statusCode, 429);
    assert.equal(refused.json<{ code: string }>().code, 'login_throttled');
  });
});

describe('an attempt that could not be verified is not a failure (FAIL-015, FAIL-023)', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp({ env: { LOGIN_MAX_CONSECUTIVE_FAILURES: '5', LOGIN_BLOCK_SECONDS: '60', ARGON2_MAX_CONCURRENT: '1', ARGON2_MAX_QUEUE: '0' } });
  });
  after(() => t.close());

  it('FAIL-015: guesses refused with 503 (argon2 over its bounds) give their reserved points back: the pair still allows exactly its limit of failures', async () => {
    const user = await createUser(t);
    const ip = '192.0.2.90';
    const burst = await Promise.all(Array.from({ length: 20 }, (_, i) => attempt(t, { email: user.email, password: `${WRONG}-${i}`, ip })));
    const statuses = burst.map((r) => r.statusCode);
    const failures = statuses.filter((s) => s === 401).length;
    assert.ok(statuses.includes(503), `some were refused as overloaded: ${statuses.join(',')}`);
    assert.ok(failures >= 1 && failures <= 5, statuses.join(','));
    // Only the verified failures count: the pair takes exactly 5 − failures more, then blocks.
    for (let i = failures; i < 5; i++) {
      const res = await attempt(t, { email: user.email, password: WRONG, ip });
      assert.equal(res.statusCode, 401, `failure ${i + 1} of 5 after the burst (${statuses.join(',')})`);
    }
    assert.equal((await attempt(t, { email: user.email, password: WRONG, ip })).statusCode, 429);
  });
});
