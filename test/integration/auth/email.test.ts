// Account email with SMTP_URL, end to end through a local SMTP server the test starts:
// password reset (FAIL-010 same answer, FAIL-013 every session revoked, single use,
// expiry, hashed storage), address verification, sign-in and MFA notices, a notice for
// a taken address at registration, and a failing mail server that never fails a request.
// Without SMTP_URL the email routes do not exist.
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Secret, TOTP } from 'otpauth';
import { createUser, login, strongPassword, type CreatedUser } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';
import { createTestClock, type TestClock } from '../../helpers/clock.ts';
import { codeIn, startSmtpServer, type LocalSmtpServer } from '../../helpers/smtp-server.ts';
import { waitFor } from '../../helpers/wait.ts';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { BIN, ROOT, childEnv, runCli, tempDir } from '../../helpers/processes.ts';
import { openDatabase } from '../../../src/platform/db/index.ts';
import { createLogger } from '../../../src/platform/logger.ts';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const RESET_SUBJECT = /^Reset your FinanceHub password$/;

describe('account email (SMTP_URL)', () => {
  let t: TestApp;
  let smtp: LocalSmtpServer;
  let clock: TestClock;

  before(async () => {
    smtp = await startSmtpServer();
    clock = createTestClock();
    t = await buildTestApp({
      worker: true,
      clock,
      env: {
        SMTP_URL: smtp.url,
        SMTP_FROM: 'FinanceHub <no-reply@financehub.test>',
        SMTP_TIMEOUT_MS: '5000',
        PASSWORD_RESET_PER_IP_PER_HOUR: '1000',
        JOBS_POLL_INTERVAL_MS: '500',
        JOBS_RETRY_LIMIT: '1',
        JOBS_RETRY_DELAY_SECONDS: '1',
        JOBS_RETRY_DELAY_MAX_SECONDS: '1',
      },
    });
  });
  after(async () => {
    await t.close();
    await smtp.close();
  });

  const requestReset = (email: string, remoteAddress = '127.0.0.1') =>
    t.app.inject({ method: 'POST', url: '/v1/auth/password-reset', payload: { email }, remoteAddress });
  const confirmReset = (token: string, newPassword: string) =>
    t.app.inject({ method: 'POST', url: '/v1/auth/password-reset/confirm', payload: { token, new_password: newPassword } });
  const resetCode = async (user: CreatedUser) => {
    const before = smtp.mails.length;
    assert.equal((await requestReset(user.email)).statusCode, 202);
    const mail = await waitFor('the reset mail', () => Promise.resolve(smtp.mails.slice(before).find((m) => m.to.includes(user.email) && RESET_SUBJECT.test(m.subject))));
    return codeIn(mail);
  };
  const me = (accessToken: string) => t.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(accessToken) });

  it('FAIL-010: a reset request answers the same 202 for an account\'s address and an unknown one; only the account gets the email', async () => {
    const user = await createUser(t);
    const unknown = `nobody-${randomUUID()}@example.test`;
    const known = await requestReset(user.email);
    const other = await requestReset(unknown);
    assert.equal(known.statusCode, 202);
    assert.equal(other.statusCode, 202);
    const strip = (body: string) => JSON.parse(body) as unknown;
    assert.deepEqual(strip(known.body), strip(other.body));
    const headerNames = (h: Record<string, unknown>) => Object.keys(h).filter((k) => !['x-request-id', 'date', 'ratelimit-remaining', 'ratelimit-reset'].includes(k)).sort();
    assert.deepEqual(headerNames(known.headers), headerNames(other.headers));
    await smtp.waitForMail(user.email, RESET_SUBJECT);
    // Both requests were worked by now or soon; the unknown one ends without a mail.
    await waitFor('both reset jobs done', async () => {
      const { rows } = await t.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${t.jobs.schema}.job WHERE name = 'auth.email' AND data->'payload'->>'email' = ANY($1) AND state = 'completed'`,
        [[user.email, unknown]],
      );
      return rows[0]?.n === 2 ? true : undefined;
    });
    assert.equal(smtp.mails.filter((m) => m.to.includes(unknown)).length, 0, 'no mail to an address without an account');
  });

  it('FAIL-015: reset requests are throttled per address, unknown addresses exactly like known ones (429 with Retry-After)', async () => {
    const user = await createUser(t);
    const unknown = `nobody-${randomUUID()}@example.test`;
    for (const email of [user.email, unknown]) {
      const codes: number[] = [];
      for (let i = 0; i < 4; i++) codes.push((await requestReset(email)).statusCode);
      assert.deepEqual(codes, [202, 202, 202, 429], email === unknown ? 'unknown address' : 'account address');
      const refused = await requestReset(email);
      assert.equal(refused.json<{ code: string }>().code, 'password_reset_throttled');
      assert.ok(Number(refused.headers['retry-after']) > 0);
    }
  });

  it('FAIL-013: the reset flow end to end: the emailed code sets the new password, every session is revoked, a notice follows', async () => {
    const user = await createUser(t);
    const second = await login(t, user.email, user.password);
    const code = await resetCode(user);
    const newPassword = strongPassword();
    const res = await confirmReset(code, newPassword);
    assert.equal(res.statusCode, 204, res.body);

    for (const token of [user.accessToken, second.accessToken]) assert.equal((await me(token)).statusCode, 401, 'access tokens of every session refused');
    for (const refresh of [user.refreshToken, second.refreshToken]) {
      assert.equal((await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: refresh } })).statusCode, 401, 'refresh tokens refused');
    }
    const oldLogin = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: user.email, password: user.password } });
    assert.equal(oldLogin.statusCode, 401, 'the old password no longer works');
    const fresh = await login(t, user.email, newPassword);
    const meBody = (await me(fresh.accessToken)).json<{ email_verified: boolean }>();
    assert.equal(meBody.email_verified, true, 'the reset proved the mailbox');
    await smtp.waitForMail(user.email, /password was reset/);
    const events = await t.db.query<{ details: Record<string, unknown> }>("SELECT details FROM security_events WHERE user_id = $1 AND event = 'password_changed'", [user.userId]);
    assert.equal(events.rows[0]?.details.source, 'email_reset');
    assert.equal(events.rows[0]?.details.sessions_revoked, 2);
    assert.equal(t.logs.lines.filter((l) => JSON.stringify(l).includes(code)).length, 0, 'the code never reaches a log line');
  });

  it('a reset code works once: reused, it is refused; of 10 parallel uses exactly one succeeds', async () => {
    const user = await createUser(t);
    const code = await resetCode(user);
    const results = await Promise.all(Array.from({ length: 10 }, () => confirmReset(code, strongPassword())));
    const statuses = results.map((r) => r.statusCode).sort();
    assert.deepEqual(statuses, [204, ...Array.from({ length: 9 }, () => 400)], results.map((r) => r.body).join('\n'));
    const again = await confirmReset(code, strongPassword());
    assert.equal(again.statusCode, 400);
    assert.equal(again.json<{ code: string }>().code, 'invalid_email_token');
  });

  it('an expired reset code is refused, and a weak new password leaves the code usable', async () => {
    const user = await createUser(t);
    const code = await resetCode(user);
    const weak = await confirmReset(code, 'password123');
    assert.equal(weak.statusCode, 400);
    assert.equal(weak.json<{ code: string }>().code, 'weak_password');
    clock.advance((t.config.smtp?.resetTokenTtlSeconds ?? 0) * 1000 + 1000);
    try {
      const expired = await confirmReset(code, strongPassword());
      assert.equal(expired.statusCode, 400);
      assert.equal(expired.json<{ code: string }>().code, 'invalid_email_token');
    } finally {
      clock.set(new Date());
    }
    await login(t, user.email, user.password);
  });

  it('the code is stored only as its SHA-256 and never travels through the job queue', async () => {
    const user = await createUser(t);
    const code = await resetCode(user);
    const stored = await t.db.query<{ token_hash: string }>("SELECT token_hash FROM email_tokens WHERE user_id = $1 AND purpose = 'password_reset'", [user.userId]);
    assert.deepEqual(
      stored.rows.map((r) => r.token_hash),
      [createHash('sha256').update(code).digest('hex')],
    );
    const inJobs = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t.jobs.schema}.job WHERE data::text LIKE $1`, [`%${code}%`]);
    assert.equal(inJobs.rows[0]?.n, 0);
    // A newer request replaces it: only the newest email's code works.
    const newer = await resetCode(user);
    assert.notEqual(newer, code);
    assert.equal((await confirmReset(code, strongPassword())).statusCode, 400);
    assert.equal((await confirmReset(newer, strongPassword())).statusCode, 204);
  });

  it('verification: registration emails a code; it verifies the address once (email_verified in /v1/me)', async () => {
    const user = await createUser(t);
    assert.equal((await me(user.accessToken)).json<{ email_verified: boolean }>().email_verified, false);
    const mail = await smtp.waitForMail(user.email, /Confirm your email address/);
    const code = codeIn(mail);
    const bad = await t.app.inject({ method: 'POST', url: '/v1/auth/verify-email', payload: { token: 'x'.repeat(43) } });
    assert.equal(bad.statusCode, 400);
    const ok = await t.app.inject({ method: 'POST', url: '/v1/auth/verify-email', payload: { token: code } });
    assert.equal(ok.statusCode, 204, ok.body);
    assert.equal((await me(user.accessToken)).json<{ email_verified: boolean }>().email_verified, true);
    const reused = await t.app.inject({ method: 'POST', url: '/v1/auth/verify-email', payload: { token: code } });
    assert.equal(reused.statusCode, 400);
    assert.equal(reused.json<{ code: string }>().code, 'invalid_email_token');
  });

  it('FAIL-010: registering a taken address answers like a new one; the owner gets a notice, not a verification', async () => {
    const owner = await createUser(t);
    const again = await t.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email: owner.email.toUpperCase(), password: strongPassword() } });
    const fresh = await t.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email: `new-${randomUUID()}@example.test`, password: strongPassword() } });
    assert.equal(again.statusCode, 201);
    assert.equal(fresh.statusCode, 201);
    assert.deepEqual(Object.keys(again.json<object>()).sort(), Object.keys(fresh.json<object>()).sort());
    assert.equal(again.json<{ email_verified: boolean }>().email_verified, false);
    await smtp.waitForMail(owner.email, /tried to register/);
  });

  it('a sign-in from an address new to the account sends a notice naming it', async () => {
    const user = await createUser(t);
    const res = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: user.email, password: user.password }, remoteAddress: '203.0.113.77', headers: { 'user-agent': 'NoticeTest/1.0' } });
    assert.equal(res.statusCode, 200, res.body);
    const notices = await waitFor('the sign-in notice from 203.0.113.77', () =>
      Promise.resolve(smtp.mails.find((m) => m.to.includes(user.email) && /New sign-in/.test(m.subject) && m.text.includes('203.0.113.77'))),
    );
    assert.match(notices.text, /NoticeTest\/1\.0/);
    // Known addresses send none: one notice job per new address (127.0.0.1 at sign-up, then 203.0.113.77).
    await login(t, user.email, user.password);
    const { rows } = await t.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${t.jobs.schema}.job WHERE name = 'auth.email' AND data->'payload'->>'kind' = 'sign_in' AND data->'payload'->>'user_id' = $1`,
      [user.userId],
    );
    assert.equal(rows[0]?.n, 2);
  });

  it('turning two-factor sign-in on sends a notice', async () => {
    const user = await createUser(t);
    const start = await t.app.inject({ method: 'POST', url: '/v1/me/mfa/totp', headers: user.headers });
    const secret = start.json<{ secret: string }>().secret;
    const code = new TOTP({ algorithm: 'SHA1', digits: 6, period: 30, secret: Secret.fromBase32(secret) }).generate({ timestamp: clock.now().getTime() });
    const confirm = await t.app.inject({ method: 'POST', url: '/v1/me/mfa/totp/confirm', headers: user.headers, payload: { code } });
    assert.equal(confirm.statusCode, 200, confirm.body);
    await smtp.waitForMail(user.email, /Two-factor sign-in was turned on/);
  });

  it('FAIL-021: a mail server that refuses never fails the request; the job is retried, then dead-lettered', async () => {
    const user = await createUser(t);
    await smtp.waitForMail(user.email, /Confirm your email address/);
    smtp.refuse = true;
    try {
      const res = await requestReset(user.email);
      assert.equal(res.statusCode, 202);
      const dead = await waitFor('the reset mail job in the dead-letter queue', async () => {
        const { rows } = await t.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM ${t.jobs.schema}.job WHERE name = 'dead-letter' AND data->'payload'->>'email' = $1`,
          [user.email],
        );
        return (rows[0]?.n ?? 0) > 0 ? rows[0]?.n : undefined;
      });
      assert.equal(dead, 1);
      assert.ok(smtp.refused >= 2, `tried ${smtp.refused} times`);
    } finally {
      smtp.refuse = false;
    }
  });

  it('FAIL-010: reset requests take as long for an unknown address as for an account\'s (10th percentiles of 80 interleaved requests each within 1.5×)', async () => {
    const users: CreatedUser[] = [];
    for (let i = 0; i < 40; i++) users.push(await createUser(t));
    const tenthPercentile = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 10)] ?? 0;
    // The mails of those sign-ups are sent first, then this app stops working the mail queue
    // (it is the last test here): sending happens only for accounts, off the request path by
    // design, and on a loaded machine it would land in some samples of one side only.
    await waitFor('the mail queue drained', async () => {
      const { rows } = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t.jobs.schema}.job WHERE name = 'auth.email' AND state IN ('created', 'retry', 'active')`);
      return rows[0]?.n === 0 ? true : undefined;
    });
    await t.jobs.boss().offWork('auth.email');
    await requestReset(`warm-${randomUUID()}@example.test`, '198.51.100.1');
    // An account's address and an unknown one are sent back to back, in alternating order,
    // 80 times. Machine noise only ever adds time: on a loaded machine each side's times
    // split into requests that ran through (~1.6 ms) and requests that were descheduled
    // (5–25 ms), in shares that differ by chance between the sides. So each side is read at
    // its 10th percentile, what its requests cost when the machine let them run, which noise
    // over up to nine tenths of the samples does not move; the median or a quartile can fall
    // on the edge between the two clusters. Under the full suite's load few requests run
    // through (a CI run had 2 of 40 on one side, 10 on the other), so each side takes 80
    // samples and its 10th percentile is its 8th fastest: with 40 it was the 4th, and one
    // side could fall short of fast requests by chance.
    // Every address, known or not, is asked for twice (under its limit), so the limiter state
    // matches too.
    const unknown = users.map(() => `nobody-${randomUUID()}@example.test`);
    const knownTimes: number[] = [];
    const unknownTimes: number[] = [];
    const timed = async (email: string) => {
      const started = process.hrtime.bigint();
      const res = await requestReset(email, '198.51.100.1');
      assert.equal(res.statusCode, 202, res.body);
      return Number(process.hrtime.bigint() - started);
    };
    for (let i = 0; i < 80; i++) {
      const known = users[i % 40]?.email ?? '';
      const other = unknown[i % 40] ?? '';
      let knownNs: number;
      let unknownNs: number;
      if (i % 2 === 0) {
        knownNs = await timed(known);
        unknownNs = await timed(other);
      } else {
        unknownNs = await timed(other);
        knownNs = await timed(known);
      }
      knownTimes.push(knownNs);
      unknownTimes.push(unknownNs);
    }
    const ratio = tenthPercentile(knownTimes) / tenthPercentile(unknownTimes);
    const ms = (values: number[]) => values.map((ns) => (ns / 1e6).toFixed(2)).join(' ');
    assert.ok(ratio < 1.5 && ratio > 1 / 1.5, `10th percentiles' ratio ${ratio.toFixed(2)}; account ms: ${ms(knownTimes)}; unknown ms: ${ms(unknownTimes)}`);
  });
});

describe('without SMTP_URL', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  it('the email routes do not exist, email_verified is false, and registration answers 201 as before', async () => {
    const user = await createUser(t);
    assert.equal((await t.app.inject({ method: 'POST', url: '/v1/auth/password-reset', payload: { email: user.email } })).statusCode, 404);
    assert.equal((await t.app.inject({ method: 'POST', url: '/v1/auth/verify-email', payload: { token: 'x'.repeat(43) } })).statusCode, 404);
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/me', headers: user.headers })).json<{ email_verified: boolean }>().email_verified, false);
    assert.equal(t.jobs.names().includes('auth.email'), false);
  });
});

describe('the CLI with SMTP_URL', () => {
  it('users reset-password and users reset-mfa enqueue a notice to the owner in the change\'s transaction', async () => {
    const tmp = tempDir();
    try {
      const dataDir = path.join(tmp.dir, 'db');
      // Nothing listens on port 9: the CLI only enqueues, a worker would send.
      const env = { DATA_DIR: dataDir, LOG_LEVEL: 'error', SMTP_URL: 'smtp://127.0.0.1:9', SMTP_FROM: 'no-reply@financehub.test' };
      const withStdin = (args: string[], input: string) =>
        new Promise<number | null>((resolve) => {
          const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: childEnv(env), stdio: ['pipe', 'ignore', 'ignore'] });
          child.on('close', resolve);
          child.stdin.end(input);
        });
      assert.equal(await withStdin(['users', 'create', '--email', 'lost@example.test'], `${strongPassword()}\n`), 0);
      const open = () =>
        openDatabase({ dataDir, databaseUrl: undefined, databasePoolMin: 0, databasePoolMax: 1, databaseConnectTimeoutMs: 1000, databaseStatementTimeoutMs: 1000, slowQueryMs: 10_000 }, createLogger('silent'));
      let db = await open();
      try {
        await db.query(`INSERT INTO mfa_totp (user_id, secret_sealed, enabled_at, created_at) SELECT id, 'v1.x.y.z', now(), now() FROM users`);
      } finally {
        await db.close();
      }
      assert.equal(await withStdin(['users', 'reset-password', 'lost@example.test'], `${strongPassword()}\n`), 0);
      const reset = await runCli(['users', 'reset-mfa', 'lost@example.test'], env);
      assert.equal(reset.code, 0, reset.stderr);
      db = await open();
      try {
        const { rows } = await db.query<{ kind: string; detail: string }>(
          `SELECT data->'payload'->>'kind' AS kind, coalesce(data->'payload'->>'how', data->'payload'->>'change') AS detail
             FROM pgboss.job WHERE name = 'auth.email' ORDER BY created_on`,
        );
        assert.deepEqual(rows.map((r) => [r.kind, r.detail]), [['password_changed', 'operator'], ['mfa_changed', 'reset']]);
      } finally {
        await db.close();
      }
    } finally {
      tmp.remove();
    }
  });
});
