// The worker side of json-body.ts: reads JSON request bodies off the main thread with
// exactly the parser and validator the main thread would use (Fastify's default parser,
// secure-json-parse with both prototype actions "error", then the body schema compiled by
// the app's validator compiler), and hands a valid document back in pieces the main
// thread can take one at a time.
import { workerData } from 'node:worker_threads';
import type { ErrorObject } from 'ajv';
import sjson from 'secure-json-parse';
import { createValidatorCompiler } from './schemas.ts';
import { serveTasks } from '../worker-thread.ts';
import type { BodyReply, HandOverPiece, Path } from './json-body.ts';

const utf8 = new TextEncoder();

/** Items per piece of a large array, and the most JSON text one piece should hold. */
const PIECE_ITEMS = 500;
const PIECE_CHARS = 256 * 1024;

const { schema } = workerData as { schema: object };
const validate = createValidatorCompiler()({ schema, httpPart: 'body', method: 'POST', url: '' }) as ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

/**
 * A copy of `value` without its large arrays (each left empty and queued with its path),
 * so the rest of the document is small.
 */
function strip(value: unknown, path: Path, queue: Array<{ path: Path; items: unknown[] }>): unknown {
  if (Array.isArray(value)) {
    if (value.length > PIECE_ITEMS) {
      queue.push({ path, items: value });
      return [];
    }
    return value.map((item: unknown, index) => strip(item, [...path, index], queue));
  }
  if (value === null || typeof value !== 'object') return value;
  const copy: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) copy[key] = strip(child, [...path, key], queue);
  return copy;
}

/**
 * The document as its skeleton (large arrays empty) and the pieces that fill those arrays,
 * parents before children, each piece at most PIECE_ITEMS items and about PIECE_CHARS of
 * JSON (a single larger item is a piece of its own).
 */
function handOver(document: unknown): { skeleton: string; pieces: HandOverPiece[] } {
  const queue: Array<{ path: Path; items: unknown[] }> = [];
  const skeleton = JSON.stringify(strip(document, [], queue));
  const pieces: HandOverPiece[] = [];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    const { path, items } = next;
    let parts: string[] = [];
    let chars = 0;
    const flush = () => {
      if (parts.length > 0) pieces.push({ path, json: utf8.encode(`[${parts.join(',')}]`) });
      parts = [];
      chars = 0;
    };
    for (const [index, item] of items.entries()) {
      const json = JSON.stringify(strip(item, [...path, index], queue));
      if (parts.length === PIECE_ITEMS || (parts.length > 0 && chars + json.length > PIECE_CHARS)) flush();
      parts.push(json);
      chars += json.length + 1;
    }
    flush();
  }
  return { skeleton, pieces };
}

/** An Ajv error as the error handler reads it, without a large failing value to copy back. */
function portable(error: ErrorObject): ErrorObject {
  const small = error.data === null || typeof error.data !== 'object';
  return small ? error : { ...error, data: undefined };
}

function read(chunks: Uint8Array[]): BodyReply {
  const text = Buffer.concat(chunks);
  if (text.length === 0) return { kind: 'empty' };
  let document: unknown;
  try {
    document = sjson.parse(text, { protoAction: 'error', constructorAction: 'error' });
  } catch {
    return { kind: 'invalid_json' };
  }
  if (!validate(document)) return { kind: 'invalid', errors: (validate.errors ?? []).map(portable) };
  return { kind: 'valid', ...handOver(document) };
}

// Each piece's bytes are a buffer of their own (TextEncoder.encode), moved to the main thread.
serveTasks(read, (reply) => (reply.kind === 'valid' ? reply.pieces.map((piece) => piece.json.buffer) : []));
