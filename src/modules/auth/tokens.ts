// Access tokens (FAIL-006): short-lived JWTs signed with an asymmetric key named by `kid`.
// Verification pins the algorithm list, issuer, audience, header type and `token_use`,
// checks exp/nbf against the injected clock and refuses an `iat` in the future (beyond
// IAT_SKEW_SECONDS), so an expired, premature, future-dated, foreign,
// unsigned (`alg: none`), HMAC-forged or refresh token never passes as an access token.
// Refresh tokens are opaque random strings stored only as SHA-256 hashes.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import type { Clock } from '../../platform/clock.ts';
import { SIGNING_ALGORITHMS, type KeyStore } from './keys.ts';

export const ACCESS_TOKEN_TYPE = 'at+jwt';
export const ACCESS_TOKEN_USE = 'access';

export interface AccessClaims {
  userId: string;
  sessionId: string;
  jti: string;
  expiresAt: Date;
}

export interface IssuedAccessToken {
  token: string;
  expiresIn: number;
  expiresAt: Date;
}

export interface AccessTokenOptions {
  keys: KeyStore;
  clock: Clock;
  issuer: string;
  audience: string;
  ttlSeconds: number;
}

/** Clock difference between instances tolerated on `iat`; a token issued later than this is refused. */
export const IAT_SKEW_SECONDS = 5;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function createAccessTokens(options: AccessTokenOptions) {
  const { keys, clock, issuer, audience, ttlSeconds } = options;
  return {
    ttlSeconds,
    issue: async (subject: { userId: string; sessionId: string }): Promise<IssuedAccessToken> => {
      const { kid, alg, key } = await keys.signingKey();
      const iat = Math.floor(clock.now().getTime() / 1000);
      const exp = iat + ttlSeconds;
      const token = await new SignJWT({ sid: subject.sessionId, token_use: ACCESS_TOKEN_USE })
        .setProtectedHeader({ alg, kid, typ: ACCESS_TOKEN_TYPE })
        .setIssuer(issuer)
        .setAudience(audience)
        .setSubject(subject.userId)
        .setIssuedAt(iat)
        .setNotBefore(iat)
        .setExpirationTime(exp)
        .setJti(randomUUID())
        .sign(key);
      return { token, expiresIn: ttlSeconds, expiresAt: new Date(exp * 1000) };
    },
    /** The claims of a valid access token, or null for anything else (never throws). */
    verify: async (token: string): Promise<AccessClaims | null> => {
      try {
        const header = decodeProtectedHeader(token);
        if (typeof header.kid !== 'string' || header.typ !== ACCESS_TOKEN_TYPE) return null;
        const found = await keys.verificationKey(header.kid);
        if (found === undefined || header.alg !== found.alg) return null;
        const { payload } = await jwtVerify<JWTPayload & { sid?: unknown; token_use?: unknown }>(token, found.key, {
          algorithms: [...SIGNING_ALGORITHMS].filter((a) => a === found.alg),
          issuer,
          audience,
          typ: ACCESS_TOKEN_TYPE,
          currentDate: clock.now(),
          requiredClaims: ['iss', 'aud', 'sub', 'iat', 'nbf', 'exp', 'jti'],
        });
        if (payload.token_use !== ACCESS_TOKEN_USE) return null;
        if (typeof payload.sub !== 'string' || !UUID.test(payload.sub)) return null;
        if (typeof payload.sid !== 'string' || !UUID.test(payload.sid)) return null;
        if (typeof payload.jti !== 'string' || typeof payload.exp !== 'number') return null;
        // Issued in the future: never by this service's clocks; a forged or replayed-from-the-future token.
        if (typeof payload.iat !== 'number' || payload.iat > clock.now().getTime() / 1000 + IAT_SKEW_SECONDS) return null;
        return { userId: payload.sub, sessionId: payload.sid, jti: payload.jti, expiresAt: new Date(payload.exp * 1000) };
      } catch {
        // Malformed, badly signed, expired, premature or foreign: all the same "no".
        return null;
      }
    },
  };
}

export type AccessTokens = ReturnType<typeof createAccessTokens>;

/** 256 bits from the CSPRNG, base64url: what the client holds. */
export function newRefreshToken(): string {
  return randomBytes(32).toString('base64url');
}

/** What the database holds instead of the token. */
export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
