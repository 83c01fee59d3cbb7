import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createUser, strongPassword } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';
import { createTestClock } from '../../helpers/clock.ts';

describe('no secrets in logs (FAIL-003)', () => {
  let t: TestApp;
  const clock = createTestClock();
  before(async () => {
    t = await buildTestApp({ clock, env: { LOG_LEVEL: 'debug', REFRESH_REUSE_GRACE: '1' } });
  });
  after(() => t.close());

  it('FAIL-003: no password or token appears in any captured log line across register, login, refresh, reuse and logout', async () => {
    const secrets: string[] = [];
    const user = await createUser(t);
    secrets.push(user.password, user.accessToken, user.refreshToken);

    const wrongPassword = strongPassword();
    secrets.push(wrongPassword);
    const failed = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: user.email, password: wrongPassword } });
    assert.equal(failed.statusCode, 401);
    const unknownPassword = strongPassword();
    secrets.push(unknownPassword);
    await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'unknown@example.test', password: unknownPassword } });
    const weak = 'password1234';
    const weakRes = await t.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email: 'weak-logs@example.test', password: weak } });
    assert.equal(weakRes.statusCode, 400);
    secrets.push(weak);

    const refreshed = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: user.refreshToken } });
    assert.equal(refreshed.statusCode, 200);
    const pair = refreshed.json<{ access_token: string; refresh_token: string }>();
    secrets.push(pair.access_token, pair.refresh_token);
    // A bearer token sent where it is not valid, and in a query string.
    await t.app.inject({ method: 'GET', url: `/v1/me?access_token=${pair.access_token}`, headers: { authorization: `Bearer ${pair.access_token}` } });
    clock.advance(2_000);
    const reused = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: user.refreshToken } });
    assert.equal(reused.statusCode, 401);

    const other = await createUser(t);
    secrets.push(other.password, other.accessToken, other.refreshToken);
    const logout = await t.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: other.headers });
    assert.equal(logout.statusCode, 204);

    const text = t.logs.text();
    assert.ok(t.logs.raw.length > 20, 'the flow was logged');
    assert.ok(t.logs.events('login_succeeded').length >= 2 && t.logs.events('refresh_token_reused').length === 1, 'security events were logged');
    for (const secret of secrets) {
      assert.ok(!text.includes(secret), `a secret (${secret.length} chars) appears in the logs`);
      // Nor any distinctive part of a JWT (its signature).
      const signature = secret.split('.')[2];
      if (signature !== undefined) assert.ok(!text.includes(signature));
    }

    const stored = await t.db.query<{ row: string }>('SELECT row_to_json(e)::text AS row FROM security_events e');
    const storedText = stored.rows.map((r) => r.row).join('\n');
    for (const secret of secrets) assert.ok(!storedText.includes(secret), 'a secret appears in security_events');
  });
});
