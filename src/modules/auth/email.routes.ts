// The email routes, registered only when SMTP_URL is set: password reset by emailed code,
// address verification, and asking for another verification email.
import { Type } from 'typebox';
import { principalOf, type Guards } from '../../platform/http/principal.ts';
import { problemResponses } from '../../platform/http/problem.ts';
import type { App } from '../../platform/http/types.ts';
import type { EmailAccountService } from './account-mail.ts';
import { PasswordResetAccepted, PasswordResetBody, PasswordResetConfirmBody, VerifyEmailBody } from './auth.schemas.ts';
import { callerOf } from './auth.routes.ts';

export function emailRoutes(app: App, deps: { email: EmailAccountService; guards: Guards }): void {
  const { email, guards } = deps;

  app.post(
    '/v1/auth/password-reset',
    {
      schema: {
        tags: ['auth'],
        summary: 'Ask for a password-reset code by email',
        description:
          'Always 202 with the same body, whether or not the address has an account (FAIL-010); only an account\'s address gets an email. Throttled per address and per IP: 429 `password_reset_throttled` with Retry-After, the same for unknown addresses.',
        body: PasswordResetBody,
        response: { 202: PasswordResetAccepted, ...problemResponses },
      },
    },
    async (request, reply) => {
      await email.requestPasswordReset(request.body.email, callerOf(request));
      return reply.code(202).send({ status: 'accepted' as const, detail: 'If an account uses this address, a reset code is on its way.' });
    },
  );

  app.post(
    '/v1/auth/password-reset/confirm',
    {
      schema: {
        tags: ['auth'],
        summary: 'Set a new password with the emailed code: every session is signed out',
        description:
          'The code is single use and expires (PASSWORD_RESET_TOKEN_TTL); an unknown, used or expired one is 400 `invalid_email_token`. The new password must pass the registration policy (400 `weak_password`, the code stays usable). Attempts count toward the per-IP reset limit (429).',
        body: PasswordResetConfirmBody,
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      await email.confirmPasswordReset(request.body.token, request.body.new_password, callerOf(request));
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/v1/auth/verify-email',
    {
      schema: {
        tags: ['auth'],
        summary: 'Confirm the account\'s email address with the emailed code',
        description: 'Single use, expires (EMAIL_VERIFY_TOKEN_TTL); an unknown, used or expired code, or one sent to an address the account no longer has, is 400 `invalid_email_token`.',
        body: VerifyEmailBody,
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      await email.verifyEmail(request.body.token, callerOf(request));
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/v1/me/verify-email',
    {
      onRequest: guards.requireUser,
      schema: {
        tags: ['auth'],
        summary: 'Send another verification email (none when the address is verified; at most one waiting)',
        security: [{ bearer: [] }],
        response: { 202: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      await email.resendVerification(principalOf(request).userId);
      return reply.code(202).send(null);
    },
  );
}
