// FAIL-010 for registration: a new and a taken email get the same answer — status,
// headers, body shape and timing — and the taken email's owner gets a security event.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createUser, login, strongPassword } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';

const VARYING_HEADERS = new Set(['x-request-id', 'date', 'content-length', 'ratelimit-remaining', 'ratelimit-reset']);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

describe('registration without enumeration (FAIL-010)', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  const register = (email: string, password = strongPassword()) =>
    t.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email, password } });

  it('FAIL-010: a taken email answers like a new one: same status, headers and body shape; nothing changes for the owner', async () => {
    const owner = await createUser(t);
    const attackerPassword = strongPassword();
    const fresh = await register(`new-${randomUUID()}@example.test`);
    const taken = await register(owner.email.toUpperCase(), attackerPassword);

    assert.equal(fresh.statusCode, 201, fresh.body);
    assert.equal(taken.statusCode, 201, taken.body);
    const headerNames = (h: Record<string, unknown>) => Object.keys(h).filter((k) => !VARYING_HEADERS.has(k)).sort();
    assert.deepEqual(headerNames(taken.headers), headerNames(fresh.headers));
    for (const name of headerNames(fresh.headers)) assert.equal(taken.headers[name], fresh.headers[name], name);

    const a = fresh.json<Record<string, string>>();
    const b = taken.json<Record<string, string>>();
    assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort());
    assert.equal(b.email, owner.email);
    assert.equal(b.role, a.role);
    assert.equal(b.tier, a.tier);
    assert.match(b.id ?? '', /^[0-9a-f-]{36}$/);
    assert.notEqual(b.id, owner.userId, 'the owner\'s id is not revealed');
    assert.ok(Math.abs(Date.parse(b.created_at ?? '') - Date.parse(a.created_at ?? '')) < 60_000, 'created_at is "now" either way');

    // Nothing changed: one account, the owner's password still works, the attacker's does not.
    const { rows } = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM users WHERE email = $1', [owner.email]);
    assert.equal(rows[0]?.n, 1);
    await login(t, owner.email, owner.password);
    const attacker = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: owner.email, password: attackerPassword } });
    assert.equal(attacker.statusCode, 401);

    // The owner is told through a security event (no email address in it).
    const events = await t.db.query<{ user_id: string; details: Record<string, unknown> }>(
      "SELECT user_id, details FROM security_events WHERE event = 'registration_email_taken'",
    );
    assert.equal(events.rows.length, 1);
    assert.equal(events.rows[0]?.user_id, owner.userId);
    assert.ok(!JSON.stringify(events.rows[0]?.details).includes('@'));
  });

  it('FAIL-010: a weak password is refused the same way for a new and a taken email', async () => {
    const owner = await createUser(t);
    const fresh = await register(`new-${randomUUID()}@example.test`, 'password123');
    const taken = await register(owner.email, 'password123');
    assert.equal(fresh.statusCode, 400);
    assert.equal(taken.statusCode, 400);
    const strip = (body: string) => ({ ...JSON.parse(body), requestId: undefined }) as unknown;
    assert.deepEqual(strip(taken.body), strip(fresh.body));
  });

  it('FAIL-010: registering a taken email takes as long as a new one (medians of 24 samples within 1.5×)', async () => {
    const owner = await createUser(t);
    const samples = 24;
    const times = { fresh: [] as number[], taken: [] as number[] };
    // Warm-up, then interleaved so machine noise hits both sides alike.
    await register(`warm-${randomUUID()}@example.test`);
    await register(owner.email);
    for (let i = 0; i < samples; i++) {
      const order = i % 2 === 0 ? (['fresh', 'taken'] as const) : (['taken', 'fresh'] as const);
      for (const kind of order) {
        const email = kind === 'fresh' ? `timing-${randomUUID()}@example.test` : owner.email;
        const started = process.hrtime.bigint();
        const res = await register(email);
        times[kind].push(Number(process.hrtime.bigint() - started) / 1e6);
        assert.equal(res.statusCode, 201);
      }
    }
    const fresh = median(times.fresh);
    const taken = median(times.taken);
    const ratio = Math.max(fresh, taken) / Math.min(fresh, taken);
    assert.ok(ratio < 1.5, `median new ${fresh.toFixed(1)} ms, taken ${taken.toFixed(1)} ms, ratio ${ratio.toFixed(2)}`);
    // The work is argon2's: a taken email is not answered early.
    assert.ok(taken > 5, `taken-email registration took ${taken.toFixed(1)} ms: no hash was computed`);
  });
});
