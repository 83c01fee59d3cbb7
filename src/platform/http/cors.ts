// CORS for the browser origins in ALLOWED_ORIGINS (exact, bare origins; no wildcard, no
// credentials: the API authenticates with bearer tokens, not cookies).
//
//   * A request from an allowed origin gets `Access-Control-Allow-Origin` (that origin) and
//     `Access-Control-Expose-Headers`; any other request gets neither, so a browser keeps
//     the answer from a foreign page. Every answer says `Vary: Origin`, since whether it
//     carries them depends on that header.
//   * A preflight (OPTIONS with Origin and Access-Control-Request-Method) from an allowed
//     origin is answered 204 here, before any route or guard runs, with the methods, the
//     requested headers and how long the browser may keep the answer. A foreign origin's
//     preflight is a 403 problem JSON without CORS headers.
//   * Any other OPTIONS request is a 400 problem JSON: OPTIONS means nothing else here.
//
// A request without an Origin header (curl, a server, a same-origin GET) costs one header.
import type { FastifyRequest } from 'fastify';
import { AppError, badRequest } from '../errors.ts';
import type { App } from './types.ts';

export interface CorsOptions {
  /** Bare origins (`https://app.example.com`), compared exactly. */
  origins: readonly string[];
  /** Response headers a page from an allowed origin may read. */
  exposedHeaders: readonly string[];
  methods: readonly string[];
  /** How long a browser may reuse a preflight's answer. */
  maxAgeSeconds: number;
}

export function isPreflight(request: FastifyRequest): boolean {
  return request.method === 'OPTIONS' && request.headers.origin !== undefined && request.headers['access-control-request-method'] !== undefined;
}

export function registerCors(app: App, options: CorsOptions): void {
  const allowed = new Set(options.origins);
  const exposed = options.exposedHeaders.join(', ');
  const methods = options.methods.join(', ');
  const maxAge = String(options.maxAgeSeconds);

  app.addHook('onRequest', (request, reply, done) => {
    void reply.header('vary', 'Origin');
    const origin = request.headers.origin;
    const preflight = isPreflight(request);
    if (origin === undefined || !allowed.has(origin)) {
      if (!preflight) return done();
      return done(new AppError(403, 'origin_not_allowed', 'Forbidden', { detail: 'This origin may not call the API from a browser (ALLOWED_ORIGINS).' }));
    }
    void reply.header('access-control-allow-origin', origin);
    void reply.header('access-control-expose-headers', exposed);
    if (!preflight) return done();
    const requested = request.headers['access-control-request-headers'];
    void reply.header('vary', 'Origin, Access-Control-Request-Headers');
    void reply.header('access-control-allow-methods', methods);
    if (typeof requested === 'string' && requested !== '') void reply.header('access-control-allow-headers', requested);
    void reply.header('access-control-max-age', maxAge);
    // Answered from the hook: nothing after it (guards, limits after the guard, the route) runs.
    void reply.code(204).send();
  });

  // Preflights never reach a route (above). Without this route an OPTIONS request would
  // get a 404 for a path that exists.
  app.options('*', { schema: { hide: true } }, () => {
    throw badRequest('not_a_preflight', 'OPTIONS is answered only as a CORS preflight: with an Origin and an Access-Control-Request-Method header.');
  });
}
