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
