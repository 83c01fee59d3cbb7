// Request ids (FAIL-020): every request gets a UUID; an incoming X-Request-ID is kept
// only behind a trusted proxy and only when well formed. The id is returned in the
// response header and carried through async context to everything the request causes.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { runWithContext } from '../context.ts';
import type { App } from './types.ts';

const WELL_FORMED = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdGenerator(trustProxy: boolean): (req: IncomingMessage) => string {
  return (req) => {
    const incoming = req.headers['x-request-id'];
    if (trustProxy && typeof incoming === 'string' && WELL_FORMED.test(incoming)) return incoming;
    return randomUUID();
  };
}

export function registerRequestContext(app: App): void {
  app.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    runWithContext({ requestId: request.id }, done);
  });
}
