// /v1/auth/*, /v1/me, /v1/me/sessions and the public signing keys.
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { notFound, unauthorized, validationFailed } from '../../platform/errors.ts';
import { principalOf, type Guards } from '../../platform/http/principal.ts';
import { problemResponses } from '../../platform/http/problem.ts';
import type { App } from '../../platform/http/types.ts';
import type { UsersService } from '../users/index.ts';
import type { AccountService } from './account.service.ts';
import type { AuthService, Caller, TokenPair } from './auth.service.ts';
import {
  ChangePasswordBody,
  DeleteAccountBody,
  Jwks,
  LoginBody,
  LoginResponse,
  MfaConfirmBody,
  MfaDisableBody,
  MfaEnrolment,
  MfaLoginBody,
  MfaStatus,
  RecoveryCodes,
  RefreshBody,
  RegisterBody,
  SessionList,
  SessionParams,
  TokenResponse,
  UserResponse,
} from './auth.schemas.ts';
import type { BrowserSessions } from './browser-session.ts';
import type { AccountMailer } from './account-mail.ts';
import type { AuthGuards } from './guards.ts';
import type { KeyStore } from './keys.ts';
import type { SecurityEvents } from './security-events.ts';

export interface AuthRouteDeps {
  auth: AuthService;
  account: AccountService;
  users: UsersService;
  guards: Guards & Pick<AuthGuards, 'userOf'>;
  keys: KeyStore;
  events: SecurityEvents;
  browser: BrowserSessions;
  /** Account email (SMTP_URL): registration enqueues the verification, or the taken address's notice. */
  mail?: AccountMailer | undefined;
}

const MAX_USER_AGENT = 512;

/** request.ip honours X-Forwarded-For only when TRUST_PROXY is set (Fastify's trustProxy). */
export function callerOf(request: FastifyRequest): Caller {
  const ua = request.headers['user-agent'];
  return { ip: request.ip, userAgent: typeof ua === 'string' && ua !== '' ? ua.slice(0, MAX_USER_AGENT) : null };
}

const webTokenBody = (pair: TokenPair) => ({
  access_token: pair.accessToken,
  token_type: 'Bearer' as const,
  expires_in: pair.expiresIn,
});
const tokenBody = (pair: TokenPair) => ({ ...webTokenBody(pair), refresh_token: pair.refreshToken });

const secured = [{ bearer: [] }];

const webModeDescription =
  ' With `X-FinanceHub-Client: web` and an `Origin` from ALLOWED_ORIGINS (else 403 `cross_origin_refused`), the refresh token travels in an HttpOnly cookie instead (see docs/web.md).';

export function authRoutes(app: App, deps: AuthRouteDeps): void {
  const { auth, users, guards } = deps;

  app.post(
    '/v1/auth/register',
    {
      schema: {
        tags: ['auth'],
        summary: 'Create an account',
        description:
          'A taken email answers exactly like a new one (FAIL-010); its owner finds a `registration_email_taken` security event and, when the server sends email, a notice. A new account gets a verification email then.',
        body: RegisterBody,
        response: { 201: UserResponse, ...problemResponses },
      },
    },
    async (request, reply) => {
      const mail = deps.mail;
      // With email, both outcomes enqueue one mail job in the insert's transaction (a
      // verification, or a notice to the address's owner): the same work, the same answer.
      const { user, existingUserId } = await users.register(
        request.body,
        mail === undefined
          ? undefined
          : async (q, outcome) => {
              if (outcome.kind === 'created') await mail.enqueue(q, { kind: 'verify_email', user_id: outcome.userId });
              else if (outcome.existingUserId !== null) await mail.enqueue(q, { kind: 'registration_email_taken', user_id: outcome.existingUserId });
            },
      );
      const caller = callerOf(request);
      if (existingUserId === null) {
        await deps.events.recordSecurityEvent({ event: 'user_registered', userId: user.id, ip: caller.ip, userAgent: caller.userAgent });
      } else {
        await deps.events.recordSecurityEvent({ event: 'registration_email_taken', userId: existingUserId, ip: caller.ip, userAgent: caller.userAgent });
      }
      return reply
        .code(201)
        .send({ id: user.id, email: user.email, role: user.role, tier: user.tier, created_at: user.createdAt.toISOString(), email_verified: user.emailVerified });
    },
  );

  app.post(
    '/v1/auth/login',
    {
      schema: {
        tags: ['auth'],
        summary: 'Log in: a new session with an access and a refresh token',
        description: `Every failure answers the same 401 \`authentication_failed\`; throttled callers get 429 with Retry-After. With two-factor sign-in on, a correct password answers \`{mfa_required: true, mfa_token, …}\`: complete it at POST /v1/auth/mfa.${webModeDescription}`,
        body: LoginBody,
        response: { 200: LoginResponse, ...problemResponses },
      },
    },
    async (request, reply) => {
      const web = deps.browser.isWebClient(request);
      // In web mode the cookie of an earlier session marks this browser as a known device (FAIL-015).
      const known = web ? (request.body.refresh_token ?? deps.browser.cookieToken(request)) : request.body.refresh_token;
      const result = await auth.login(known === undefined ? request.body : { ...request.body, refresh_token: known }, callerOf(request));
      if (result.kind !== 'tokens') {
        return { mfa_required: true as const, mfa_token: result.mfaToken, expires_in: result.expiresIn, methods: ['totp' as const, 'recovery_code' as const] };
      }
      if (!web) return tokenBody(result);
      deps.browser.setCookie(request, reply, result.refreshToken);
      return webTokenBody(result);
    },
  );

  app.post(
    '/v1/auth/mfa',
    {
      schema: {
        tags: ['auth'],
        summary: 'Second step of a login with two-factor sign-in: the mfa_token and a TOTP or recovery code',
        description:
          'The mfa_token is single use, expires, and works only from the IP and user agent that logged in (401 `invalid_mfa_challenge`). A wrong code is 401 `mfa_failed` and counts toward the login lockout (429 `login_throttled`).',
        body: MfaLoginBody,
        response: { 200: TokenResponse, ...problemResponses },
      },
    },
    async (request, reply) => {
      const pair = await auth.completeMfa({ mfaToken: request.body.mfa_token, code: request.body.code }, callerOf(request));
      if (!deps.browser.isWebClient(request)) return tokenBody(pair);
      deps.browser.setCookie(request, reply, pair.refreshToken);
      return webTokenBody(pair);
    },  );

  app.post(
    '/v1/auth/refresh',
    {
      schema: {
        tags: ['auth'],
        summary: 'Rotate a refresh token: returns a new pair; the old token is spent',
        description: `A concurrent duplicate within REFRESH_REUSE_GRACE gets 409 \`refresh_in_progress\`; a spent token presented later revokes the session (401 \`refresh_token_reused\`).${webModeDescription} The cookie is read only in web mode; without it, \`refresh_token\` is required.`,
        body: RefreshBody,
        response: { 200: TokenResponse, ...problemResponses },
      },
    },
    async (request, reply) => {
      const fromBody = request.body.refresh_token;
      if (!deps.browser.isWebClient(request)) {
        if (fromBody === undefined) throw validationFailed([{ field: 'body.refresh_token', message: 'is required' }]);
        return tokenBody(await auth.refresh(fromBody, callerOf(request)));
      }
      const presented = fromBody ?? deps.browser.cookieToken(request);
      if (presented === undefined) throw unauthorized('authentication_failed', 'No browser session: sign in.');
      const pair = await auth.refresh(presented, callerOf(request));
      deps.browser.setCookie(request, reply, pair.refreshToken);
      return webTokenBody(pair);
    },
  );

  app.post(
    '/v1/auth/logout',
    {
      onRequest: guards.requireUser,
      schema: {
        tags: ['auth'],
        summary: 'Revoke the current session',
        security: secured,
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const web = deps.browser.isWebClient(request);
      await auth.logout(principal.userId, principal.sessionId, callerOf(request));
      if (web) deps.browser.clearCookie(request, reply);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/v1/auth/logout-all',
    {
      onRequest: guards.requireUser,
      schema: {
        tags: ['auth'],
        summary: 'Revoke every session of the caller',
        security: secured,
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      const web = deps.browser.isWebClient(request);
      await auth.revokeAllSessions(principalOf(request).userId, 'logout_all', callerOf(request));
      if (web) deps.browser.clearCookie(request, reply);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/me',
    {
      onRequest: guards.requireUser,
      schema: { tags: ['auth'], summary: 'The caller\'s account', security: secured, response: { 200: UserResponse, ...problemResponses } },
    },
    // The record the guard has just loaded (and checked): no second read.
    (request) => {
      const user = guards.userOf(request);
      return { id: user.id, email: user.email, role: user.role, tier: user.tier, created_at: user.createdAt.toISOString(), email_verified: user.emailVerified };
    },
  );

  app.delete(
    '/v1/me',
    {
      onRequest: guards.requireUser,
      schema: {
        tags: ['auth'],
        summary: 'Delete the caller\'s account and everything it owns',
        description:
          'Needs the password, and `code` (TOTP or recovery code) when two-factor sign-in is on; a wrong one is 403 `reauthentication_failed` and counts toward the login lockout. Every session is revoked first, then the account, portfolios, transactions, watchlist, idempotency keys and sessions are deleted in one transaction.',
        security: secured,
        body: DeleteAccountBody,
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      await deps.account.deleteOwnAccount(principalOf(request).userId, { password: request.body.password, code: request.body.code }, callerOf(request));
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/v1/me/password',
    {
      onRequest: guards.requireUser,
      schema: {
        tags: ['auth'],
        summary: 'Change the password: every other session is revoked, this one stays',
        description: 'A wrong current password is 403 `reauthentication_failed` and counts toward the login lockout; the new one must pass the registration policy.',
        security: secured,
        body: ChangePasswordBody,
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      await deps.account.changePassword(
        principal,
        { currentPassword: request.body.current_password, newPassword: request.body.new_password },
        callerOf(request),
      );
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/me/mfa',
    {
      onRequest: guards.requireUser,
      schema: { tags: ['auth'], summary: 'Whether two-factor sign-in is on', security: secured, response: { 200: MfaStatus, ...problemResponses } },
    },
    async (request) => {
      const status = await deps.account.mfaStatus(principalOf(request).userId);
      return { enabled: status.enabled, pending: status.pending, recovery_codes_left: status.recoveryCodesLeft };
    },
  );

  app.post(
    '/v1/me/mfa/totp',
    {
      onRequest: guards.requireUser,
      schema: {
        tags: ['auth'],
        summary: 'Start TOTP enrolment: a new secret and its otpauth:// URI (confirm with a code to turn it on)',
        security: secured,
        response: { 201: MfaEnrolment, ...problemResponses },
      },
    },
    async (request, reply) => {
      const enrolment = await deps.account.startMfaEnrolment(principalOf(request).userId);
      return reply.code(201).send({ secret: enrolment.secret, otpauth_uri: enrolment.uri });
    },
  );

  app.post(
    '/v1/me/mfa/totp/confirm',
    {
      onRequest: guards.requireUser,
      schema: {
        tags: ['auth'],
        summary: 'Turn two-factor sign-in on with a current code; returns ten recovery codes, shown only now',
        security: secured,
        body: MfaConfirmBody,
        response: { 200: RecoveryCodes, ...problemResponses },
      },
    },
    async (request) => ({ recovery_codes: await deps.account.confirmMfaEnrolment(principalOf(request).userId, request.body.code, callerOf(request)) }),
  );

  app.delete(
    '/v1/me/mfa/totp',
    {
      onRequest: guards.requireUser,
      schema: {
        tags: ['auth'],
        summary: 'Turn two-factor sign-in off (password and a current or recovery code)',
        security: secured,
        body: MfaDisableBody,
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      await deps.account.disableMfa(principalOf(request).userId, request.body, callerOf(request));
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/me/sessions',
    {
      onRequest: guards.requireUser,
      schema: { tags: ['auth'], summary: 'The caller\'s live sessions', security: secured, response: { 200: SessionList, ...problemResponses } },
    },
    async (request) => {
      const principal = principalOf(request);
      const sessions = await auth.listSessions(principal.userId);
      return {
        items: sessions.map((s) => ({
          id: s.id,
          created_at: s.createdAt.toISOString(),
          last_used_at: s.lastUsedAt.toISOString(),
          user_agent: s.userAgent,
          ip: s.ip,
          current: s.id === principal.sessionId,
        })),
        next_cursor: null,
      };
    },
  );

  app.delete(
    '/v1/me/sessions/:id',
    {
      onRequest: guards.requireUser,
      schema: {
        tags: ['auth'],
        summary: 'Revoke one of the caller\'s sessions (another user\'s id answers 404)',
        security: secured,
        params: SessionParams,
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      const revoked = await auth.revokeOwnSession(principalOf(request).userId, request.params.id, callerOf(request));
      if (!revoked) throw notFound('Session');
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/.well-known/jwks.json',
    {
      schema: { tags: ['auth'], summary: 'Public keys that verify access tokens', response: { 200: Jwks, ...problemResponses } },
    },
    async (_request, reply) => {
      void reply.header('cache-control', 'public, max-age=300');
      // Stored public JWKs always carry kty, kid and alg (keys.ts sets them).
      return deps.keys.jwks() as { keys: Array<{ kty: string; kid: string; alg: string }> };
    },
  );
}
