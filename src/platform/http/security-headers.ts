// Security headers (helmet's defaults: CSP, HSTS, X-Frame-Options, nosniff, …) on every
// response, errors included. The headers depend only on the configuration, never on the
// request, so they are computed once, by running helmet against a stand-in response at
// start, and set from that table on each request: @fastify/helmet instead builds helmet's
// middleware again for every request (1–9 % of a cheap request's CPU, issue 14). A route
// that needs another policy (the /docs page) sets its own header, which wins.
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

export function registerSecurityHeaders(app: App, options: Readonly<HelmetOptions> = {}): void {
  const headers = securityHeaders(options);
  app.addHook('onRequest', (_request, reply, done) => {
    void reply.headers(headers);
    done();
  });
}
