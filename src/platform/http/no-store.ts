// Every /v1/ response carries tokens or personal data (accounts, sessions, portfolios,
// holdings) or may be an error about them, so none may be stored by a browser or a
// shared cache (RFC 6749 §5.1, RFC 9111). Set before the route runs, so error answers
// (401, 404, 429…) carry it too; a route serving public data may override it.
import type { App } from './types.ts';

export function registerNoStore(app: App): void {
  app.addHook('onRequest', (request, reply, done) => {
    if (request.url.startsWith('/v1/')) {
      void reply.header('cache-control', 'no-store');
      void reply.header('pragma', 'no-cache');
    }
    done();
  });
}
