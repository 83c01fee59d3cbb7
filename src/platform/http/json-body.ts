// Large JSON request bodies read without holding the event loop (FAIL-023). Parsing a
// body of megabytes and checking it against its schema are single synchronous steps
// (9 MiB: ~90 ms; a hostile shape such as one object of 800,000 keys: over a second), so a
// route that takes such bodies parses and validates them on a worker thread
// (json-body.worker.ts) with the very parser and validator the main thread would use:
// the same documents are accepted and the same answers given (400 invalid_json, the
// validation problem naming the field). The main thread keeps only cheap steps: it hands
// the bytes to the worker, and rebuilds a valid document from pieces of at most 500 items
// (~256 KiB of JSON, moved back as bytes), with a turn of the loop whenever a slice has run
// SLICE_MS. One
// thread reads one body at a time (src/platform/worker-thread.ts); at most
// MAX_WAITING_BODIES wait behind it, so the bodies held in memory are bounded, and a body
// past that is answered 503 `busy` with Retry-After before the worker sees it.
//
// Use: registerWorkerJsonBody(scope, …) in a plugin scope of its own (the content-type
// parser is per scope), and the returned `validatorCompiler` on the route, which answers
// the body's verdict from the worker. Authentication stays in onRequest: nothing is read,
// let alone sent to the worker, before it passes.
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { ErrorObject } from 'ajv';
import { errorCodes, type FastifySchemaCompiler } from 'fastify';
import { serviceUnavailable } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { createWorkerThread, WorkerBusyError } from '../worker-thread.ts';
import { createValidatorCompiler } from './schemas.ts';
import type { App } from './types.ts';

/** Longest run of rebuilding work, ms, before the loop gets a turn. */
export const SLICE_MS = 5;
/** Bodies that may wait for the reader thread (each up to the route's body limit). */
export const MAX_WAITING_BODIES = 4;

export type Path = Array<string | number>;
export interface HandOverPiece {
  /** Where the items go: the array at this path in the skeleton. */
  path: Path;
  /**
   * A JSON array of items to append to it, as UTF-8 bytes in a buffer of their own: moved
   * from the worker, not copied. Ten megabytes of strings in the reply were read in one
   * step on the main thread (about 40 ms on a slow core); bytes are decoded piece by piece,
   * inside the slices below.
   */
  json: Uint8Array<ArrayBuffer>;
}
export type BodyReply =
  | { kind: 'empty' }
  | { kind: 'invalid_json' }
  | { kind: 'invalid'; errors: ErrorObject[] }
  | { kind: 'valid'; skeleton: string; pieces: HandOverPiece[] };

type Validator = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

const utf8 = new TextDecoder();

/** The document a valid reply describes, rebuilt in slices. */
async function rebuild(skeleton: string, pieces: readonly HandOverPiece[]): Promise<unknown> {
  const document: unknown = JSON.parse(skeleton);
  let sliceStart = performance.now();
  for (const piece of pieces) {
    let target: unknown = document;
    for (const step of piece.path) target = (target as Record<string | number, unknown>)[step];
    const items = JSON.parse(utf8.decode(piece.json)) as unknown[];
    for (const item of items) (target as unknown[]).push(item);
    if (performance.now() - sliceStart >= SLICE_MS) {
      await nextTurn();
      sliceStart = performance.now();
    }
  }
  return document;
}

/**
 * Registers an `application/json` parser on `scope` that reads bodies of up to
 * `bodyLimit` bytes on a worker, checking them against `schema`; returns the validator
 * compiler its routes must use, so the body's verdict comes from that check.
 */
export function registerWorkerJsonBody(scope: App, options: { schema: object; bodyLimit: number; logger: Pick<Logger, 'warn' | 'error'> }): { validatorCompiler: FastifySchemaCompiler<unknown> } {
  const bodies = createWorkerThread<Uint8Array, BodyReply>({
    url: new URL('./json-body.worker.ts', import.meta.url),
    what: 'the JSON body reader',
    event: 'json_body',
    logger: options.logger,
    workerData: { schema: options.schema },
    maxWaiting: MAX_WAITING_BODIES,
    // A body Fastify collected owns its memory unless it is small enough to come from
    // Buffer's shared pool: moved to the worker then, not copied.
    transfer: (body) => (body.byteOffset === 0 && body.byteLength === body.buffer.byteLength && !(body.buffer instanceof SharedArrayBuffer) ? [body.buffer] : []),
  });
  /** Bodies the worker found valid, and stand-ins for those it refused with these errors. */
  const valid = new WeakSet<object>();
  const refused = new WeakMap<object, ErrorObject[]>();
  scope.addHook('onClose', () => bodies.close());

  scope.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: options.bodyLimit }, async (_request: unknown, body: Buffer) => {
    const reply = await bodies.run(body).catch((err: unknown) => {
      if (err instanceof WorkerBusyError) throw serviceUnavailable('busy', 'Too many large request bodies are being read; retry shortly.', 1);
      throw err;
    });
    switch (reply.kind) {
      case 'empty':
        throw new errorCodes.FST_ERR_CTP_EMPTY_JSON_BODY();
      case 'invalid_json':
        throw new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY();
      case 'invalid': {
        // Not rebuilt: validation answers with the worker's errors.
        const standIn = {};
        refused.set(standIn, reply.errors);
        return standIn;
      }
      case 'valid': {
        const document = await rebuild(reply.skeleton, reply.pieces);
        if (document !== null && typeof document === 'object') valid.add(document);
        return document;
      }
    }
  });

  const compile = createValidatorCompiler();
  const validatorCompiler: FastifySchemaCompiler<unknown> = (route) => {
    if (route.httpPart !== 'body') return compile(route);
    // Anything the worker did not see (no body, or a scalar document) is checked here;
    // it is small, or it would have come through the worker.
    const direct = compile(route) as Validator;
    const validate: Validator = (data) => {
      if (data !== null && typeof data === 'object') {
        if (valid.has(data)) return true;
        const errors = refused.get(data);
        if (errors !== undefined) {
          validate.errors = errors;
          return false;
        }
      }
      const ok = direct(data);
      validate.errors = direct.errors ?? null;
      return ok;
    };
    return validate;
  };
  return { validatorCompiler };
}
