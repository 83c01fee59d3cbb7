import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createUser } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';
import { createTestClock, type TestClock } from '../../helpers/clock.ts';

interface Pair {
  access_token: string;
  refresh_token: string;
}

describe('refresh tokens: rotation, races, reuse (FAIL-001, S-010)', () => {
  let t: TestApp;
  let clock: TestClock;
  before(async () => {
    clock = createTestClock();
    t = await buildTestApp({ clock, env: { REFRESH_REUSE_GRACE: '10', REFRESH_IDLE_TIMEOUT: '600', REFRESH_TOKEN_TTL: '3600' } });
  });
  after(() => t.close());

  const refresh = (token: string) => t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: token } });
  const me = (accessToken: string) => t.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${accessToken}` } });

  it('FAIL-001: every refresh rotates; the new pair works and the old token cannot mint again', async () => {
    const user = await createUser(t);
    const first = await refresh(user.refreshToken);
    assert.equal(first.statusCode, 200, first.body);
    const pair = first.json<Pair>();
    assert.notEqual(pair.refresh_token, user.refreshToken);
    assert.equal((await me(pair.access_token)).statusCode, 200);
    const second = await refresh(pair.refresh_token);
    assert.equal(second.statusCode, 200);
  });

  it('FAIL-001: 50 parallel refreshes with one token mint exactly one successor; the session lives on with it', async () => {
    const user = await createUser(t);
    const responses = await Promise.all(Array.from({ length: 50 }, () => refresh(user.refreshToken)));
    const ok = responses.filter((r) => r.statusCode === 200);
    assert.equal(ok.length, 1, `statuses: ${responses.map((r) => r.statusCode).join(',')}`);
    for (const loser of responses.filter((r) => r.statusCode !== 200)) {
      assert.equal(loser.statusCode, 409);
      assert.equal(loser.json<{ code: string }>().code, 'refresh_in_progress');
    }
    const { rows } = await t.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id WHERE s.user_id = $1',
      [user.userId],
    );
    assert.equal(rows[0]?.n, 2, 'the original token and exactly one successor');

    const winner = ok[0]?.json<Pair>();
    assert.ok(winner);
    assert.equal((await me(winner.access_token)).statusCode, 200);
    assert.equal((await me(user.accessToken)).statusCode, 200, 'the losers did not revoke the session');
    const next = await refresh(winner.refresh_token);
    assert.equal(next.statusCode, 200, next.body);
  });

  it('FAIL-001: R0→R1→R2, then R0 after the grace → 401 refresh_token_reused; R2 and every access token of the session are refused', async () => {
    const user = await createUser(t);
    const other = await createUser(t);
    const r1 = (await refresh(user.refreshToken)).json<Pair>();
    const r2 = (await refresh(r1.refresh_token)).json<Pair>();
    assert.equal((await me(r2.access_token)).statusCode, 200);

    clock.advance(11_000);
    const reused = await refresh(user.refreshToken);
    assert.equal(reused.statusCode, 401);
    assert.equal(reused.json<{ code: string }>().code, 'refresh_token_reused');

    const afterReuse = await refresh(r2.refresh_token);
    assert.equal(afterReuse.statusCode, 401);
    for (const token of [user.accessToken, r1.access_token, r2.access_token]) {
      assert.equal((await me(token)).statusCode, 401);
    }
    // Other sessions are untouched.
    assert.equal((await me(other.accessToken)).statusCode, 200);

    const { rows } = await t.db.query<{ revoked_at: Date | null; revoke_reason: string | null }>(
      'SELECT revoked_at, revoke_reason FROM sessions WHERE id = $1',
      [user.sessionId],
    );
    assert.ok(rows[0]?.revoked_at);
    assert.equal(rows[0]?.revoke_reason, 'refresh_token_reused');
    const events = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM security_events WHERE event = 'refresh_token_reused' AND user_id = $1", [user.userId]);
    assert.equal(events.rows[0]?.n, 1);
    assert.ok(t.logs.events('refresh_token_reused').some((l) => l.userId === user.userId));
  });

  it('FAIL-001: a spent token inside the grace gets 409 and leaves the session alive', async () => {
    const user = await createUser(t);
    const r1 = (await refresh(user.refreshToken)).json<Pair>();
    clock.advance(5_000);
    const again = await refresh(user.refreshToken);
    assert.equal(again.statusCode, 409);
    assert.equal((await refresh(r1.refresh_token)).statusCode, 200);
  });

  it('refresh tokens are stored only as SHA-256 hashes', async () => {
    const user = await createUser(t);
    const { rows } = await t.db.query<{ token_hash: string }>(
      'SELECT rt.token_hash FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id WHERE s.user_id = $1',
      [user.userId],
    );
    assert.equal(rows.length, 1);
    assert.match(rows[0]?.token_hash ?? '', /^[0-9a-f]{64}$/);
    assert.notEqual(rows[0]?.token_hash, user.refreshToken);
  });

  it('an idle session expires (REFRESH_IDLE_TIMEOUT), and so does one past its absolute lifetime (REFRESH_TOKEN_TTL)', async () => {
    const idle = await createUser(t);
    clock.advance(601_000);
    const late = await refresh(idle.refreshToken);
    assert.equal(late.statusCode, 401);
    assert.equal(late.json<{ code: string }>().code, 'session_expired');

    const active = await createUser(t);
    let token = active.refreshToken;
    for (let elapsed = 0; elapsed < 3_500_000; elapsed += 500_000) {
      clock.advance(500_000);
      const res = await refresh(token);
      assert.equal(res.statusCode, 200, `kept alive at ${elapsed}`);
      token = res.json<Pair>().refresh_token;
    }
    clock.advance(200_000);
    const expired = await refresh(token);
    assert.equal(expired.statusCode, 401);
    assert.equal(expired.json<{ code: string }>().code, 'session_expired');
  });

  it('unknown, empty and malformed refresh tokens are refused without a 500', async () => {
    for (const payload of [{ refresh_token: 'x'.repeat(43) }, { refresh_token: '' }, { refresh_token: 42 }, {}, { refresh_token: 'a', extra: 1 }]) {
      const res = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload });
      assert.ok(res.statusCode === 401 || res.statusCode === 400, `${JSON.stringify(payload)} → ${res.statusCode}`);
    }
  });
});
