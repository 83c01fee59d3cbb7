// Users for integration tests: registered and logged in through the real API; role and
// tier, when asked for, are set directly in the database (there is no public route for
// that). Passwords are random and strong, so zxcvbn accepts them.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import type { TestApp } from './build-test-app.ts';

export interface CreatedUser {
  userId: string;
  email: string;
  password: string;
  accessToken: string;
  refreshToken: string;
  sessionId: string;
  headers: { authorization: string };
}

export interface CreateUserOptions {
  email?: string;
  password?: string;
  role?: 'user' | 'admin';
  tier?: 'free' | 'pro';
}

/** A password zxcvbn scores 4: 18 random base64url characters with a fixed mixed-class prefix. */
export function strongPassword(): string {
  return `Fh7-${randomBytes(14).toString('base64url')}`;
}

/** The session id (`sid`) of an access token, read without verifying it. */
export function sessionIdOf(accessToken: string): string {
  const payload = accessToken.split('.')[1] ?? '';
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sid?: unknown };
  assert.equal(typeof claims.sid, 'string', 'access token carries a sid');
  return claims.sid as string;
}

export async function login(t: TestApp, email: string, password: string): Promise<{ accessToken: string; refreshToken: string; sessionId: string }> {
  const res = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password } });
  assert.equal(res.statusCode, 200, `login failed: ${res.body}`);
  const body = res.json<{ access_token: string; refresh_token: string }>();
  return { accessToken: body.access_token, refreshToken: body.refresh_token, sessionId: sessionIdOf(body.access_token) };
}

export async function createUser(t: TestApp, options: CreateUserOptions = {}): Promise<CreatedUser> {
  const email = options.email ?? `user-${randomUUID()}@example.test`;
  const password = options.password ?? strongPassword();
  const reg = await t.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email, password } });
  assert.equal(reg.statusCode, 201, `register failed: ${reg.body}`);
  const userId = reg.json<{ id: string }>().id;
  if (options.role !== undefined || options.tier !== undefined) {
    await t.db.query('UPDATE users SET role = COALESCE($2, role), tier = COALESCE($3, tier) WHERE id = $1', [
      userId,
      options.role ?? null,
      options.tier ?? null,
    ]);
  }
  const tokens = await login(t, email, password);
  return {
    userId,
    email: email.trim().toLowerCase(),
    password,
    ...tokens,
    headers: { authorization: `Bearer ${tokens.accessToken}` },
  };
}
