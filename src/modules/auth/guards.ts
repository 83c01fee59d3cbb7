// The route guards every module uses (src/platform/http/principal.ts). A request passes
// with a valid access token (FAIL-006: see tokens.ts) of a session that exists and is not
// revoked, of a user that exists and is not disabled. Role and tier come from the user
// record, not from the token, so a demotion or tier change applies without waiting for
// tokens to expire.
// Everything on this path is read from memory when it can be: a verified
// token's claims are kept by the token's SHA-256 until it expires (bounded LRU), so the
// same token is not verified again (an EdDSA verify costs 200–400 µs of main-thread
// CPU); session and user states come from the revocation list, with the staleness bound
// and invalidation described in revocation.ts. Revocation drops the session's cached tokens.
import { hash as digest } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Clock } from '../../platform/clock.ts';
import { currentContext } from '../../platform/context.ts';
import { forbidden, unauthorized } from '../../platform/errors.ts';
import type { Guards, Principal } from '../../platform/http/principal.ts';
import type { User } from '../users/index.ts';
import type { RevocationList, SessionState } from './revocation.ts';
import type { AccessClaims, AccessTokens } from './tokens.ts';

/** How many verified tokens one instance keeps. */
export const MAX_CACHED_TOKENS = 10_000;

export interface AuthGuardDeps {
  accessTokens: AccessTokens;
  revocations: RevocationList;
  clock: Clock;
}

export interface AuthGuards extends Guards {
  /** The principal for a request's bearer token, or null; never throws. */
  authenticate: (request: FastifyRequest) => Promise<Principal | null>;
  /** True when an admin's valid access token is presented (health details, metrics). */
  isAdmin: (request: FastifyRequest) => Promise<boolean>;
  /** Forget a user's cached record on every instance (after a role/tier/disabled change or deletion). */
  forgetUser: (userId: string) => void;
  /** The user record the guard loaded for this request (behind requireUser/requireAdmin). */
  userOf: (request: FastifyRequest) => User;
  /** True when the request's bearer token is one this instance has verified and not seen expire or revoked; no I/O. */
  isVerifiedToken: (request: FastifyRequest) => boolean;
}

export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(header);
  return match?.[1];
}

/** A request's bearer token and its SHA-256 (base64), the key of the verified-token cache. */
interface PresentedToken {
  token: string;
  hash: string;
}

// What the guard learns about a request is kept on the request itself, under symbols no
// other module can name. declareGuardFields gives every request these fields from the
// start, so setting them keeps the request's shape; a WeakMap keyed by the request cost a
// garbage-collector write barrier per request and a table entry to clear after it.
const PRESENTED: unique symbol = Symbol('presentedToken');
const LOADED_USER: unique symbol = Symbol('loadedUser');

declare module 'fastify' {
  interface FastifyRequest {
    /** The bearer token and its hash once read; null when there is none; undefined before it is read. */
    [PRESENTED]: PresentedToken | null | undefined;
    /** The user record the guard loaded, behind requireUser/requireAdmin. */
    [LOADED_USER]: User | undefined;
  }
}

/** Declares the guard's request fields (and `principal`) on every request of `app`; before any route. */
export function declareGuardFields(app: FastifyInstance): void {
  app.decorateRequest('principal', null);
  app.decorateRequest(PRESENTED, undefined);
  app.decorateRequest(LOADED_USER, undefined);
}

interface Authenticated {
  principal: Principal;
  user: User;
}

export function createAuthGuards(deps: AuthGuardDeps): AuthGuards {
  const { accessTokens, revocations, clock } = deps;
  // Token hash → claims; and per session the hashes, to drop them on revocation.
  const verified = new Map<string, AccessClaims>();
  const bySession = new Map<string, Set<string>>();

  const forgetToken = (hash: string, claims: AccessClaims) => {
    verified.delete(hash);
    const hashes = bySession.get(claims.sessionId);
    hashes?.delete(hash);
    if (hashes?.size === 0) bySession.delete(claims.sessionId);
  };

  revocations.onRevoked((message) => {
    const ids = message.session_id === null ? [] : [message.session_id];
    if (message.session_id === null) for (const claims of verified.values()) if (claims.userId === message.user_id) ids.push(claims.sessionId);
    for (const id of ids) for (const hash of bySession.get(id) ?? []) verified.delete(hash);
    for (const id of ids) bySession.delete(id);
  });

  // The bearer token is read and hashed once per request: the limits' hook asks
  // isVerifiedToken first, then the guard decides.
  const presentedToken = (request: FastifyRequest): PresentedToken | null => {
    let found = request[PRESENTED];
    if (found === undefined) {
      const token = bearerToken(request);
      found = token === undefined ? null : { token, hash: digest('sha256', token, 'base64') };
      request[PRESENTED] = found;
    }
    return found;
  };

  const verify = async ({ token, hash }: PresentedToken): Promise<AccessClaims | null> => {
    const hit = verified.get(hash);
    if (hit !== undefined) {
      if (hit.expiresAt.getTime() > clock.now().getTime()) return hit;
      forgetToken(hash, hit);
      return null;
    }
    const claims = await accessTokens.verify(token);
    if (claims === null) return null;
    if (verified.size >= MAX_CACHED_TOKENS) {
      const oldest = verified.entries().next();
      if (oldest.done !== true) forgetToken(oldest.value[0], oldest.value[1]);
    }
    verified.set(hash, claims);
    let hashes = bySession.get(claims.sessionId);
    if (hashes === undefined) bySession.set(claims.sessionId, (hashes = new Set()));
    hashes.add(hash);
    return claims;
  };

  /** The one decision on a verified token's session and user. */
  const decide = (claims: AccessClaims, session: SessionState | null, user: User | null): Authenticated | null => {
    // FAIL-006: a token whose session row does not exist (or belongs to someone else) is refused.
    if (session === null || session.revoked || session.userId !== claims.userId) return null;
    if (user === null || user.disabled) return null;
    return { principal: { userId: user.id, sessionId: claims.sessionId, role: user.role, tier: user.tier, tokenExpiresAt: claims.expiresAt }, user };
  };

  const authenticateUser = async (request: FastifyRequest): Promise<Authenticated | null> => {
    const token = presentedToken(request);
    if (token === null) return null;
    const claims = await verify(token);
    if (claims === null) return null;
    const [session, user] = await Promise.all([revocations.session(claims.sessionId), revocations.user(claims.userId)]);
    return decide(claims, session, user);
  };

  /**
   * The same decision without a promise, for the usual request: a token this instance
   * verified and has not seen expire, whose session and user states are fresh in memory.
   * Undefined whenever anything would need I/O, or the answer is a refusal (the async path
   * then decides, and says why in the same way).
   */
  const authenticateNow = (request: FastifyRequest): Authenticated | undefined => {
    const token = presentedToken(request);
    if (token === null) return undefined;
    const claims = verified.get(token.hash);
    if (claims === undefined || claims.expiresAt.getTime() <= clock.now().getTime()) return undefined;
    const session = revocations.sessionNow(claims.sessionId);
    const user = revocations.userNow(claims.userId);
    if (session === undefined || user === undefined) return undefined;
    return decide(claims, session, user) ?? undefined;
  };

  const authenticate = async (request: FastifyRequest): Promise<Principal | null> => (await authenticateUser(request))?.principal ?? null;

  const admit = (request: FastifyRequest, { principal, user }: Authenticated): Principal => {
    request.principal = principal;
    request[LOADED_USER] = user;
    // Every later log line of this request names the user (FAIL-019): the logger's mixin
    // reads it from the async context, so no child logger is built per request.
    const context = currentContext();
    if (context !== undefined) context.userId = principal.userId;
    return principal;
  };

  const establish = async (request: FastifyRequest): Promise<Principal> => {
    const found = await authenticateUser(request);
    if (found === null) throw unauthorized();
    return admit(request, found);
  };

  return {
    authenticate,
    isAdmin: async (request) => (await authenticate(request))?.role === 'admin',
    isVerifiedToken: (request) => {
      const token = presentedToken(request);
      if (token === null) return false;
      const hit = verified.get(token.hash);
      return hit !== undefined && hit.expiresAt.getTime() > clock.now().getTime();
    },
    forgetUser: (userId) => revocations.userChanged(userId),
    userOf: (request) => {
      const user = request[LOADED_USER];
      if (user === undefined) throw unauthorized();
      return user;
    },
    // Callback-style, as the Guards contract (onRequestHookHandler) declares; synchronous
    // when everything is in memory.
    requireUser: (request, _reply, done) => {
      const now = authenticateNow(request);
      if (now !== undefined) {
        admit(request, now);
        return done();
      }
      establish(request).then(
        () => done(),
        (err: Error) => done(err),
      );
    },
    requireAdmin: (request, _reply, done) => {
      const now = authenticateNow(request);
      if (now !== undefined) return done(admit(request, now).role === 'admin' ? undefined : forbidden());
      establish(request).then(
        (principal) => done(principal.role === 'admin' ? undefined : forbidden()),
        (err: Error) => done(err),
      );
    },
  };
}
