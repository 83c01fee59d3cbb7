// Security headers on every response, errors included, chosen by what the response is.
//
// Every response gets what OWASP's REST Security Cheat Sheet asks of an API answer: a CSP
// that allows nothing and no framing (`default-src 'none'; frame-ancestors 'none'`), HSTS,
// `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`, `Referrer-Policy:
// no-referrer` and `Cross-Origin-Resource-Policy: same-origin`. An HTML document (the web
// app, /docs, an HTML report) gets the rest of helmet's defaults as well, which only a
// document's browsing context reads: its CSP (unless the route set one of its own), COOP,
// Origin-Agent-Cluster, X-DNS-Prefetch-Control, X-Download-Options,
// X-Permitted-Cross-Domain-Policies and `X-XSS-Protection: 0`. Sending those on JSON
// cost a cheap read a third of its response bytes and of Node's time writing it.
//
// The headers depend only on the configuration, never on the request, so they are
// computed once, by running helmet against a stand-in response at start, and set from
// those tables on each request (@fastify/helmet builds helmet's middleware per request).
import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet, { type HelmetOptions } from 'helmet';
import type { App } from './types.ts';

/** The headers helmet sets with `options`, lower-cased, in the order it sets them. */
export function securityHeaders(options: Readonly<HelmetOptions> = {}): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader: (name: string, value: string | number | readonly string[]) => {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader: (name: string) => {
      const key = name.toLowerCase();
      headers[key] = '';
      delete headers[key];
    },
  } as unknown as ServerResponse;
  let failed: unknown;
  helmet({ ...options })({} as IncomingMessage, response, (err?: unknown) => {
    failed = err;
  });
  if (failed !== undefined) throw failed instanceof Error ? failed : new Error('helmet refused its options');
  return Object.freeze(headers);
}

/** What every response carries. */
export const API_SECURITY_HEADERS = securityHeaders({
  contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  frameguard: { action: 'deny' },
  crossOriginOpenerPolicy: false,
  originAgentCluster: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
});

/** What an HTML document carries besides: helmet's defaults that the API set leaves out, and its CSP (framing refused, as X-Frame-Options says). */
export const DOCUMENT_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(
    Object.entries(securityHeaders({ contentSecurityPolicy: { directives: { frameAncestors: ["'none'"] } } })).filter(
      ([name]) => name === 'content-security-policy' || !(name in API_SECURITY_HEADERS),
    ),
  ),
);

const CSP = 'content-security-policy';
const API_CSP = API_SECURITY_HEADERS[CSP];

export function registerSecurityHeaders(app: App): void {
  app.addHook('onRequest', (_request, reply, done) => {
    void reply.headers(API_SECURITY_HEADERS);
    done();
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    const type = reply.getHeader('content-type');
    if (typeof type === 'string' && type.startsWith('text/html')) {
      for (const [name, value] of Object.entries(DOCUMENT_SECURITY_HEADERS)) {
        // A route that set a policy of its own (the web app, a sandboxed report) keeps it.
        if (name !== CSP || reply.getHeader(CSP) === API_CSP) void reply.header(name, value);
      }
    }
    done(null, payload);
  });
}
