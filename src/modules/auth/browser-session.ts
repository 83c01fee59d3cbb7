// Browser sessions: the web app keeps its refresh token in an HttpOnly cookie, so no script
// on the page can read it. A request opts in with `X-FinanceHub-Client: web`; without that
// header the routes behave exactly as for API clients (refresh token in the JSON body).
//
// CSRF defence: a cookie is sent by the browser on any request to its path, including one a
// foreign page triggers. So a request in web mode must also carry an `Origin` from
// ALLOWED_ORIGINS, and only then is the cookie read or set. A cross-site form cannot set the
// custom header, and a cross-site fetch that sets it needs a CORS preflight, which fails for
// an origin outside the allow-list; `SameSite=Strict` is a third, independent barrier.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../platform/errors.ts';

export const WEB_CLIENT_HEADER = 'x-financehub-client';
export const WEB_CLIENT_VALUE = 'web';
export const REFRESH_COOKIE = 'fh_refresh';
/** The cookie goes only to the auth routes (refresh, logout, login), never to other API calls. */
export const REFRESH_COOKIE_PATH = '/v1/auth';

export interface BrowserSessionOptions {
  allowedOrigins: readonly string[];
  /** Seconds; the cookie lives as long as the refresh token may. */
  refreshTokenTtl: number;
}

export interface BrowserSessions {
  /**
   * true when the request opts into web mode and its Origin is allowed; false when it does
   * not opt in. A request that opts in from a foreign (or no) Origin is refused (403).
   */
  isWebClient(request: FastifyRequest): boolean;
  /** The refresh token from the cookie, or undefined. Only call after isWebClient(). */
  cookieToken(request: FastifyRequest): string | undefined;
  setCookie(request: FastifyRequest, reply: FastifyReply, token: string): void;
  clearCookie(request: FastifyRequest, reply: FastifyReply): void;
}

const crossOrigin = () =>
  new AppError(403, 'cross_origin_refused', 'Forbidden', {
    detail: 'Browser session requests must come from an allowed origin.',
  });

/** The value of one cookie; refresh tokens are base64url, so no decoding is needed. */
function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim();
      return value === '' ? undefined : value;
    }
  }
  return undefined;
}

/** `request.protocol` is https for TLS, or for `X-Forwarded-Proto: https` when TRUST_PROXY is set. */
const secureSuffix = (request: FastifyRequest) => (request.protocol === 'https' ? '; Secure' : '');

export function createBrowserSessions(options: BrowserSessionOptions): BrowserSessions {
  const allowed = new Set(options.allowedOrigins);
  return {
    isWebClient(request) {
      if (request.headers[WEB_CLIENT_HEADER] !== WEB_CLIENT_VALUE) return false;
      const origin = request.headers.origin;
      if (typeof origin !== 'string' || !allowed.has(origin)) throw crossOrigin();
      return true;
    },
    cookieToken(request) {
      const value = readCookie(request.headers.cookie, REFRESH_COOKIE);
      return value !== undefined && value.length <= 256 ? value : undefined;
    },
    setCookie(request, reply, token) {
      void reply.header(
        'set-cookie',
        `${REFRESH_COOKIE}=${token}; Path=${REFRESH_COOKIE_PATH}; Max-Age=${options.refreshTokenTtl}; HttpOnly; SameSite=Strict${secureSuffix(request)}`,
      );
      void reply.header('cache-control', 'no-store');
    },
    clearCookie(request, reply) {
      void reply.header('set-cookie', `${REFRESH_COOKIE}=; Path=${REFRESH_COOKIE_PATH}; Max-Age=0; HttpOnly; SameSite=Strict${secureSuffix(request)}`);
    },
  };
}
