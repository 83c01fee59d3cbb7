// Large JSON request bodies read without holding the event loop (FAIL-023). Parsing a
// body of megabytes and checking it against its schema are single synchronous steps
// (9 MiB: ~90 ms; a hostile shape such as one object of 800,000 keys: over a second), so a
// route that takes such bodies parses and validates them on a worker thread
// (json-body.worker.ts) with the very parser and validator the main thread would use:
// the same documents are accepted and the same answers given (400 invalid_json, the
// validation problem naming the field). The main thread keeps only cheap steps: it takes
// the bytes over chunk by chunk (takeOver below) and moves them to the worker, and it
// rebuilds a valid document from pieces of at most 500 items (~256 KiB of JSON, moved back
// as bytes), with a turn of the loop whenever a slice has run SLICE_MS. One thread reads
// one body at a time (src/platform/worker-thread.ts); at most MAX_WAITING_BODIES wait
// behind it, so the bodies held in memory are bounded, and a body past that is answered
// 503 `busy` with Retry-After before the worker sees it.
//
// Use: registerWorkerJsonBody(scope, …) in a plugin scope of its own (the content-type
// parser is per scope), and the returned `validatorCompiler` on the route, which answers
// the body's verdict from the worker. Authentication stays in onRequest: nothing is read,
// let alone sent to the worker, before it passes.
import type { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { ErrorObject } from 'ajv';
import { errorCodes, type FastifyRequest, type FastifySchemaCompiler } from 'fastify';
import { serviceUnavailable } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { createWorkerThread, WorkerBusyError } from '../worker-thread.ts';
import { createValidatorCompiler } from './schemas.ts';
import type { App } from './types.ts';

/** Longest run of rebuilding work, ms, before the loop gets a turn. */
export const SLICE_MS = 5;
/** Bodies that may wait for the reader thread (each up to the route's body limit). */
export const MAX_WAITING_BODIES = 4;
/** Most bytes of a body copied in one step while it is taken over from the request. */
const COPY_STEP_BYTES = 1024 * 1024;

/**
 * The body of `payload` in buffers of its own, at most `limit` bytes, with Fastify's
 * answers for a body too large (413, before reading when Content-Length says so) and for
 * a length that is not the announced one (400). Fastify's buffer parser copies a whole
 * body in one step once it has arrived (so the parser never holds a view of the socket's
 * read buffer): 32–56 ms of CPU for 10 MiB on a slow core. Here each chunk is copied as it
 * arrives, one larger than COPY_STEP_BYTES in steps with a turn of the loop between them
 * (the stream paused meanwhile), and the buffers are then moved to the worker, not copied.
 */
function takeOver(payload: Readable, limit: number, contentLength: number): Promise<Array<Uint8Array<ArrayBuffer>>> {
  if (contentLength > limit) return Promise.reject(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
  return new Promise((resolve, reject) => {
    const owned: Array<Uint8Array<ArrayBuffer>> = [];
    let received = 0;
    let copying: Promise<void> = Promise.resolve();
    const stop = () => {
      payload.removeListener('data', onData);
      payload.removeListener('end', onEnd);
      payload.removeListener('error', onEnd);
    };
    const onData = (chunk: Buffer | string) => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      received += bytes.length;
      const encoded = (payload as Readable & { receivedEncodedLength?: number }).receivedEncodedLength ?? 0;
      if (received > limit || encoded > limit) {
        stop();
        reject(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
        return;
      }
      if (bytes.length <= COPY_STEP_BYTES) {
        owned.push(new Uint8Array(bytes));
        return;
      }
      payload.pause();
      copying = copying.then(async () => {
        for (let at = 0; at < bytes.length; at += COPY_STEP_BYTES) {
          owned.push(new Uint8Array(bytes.subarray(at, at + COPY_STEP_BYTES)));
          await nextTurn();
        }
        payload.resume();
      });
    };
    const onEnd = (err?: Error & { statusCode?: number }) => {
      stop();
      if (err !== undefined) {
        if (typeof err.statusCode !== 'number' || err.statusCode < 400) err.statusCode = 400;
        reject(err);
        return;
      }
      copying.then(() => {
        const announced = Number.isNaN(contentLength) ? undefined : contentLength;
        const encoded = (payload as Readable & { receivedEncodedLength?: number }).receivedEncodedLength;
        if (announced !== undefined && (encoded || received) !== announced) reject(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
        else resolve(owned);
      }, reject);
    };
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onEnd);
    payload.resume();
  });
}

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
  const bodies = createWorkerThread<Array<Uint8Array<ArrayBuffer>>, BodyReply>({
    url: new URL('./json-body.worker.ts', import.meta.url),
    what: 'the JSON body reader',
    event: 'json_body',
    logger: options.logger,
    workerData: { schema: options.schema },
    maxWaiting: MAX_WAITING_BODIES,
    // Each chunk was copied into a buffer of its own (takeOver): moved, not copied again.
    transfer: (chunks) => chunks.map((chunk) => chunk.buffer),
  });
  /** Bodies the worker found valid, and stand-ins for those it refused with these errors. */
  const valid = new WeakSet<object>();
  const refused = new WeakMap<object, ErrorObject[]>();
  scope.addHook('onClose', () => bodies.close());

  scope.addContentTypeParser('application/json', async (request: FastifyRequest, payload: Readable) => {
    const chunks = await takeOver(payload, options.bodyLimit, Number(request.headers['content-length']));
    const reply = await bodies.run(chunks).catch((err: unknown) => {
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
