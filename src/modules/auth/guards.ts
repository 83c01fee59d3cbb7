// The route guards every module uses (src/platform/http/principal.ts). A request passes
// with a valid access token (FAIL-006: see tokens.ts) of a session that is not revoked,
// of a user that exists and is not disabled. Role and tier come from the user record
// (cached for a few seconds per instance), not from the token, so a demotion or tier
// change applies without waiting for tokens to expire.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../../platform/clock.ts';
import { currentContext } from '../../platform/context.ts';
import { forbidden, unauthorized } from '../../platform/errors.ts';
import type { Guards, Principal } from '../../platform/http/principal.ts';
import type { User } from '../users/index.ts';
import type { RevocationList } from './revocation.ts';
import type { AccessTokens } from './tokens.ts';

export const USER_CACHE_TTL_MS = 5_000;
const MAX_CACHED_USERS = 50_000;

export interface AuthGuardDeps {
  accessTokens: AccessTokens;
  revocations: RevocationList;
  getUser: (id: string) => Promise<User | null>;
  clock: Clock;
}

export interface AuthGuards extends Guards {
  /** The principal for a request's bearer token, or null; never throws. */
  authenticate: (request: FastifyRequest) => Promise<Principal | null>;
  /** True when an admin's valid access token is presented (health details, metrics). */
  isAdmin: (request: FastifyRequest) => Promise<boolean>;
  /** Drops a cached user record (after a role/tier/disabled change on this instance). */
  forgetUser: (userId: string) => void;
}

export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(header);
  return match?.[1];
}

export function createAuthGuards(deps: AuthGuardDeps): AuthGuards {
  const { accessTokens, revocations, clock } = deps;
  const cache = new Map<string, { user: User | null; at: number }>();

  const loadUser = async (id: string): Promise<User | null> => {
    const now = clock.now().getTime();
    const hit = cache.get(id);
    if (hit !== undefined && now - hit.at < USER_CACHE_TTL_MS) return hit.user;
    const user = await deps.getUser(id);
    if (cache.size >= MAX_CACHED_USERS) cache.clear();
    cache.set(id, { user, at: now });
    return user;
  };

  const authenticate = async (request: FastifyRequest): Promise<Principal | null> => {
    const token = bearerToken(request);
    if (token === undefined) return null;
    const claims = await accessTokens.verify(token);
    if (claims === null) return null;
    if (await revocations.isRevoked(claims.sessionId)) return null;
    const user = await loadUser(claims.userId);
    if (user === null || user.disabled) return null;
    return { userId: user.id, sessionId: claims.sessionId, role: user.role, tier: user.tier, tokenExpiresAt: claims.expiresAt };
  };

  const establish = async (request: FastifyRequest, reply: FastifyReply): Promise<Principal> => {
    const principal = await authenticate(request);
    if (principal === null) throw unauthorized();
    request.principal = principal;
    // Every later log line of this request names the user (FAIL-019): the request's and
    // reply's child loggers, and the async context for code that logs without them.
    request.log = request.log.child({ userId: principal.userId });
    reply.log = request.log;
    const context = currentContext();
    if (context !== undefined) context.userId = principal.userId;
    return principal;
  };

  return {
    authenticate,
    isAdmin: async (request) => (await authenticate(request))?.role === 'admin',
    forgetUser: (userId) => void cache.delete(userId),
    // Callback-style, as the Guards contract (preHandlerHookHandler) declares.
    requireUser: (request, reply, done) => {
      establish(request, reply).then(
        () => done(),
        (err: Error) => done(err),
      );
    },
    requireAdmin: (request, reply, done) => {
      establish(request, reply).then(
        (principal) => done(principal.role === 'admin' ? undefined : forbidden()),
        (err: Error) => done(err),
      );
    },
  };
}
