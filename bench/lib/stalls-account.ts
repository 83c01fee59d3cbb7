// Stall cases of the auth, account, two-factor and admin-user routes. Every write that
// changes or ends an account happens to a throwaway user made for that repetition, so the
// main user's sessions and data stay as the other groups expect them.
import { randomUUID } from 'node:crypto';
import { addSessions, newUser, strongPassword, enableMfa, totpCode, type Api, type BenchUser } from './api.ts';
import type { CaseGroup, StallsFixture } from './stalls.ts';

/** Sessions of the users whose sessions a route lists or revokes (sessions are not capped per user). */
const SESSIONS = 50;
/** Users in the system before the admin list is read: more than its largest page (100). */
const USERS = 110;
/** The longest password the API accepts (argon2id hashes all of it; zxcvbn scores the first 32 characters). */
const PASSWORD_MAX = 1024;
/** The longest email the users service stores. */
const EMAIL_MAX = 254;

/** A unique, valid email of exactly EMAIL_MAX characters. */
function longestEmail(): string {
  const head = `r-${randomUUID()}-`;
  const domain = '@bench.test';
  return `${head}${'a'.repeat(EMAIL_MAX - head.length - domain.length)}${domain}`;
}

/** A user who owns one portfolio of the fixture's `rows` transactions (the largest portfolio). */
export async function userWithLargePortfolio(f: StallsFixture, prefix: string): Promise<BenchUser> {
  const user = await newUser(f.api, prefix);
  const { id } = await f.api.json<{ id: string }>('POST', '/v1/portfolios', user.token, 201, { name: 'Large', base_currency: 'USD' });
  await f.api.json('POST', `/v1/portfolios/${id}/transactions/import`, user.token, 201, f.csv, { type: 'text/csv' });
  return user;
}

async function sessionIdOf(api: Api, token: string): Promise<string> {
  const { items } = await api.json<{ items: Array<{ id: string; current: boolean }> }>('GET', '/v1/me/sessions', token, 200);
  const current = items.find((s) => s.current);
  if (current === undefined) throw new Error('the session list does not mark the current session');
  return current.id;
}

export async function accountCases(f: StallsFixture): Promise<CaseGroup> {
  const { api, admin } = f;
  f.log(`${f.mode}: ${USERS} users, ${SESSIONS} sessions, two-factor users …`);
  // Enough accounts for a full page of the admin's user list (registration only: one argon2id hash each).
  let registered = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (registered < USERS) {
        registered++;
        await api.json('POST', '/v1/auth/register', undefined, 201, { email: `filler-${randomUUID()}@bench.test`, password: strongPassword() });
      }
    }),
  );
  const listed = await newUser(api, 'sessions');
  await addSessions(api, listed, SESSIONS - 1);
  const mfaUser = await newUser(api, 'mfa-status');
  await enableMfa(api, mfaUser);
  const plain = await newUser(api, 'account');

  // Per-repetition state, filled by `prepare`.
  let fresh: BenchUser = plain;
  let email = '';
  let refreshToken = '';
  let accessToken = '';
  let mfaToken = '';
  let recoveryCode = '';
  let secret = '';
  let sessionId = '';

  const freshWithSessions = async (prefix: string) => {
    fresh = await newUser(api, prefix);
    await addSessions(api, fresh, SESSIONS - 1);
  };

  return {
    cases: [
      {
        label: `POST /v1/auth/register (${EMAIL_MAX}-character email, ${PASSWORD_MAX.toLocaleString('en-US')}-character password: argon2id)`,
        routes: ['POST /v1/auth/register'],
        prepare: () => {
          email = longestEmail();
        },
        send: () => api.call('POST', '/v1/auth/register', undefined, { email, password: strongPassword(PASSWORD_MAX) }),
        expect: [201],
      },
      {
        label: `POST /v1/auth/login (wrong ${PASSWORD_MAX.toLocaleString('en-US')}-character password: argon2id, 401)`,
        routes: ['POST /v1/auth/login'],
        // A new account each time, so the failures never reach its lockout (which would skip the hash).
        prepare: async () => {
          email = `wrong-${randomUUID()}@bench.test`;
          await api.json('POST', '/v1/auth/register', undefined, 201, { email, password: strongPassword() });
        },
        send: () => api.call('POST', '/v1/auth/login', undefined, { email, password: strongPassword(PASSWORD_MAX) }),
        expect: [401],
      },
      {
        label: 'POST /v1/auth/refresh',
        routes: ['POST /v1/auth/refresh'],
        prepare: async () => {
          refreshToken = (await api.login(plain.email, plain.password)).refresh_token;
        },
        send: () => api.call('POST', '/v1/auth/refresh', undefined, { refresh_token: refreshToken }),
        expect: [200],
      },
      {
        label: 'POST /v1/auth/mfa (second step with a recovery code)',
        routes: ['POST /v1/auth/mfa'],
        prepare: async () => {
          fresh = await newUser(api, 'mfa-login');
          recoveryCode = (await enableMfa(api, fresh)).recoveryCodes[0] ?? '';
          mfaToken = (await api.json<{ mfa_token: string }>('POST', '/v1/auth/login', undefined, 200, { email: fresh.email, password: fresh.password })).mfa_token;
        },
        send: () => api.call('POST', '/v1/auth/mfa', undefined, { mfa_token: mfaToken, code: recoveryCode }),
        expect: [200],
      },
      {
        label: 'POST /v1/auth/logout',
        routes: ['POST /v1/auth/logout'],
        prepare: async () => {
          accessToken = (await api.login(plain.email, plain.password)).access_token;
        },
        send: () => api.call('POST', '/v1/auth/logout', accessToken),
        expect: [204],
      },
      { label: 'GET /v1/me', routes: ['GET /v1/me'], send: () => api.call('GET', '/v1/me', f.user.token), expect: [200] },
      { label: 'GET /v1/me/mfa (two-factor sign-in on, 10 recovery codes)', routes: ['GET /v1/me/mfa'], send: () => api.call('GET', '/v1/me/mfa', mfaUser.token), expect: [200] },
      {
        label: 'POST /v1/me/mfa/totp (start enrolment)',
        routes: ['POST /v1/me/mfa/totp'],
        prepare: async () => {
          fresh = await newUser(api, 'mfa-start');
        },
        send: () => api.call('POST', '/v1/me/mfa/totp', fresh.token),
        expect: [201],
      },
      {
        label: 'POST /v1/me/mfa/totp/confirm (turns it on: 10 recovery codes hashed)',
        routes: ['POST /v1/me/mfa/totp/confirm'],
        prepare: async () => {
          fresh = await newUser(api, 'mfa-confirm');
          secret = (await api.json<{ secret: string }>('POST', '/v1/me/mfa/totp', fresh.token, 201)).secret;
        },
        send: () => api.call('POST', '/v1/me/mfa/totp/confirm', fresh.token, { code: totpCode(secret) }),
        expect: [200],
      },
      {
        label: `DELETE /v1/me/mfa/totp (${PASSWORD_MAX.toLocaleString('en-US')}-character password: argon2id, and a recovery code)`,
        routes: ['DELETE /v1/me/mfa/totp'],
        prepare: async () => {
          fresh = await newUser(api, 'mfa-off', strongPassword(PASSWORD_MAX));
          recoveryCode = (await enableMfa(api, fresh)).recoveryCodes[0] ?? '';
        },
        send: () => api.call('DELETE', '/v1/me/mfa/totp', fresh.token, { password: fresh.password, code: recoveryCode }),
        expect: [204],
      },
      { label: `GET /v1/me/sessions (${SESSIONS} sessions)`, routes: ['GET /v1/me/sessions'], send: () => api.call('GET', '/v1/me/sessions', listed.token), expect: [200] },
      {
        label: `DELETE /v1/me/sessions/:id (one of ${SESSIONS})`,
        routes: ['DELETE /v1/me/sessions/:id'],
        prepare: async () => {
          sessionId = await sessionIdOf(api, (await api.login(listed.email, listed.password)).access_token);
        },
        send: () => api.call('DELETE', `/v1/me/sessions/${sessionId}`, listed.token),
        expect: [204],
      },
      {
        label: `POST /v1/me/password (${PASSWORD_MAX.toLocaleString('en-US')}-character passwords: argon2id verify and hash; revokes ${SESSIONS - 1} other sessions)`,
        // Each repetition first logs in SESSIONS times (argon2id each: seconds).
        repeat: f.heavyRepeat,
        routes: ['POST /v1/me/password'],
        prepare: async () => {
          fresh = await newUser(api, 'password', strongPassword(PASSWORD_MAX));
          await addSessions(api, fresh, SESSIONS - 1);
        },
        send: () => api.call('POST', '/v1/me/password', fresh.token, { current_password: fresh.password, new_password: strongPassword(PASSWORD_MAX) }),
        expect: [204],
      },
      {
        label: `POST /v1/auth/logout-all (${SESSIONS} sessions)`,
        // Each repetition first logs in SESSIONS times (argon2id each: seconds).
        repeat: f.heavyRepeat,
        routes: ['POST /v1/auth/logout-all'],
        prepare: () => freshWithSessions('logout-all'),
        send: () => api.call('POST', '/v1/auth/logout-all', fresh.token),
        expect: [204],
      },
      { label: 'GET /.well-known/jwks.json', routes: ['GET /.well-known/jwks.json'], send: () => api.call('GET', '/.well-known/jwks.json', undefined), expect: [200] },
      { label: `GET /v1/admin/users?limit=100 (${USERS}+ users)`, routes: ['GET /v1/admin/users'], send: () => api.call('GET', '/v1/admin/users?limit=100', admin), expect: [200] },
      { label: 'GET /v1/admin/users/:userId/quota', routes: ['GET /v1/admin/users/:userId/quota'], send: () => api.call('GET', `/v1/admin/users/${f.user.id}/quota`, admin), expect: [200] },
      {
        label: `PATCH /v1/admin/users/:userId (tier, role and disabled: revokes ${SESSIONS} sessions)`,
        // Each repetition first logs in SESSIONS times (argon2id each: seconds).
        repeat: f.heavyRepeat,
        routes: ['PATCH /v1/admin/users/:userId'],
        prepare: () => freshWithSessions('disabled'),
        send: () => api.call('PATCH', `/v1/admin/users/${fresh.id}`, admin, { tier: 'pro', role: 'user', disabled: true }),
        expect: [200],
      },
      { label: 'GET /v1/admin/security-events?limit=100', routes: ['GET /v1/admin/security-events'], send: () => api.call('GET', '/v1/admin/security-events?limit=100', admin), expect: [200] },
      {
        label: 'GET /v1/admin/security-events?limit=100 (filtered by user and event)',
        routes: ['GET /v1/admin/security-events'],
        send: () => api.call('GET', `/v1/admin/security-events?limit=100&user_id=${listed.id}&event=login_succeeded`, admin),
        expect: [200],
      },
    ],
    late: [
      {
        label: `DELETE /v1/me (the owner of a portfolio of ${f.rows.toLocaleString('en-US')} transactions)`,
        repeat: f.heavyRepeat,
        routes: ['DELETE /v1/me'],
        prepare: async () => {
          fresh = await userWithLargePortfolio(f, 'delete-me');
        },
        send: () => api.call('DELETE', '/v1/me', fresh.token, { password: fresh.password }),
        expect: [204],
      },
      {
        label: `DELETE /v1/admin/users/:userId (the owner of a portfolio of ${f.rows.toLocaleString('en-US')} transactions)`,
        repeat: f.heavyRepeat,
        routes: ['DELETE /v1/admin/users/:userId'],
        prepare: async () => {
          fresh = await userWithLargePortfolio(f, 'deleted-by-admin');
        },
        send: () => api.call('DELETE', `/v1/admin/users/${fresh.id}`, admin),
        expect: [204],
      },
    ],
  };
}
