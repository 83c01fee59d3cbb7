// Request and response schemas of the auth routes (snake_case, strict bodies).
import { Type } from 'typebox';
import { Text } from '../../platform/http/input.ts';

const Email = Text({ minLength: 1, maxLength: 320, description: 'trimmed and lower-cased before use' });

export const RegisterBody = Type.Object(
  {
    email: Email,
    password: Type.String({ minLength: 10, maxLength: 1024, description: '10–1024 characters, zxcvbn score ≥ 3' }),
  },
  { additionalProperties: false },
);

export const LoginBody = Type.Object(
  {
    email: Email,
    password: Type.String({ minLength: 1, maxLength: 1024 }),
    refresh_token: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 256,
        description: "this device's current refresh token, if it has one: a known device is not refused by the per-email failure cap (FAIL-015)",
      }),
    ),
  },
  { additionalProperties: false },
);

export const RefreshBody = Type.Object(
  { refresh_token: Type.Optional(Text({ minLength: 1, maxLength: 256, description: 'required, except in web mode where the cookie carries it' })) },
  { additionalProperties: false },
);

export const TokenResponse = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ description: 'seconds until the access token expires' }),
  refresh_token: Type.Optional(Type.String({ description: 'opaque, single use: every refresh returns a new one; absent in web mode (it is in the cookie)' })),
});

export const UserResponse = Type.Object({
  id: Type.String({ format: 'uuid' }),
  email: Type.String(),
  role: Type.Union([Type.Literal('user'), Type.Literal('admin')]),
  tier: Type.Union([Type.Literal('free'), Type.Literal('pro')]),
  created_at: Type.String({ format: 'date-time' }),
  email_verified: Type.Boolean({ description: 'the address was confirmed with an emailed code (always false when the server sends no email)' }),
});

export const SessionItem = Type.Object({
  id: Type.String({ format: 'uuid' }),
  created_at: Type.String({ format: 'date-time' }),
  last_used_at: Type.String({ format: 'date-time', description: 'last login or refresh' }),
  user_agent: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  current: Type.Boolean({ description: 'the session of the token making this request' }),
});

export const SessionList = Type.Object({
  items: Type.Array(SessionItem),
  next_cursor: Type.Null(),
});

export const SessionParams = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });

export const Jwks = Type.Object({
  keys: Type.Array(Type.Object({ kty: Type.String(), kid: Type.String(), alg: Type.String() }, { additionalProperties: true })),
});

export const MfaRequiredResponse = Type.Object({
  mfa_required: Type.Literal(true),
  mfa_token: Type.String({ description: 'opaque, single use, valid expires_in seconds, only from the IP and user agent that logged in' }),
  expires_in: Type.Integer(),
  methods: Type.Array(Type.Union([Type.Literal('totp'), Type.Literal('recovery_code')])),
});

export const LoginResponse = Type.Union([TokenResponse, MfaRequiredResponse]);

const MfaCode = Type.String({ minLength: 6, maxLength: 32, description: 'a 6-digit TOTP code or a recovery code' });

export const MfaLoginBody = Type.Object(
  { mfa_token: Type.String({ minLength: 1, maxLength: 256 }), code: MfaCode },
  { additionalProperties: false },
);

export const ChangePasswordBody = Type.Object(
  {
    current_password: Type.String({ minLength: 1, maxLength: 1024 }),
    new_password: Type.String({ minLength: 10, maxLength: 1024, description: 'same policy as registration' }),
  },
  { additionalProperties: false },
);

export const DeleteAccountBody = Type.Object(
  { password: Type.String({ minLength: 1, maxLength: 1024 }), code: Type.Optional(MfaCode) },
  { additionalProperties: false },
);

export const MfaStatus = Type.Object({
  enabled: Type.Boolean(),
  pending: Type.Boolean({ description: 'enrolment started, not yet confirmed' }),
  recovery_codes_left: Type.Integer(),
});

export const MfaEnrolment = Type.Object({
  secret: Type.String({ description: 'base32; enter it in an authenticator app or use otpauth_uri (QR code)' }),
  otpauth_uri: Type.String(),
});

export const MfaConfirmBody = Type.Object({ code: Type.String({ pattern: '^[0-9]{6}$' }) }, { additionalProperties: false });

export const RecoveryCodes = Type.Object({
  recovery_codes: Type.Array(Type.String(), { description: 'ten single-use codes, shown only now' }),
});

export const MfaDisableBody = Type.Object(
  { password: Type.String({ minLength: 1, maxLength: 1024 }), code: MfaCode },
  { additionalProperties: false },
);

const EmailToken = Type.String({ minLength: 16, maxLength: 256, pattern: '^[A-Za-z0-9_-]+$', description: 'the code from the email' });

export const PasswordResetBody = Type.Object({ email: Email }, { additionalProperties: false });

export const PasswordResetAccepted = Type.Object({
  status: Type.Literal('accepted'),
  detail: Type.String(),
});

export const PasswordResetConfirmBody = Type.Object(
  { token: EmailToken, new_password: Type.String({ minLength: 10, maxLength: 1024, description: 'same policy as registration' }) },
  { additionalProperties: false },
);

export const VerifyEmailBody = Type.Object({ token: EmailToken }, { additionalProperties: false });
