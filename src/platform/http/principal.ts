// Who is calling: set by the auth module's guards on authenticated routes. Other modules
// read it through principalOf() and never parse tokens themselves.
import type { FastifyRequest, onRequestHookHandler } from 'fastify';
import { unauthorized } from '../errors.ts';

export type Role = 'user' | 'admin';
export type Tier = 'free' | 'pro';

export interface Principal {
  userId: string;
  sessionId: string;
  role: Role;
  tier: Tier;
  /** When the access token presented expires (WebSockets close then unless re-authenticated). */
  tokenExpiresAt: Date;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/**
 * Route guards, created by the auth module and handed to every module's routes. Every
 * guarded route installs one as its `onRequest` hook (`{ onRequest: guards.requireUser }`):
 * it runs before the body is read, parsed or validated, so an anonymous request costs
 * only the header check (FAIL-023) and never reaches a route's input handling.
 */
export interface Guards {
  /** 401 unless a valid access token of a live session is presented. */
  requireUser: onRequestHookHandler;
  /** 401 without a valid token; 403 (with no data) for a non-admin. */
  requireAdmin: onRequestHookHandler;
}

/** The authenticated caller; only valid behind `guards.requireUser`/`requireAdmin`. */
export function principalOf(request: FastifyRequest): Principal {
  if (request.principal === null) throw unauthorized();
  return request.principal;
}
