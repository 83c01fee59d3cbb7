// Shutdown drain (FAIL-023). Once app.close() begins, every request that reaches the
// server gets 503 problem JSON (`shutting_down`, Retry-After) with `Connection: close`,
// so a client knows it was not processed and does not reuse the connection. Before the
// server closes its idle keep-alive connections it waits a short grace, so a request a
// client had already sent on one is read and answered with that 503 instead of being
// cut off with a connection reset. Requests already in flight finish normally (their
// answer, too, carries `Connection: close`, so their connection does not outlive it), and
// `/health/live` keeps answering (with `Connection: close`) while the process runs.
import { AppError } from '../errors.ts';
import type { App } from './types.ts';

export interface DrainOptions {
  /** How long idle keep-alive connections stay open after shutdown begins, ms. */
  graceMs: number;
  retryAfterSeconds: number;
}

export function registerDrain(app: App, options: DrainOptions): void {
  let draining = false;
  app.addHook('preClose', (done) => {
    draining = true;
    // Nothing listens when the app only answers inject() (tests): no connections to wait for.
    if (!app.server.listening || options.graceMs === 0) return done();
    setTimeout(done, options.graceMs).unref();
  });
  // A request that was in flight when shutdown began is answered normally, but on a
  // connection that then closes: left open as keep-alive it would hold the server's close
  // until the client let go of it (or SHUTDOWN_TIMEOUT_MS passed).
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (draining) reply.header('connection', 'close');
    done(null, payload);
  });
  app.addHook('onRequest', (request, reply, done) => {
    if (!draining) return done();
    if (request.routeOptions.url === '/health/live') {
      reply.header('connection', 'close');
      return done();
    }
    reply.header('connection', 'close');
    done(
      new AppError(503, 'shutting_down', 'Service unavailable', {
        detail: 'The server is shutting down; the request was not processed. Retry it on another connection.',
        headers: { 'retry-after': String(options.retryAfterSeconds), connection: 'close' },
      }),
    );
  });
}
