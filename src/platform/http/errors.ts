// Turns every error into problem JSON. Domain errors (AppError) and client errors
// Fastify raises keep their status and a clear detail; anything else is logged once with
// its stack and answered with a generic 500 carrying only the request id (FAIL-004).
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type FieldProblem } from '../errors.ts';
import { PROBLEM_CONTENT_TYPE, problemType, type Problem } from './problem.ts';
import type { App } from './types.ts';

const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_content_length',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_EMPTY_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_TYPE: 'unsupported_media_type',
};

const STATUS_TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Authentication failed',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  406: 'Not acceptable',
  408: 'Request timeout',
  409: 'Conflict',
  412: 'Precondition failed',
  413: 'Payload too large',
  415: 'Unsupported media type',
  422: 'Unprocessable content',
  428: 'Precondition required',
  429: 'Too many requests',
  500: 'Internal server error',
  503: 'Service unavailable',
};

function snake(title: string): string {
  return title.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '');
}

/**
 * Names the failing field of a schema violation (`body.quantity`, `query.sort`) with one
 * message per field. A union (`anyOf`) reports every branch's failure; those are folded
 * into one: "must be one of: asc, desc", a branch's own rule (a pattern), or
 * "must be string or null".
 */
function fieldProblems(error: FastifyError): FieldProblem[] {
  const part = error.validationContext === 'querystring' ? 'query' : (error.validationContext ?? 'body');
  const byField = new Map<string, { messages: string[]; allowed: string[]; types: string[] }>();
  for (const issue of error.validation ?? []) {
    const params = issue.params;
    const path = issue.instancePath.replace(/^\//, '').replace(/\//g, '.');
    const extra =
      typeof params.missingProperty === 'string'
        ? params.missingProperty
        : typeof params.additionalProperty === 'string'
          ? params.additionalProperty
          : '';
    const field = [part, path, extra].filter(Boolean).join('.');
    const entry = byField.get(field) ?? { messages: [], allowed: [], types: [] };
    byField.set(field, entry);
    if (issue.keyword === 'anyOf' || issue.keyword === 'oneOf') continue; // its branches speak for it
    // With ajv's `verbose` the issue also carries the failing value and its schema.
    const verbose = issue as { data?: unknown; parentSchema?: Record<string, unknown> };
    if (issue.keyword === 'type' && typeof verbose.data === 'number' && verbose.parentSchema?.['x-decimal'] === true) {
      entry.messages.push('must be a decimal string, not a JSON number: send decimals as strings, e.g. "12.50"');
      continue;
    }
    if (issue.keyword === 'const') entry.allowed.push(String(params.allowedValue));
    else if (issue.keyword === 'enum' && Array.isArray(params.allowedValues)) entry.allowed.push(...params.allowedValues.map(String));
    else if (issue.keyword === 'type' && typeof params.type === 'string') entry.types.push(params.type);
    else entry.messages.push(typeof params.additionalProperty === 'string' ? 'is not an allowed property' : (issue.message ?? 'is invalid'));
  }
  return [...byField].map(([field, entry]) => {
    if (entry.allowed.length > 0) return { field, message: `must be one of: ${entry.allowed.join(', ')}` };
    // A branch whose type matched failed on its own rule (a pattern, a length): that is the news.
    const first = entry.messages[0];
    if (first !== undefined) return { field, message: first };
    if (entry.types.length > 0) return { field, message: `must be ${[...new Set(entry.types)].join(' or ')}` };
    return { field, message: 'is invalid' };
  });
}

/**
 * The error Fastify raises for a request its schema refuses. The error handler answers
 * from its `validation` issues alone (fieldProblems), so it carries no message text and no
 * stack: Fastify's default formatter built a sentence nobody read and captured a stack
 * trace, 10+ µs of every refused request, which anyone can send. Passed as the
 * `schemaErrorFormatter` option.
 */
export function schemaErrorFormatter(): Error {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new Error('validation failed');
  } finally {
    Error.stackTraceLimit = limit;
  }
}

export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  problem: Omit<Problem, 'type' | 'requestId'> & Record<string, unknown>,
  headers: Record<string, string> = {},
): FastifyReply {
  const body: Problem = { type: problemType(problem.code), ...problem, requestId: request.id };
  return reply.code(problem.status).headers(headers).type(PROBLEM_CONTENT_TYPE).send(body);
}

/**
 * Errors Fastify raises before routing (a malformed percent-encoding in the URL, a path
 * parameter over its length limit): problem JSON like every other answer, not Fastify's
 * own body. Passed as the `frameworkErrors` option.
 */
export function frameworkErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const invalidUrl = error.code === 'FST_ERR_BAD_URL' || error.code === 'FST_ERR_MAX_PARAM_LENGTH';
  void sendProblem(request, reply, {
    title: invalidUrl ? 'Bad request' : (STATUS_TITLES[500] ?? 'Internal server error'),
    status: invalidUrl ? 400 : 500,
    code: invalidUrl ? 'invalid_url' : 'internal_error',
    detail: invalidUrl ? 'The URL is not valid (malformed percent-encoding or an over-long path segment).' : 'An unexpected error occurred.',
  });
}

/**
 * Errors Node's HTTP parser raises before there is a request (headers over
 * `maxHeaderSize`, a malformed request line, a header timeout): a problem JSON answer
 * written on the socket, which is then closed. Passed as the `clientErrorHandler` option.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, detail] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'header_too_large', 'The request headers exceed the allowed size.']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'request_timeout', 'The request was not received in time.']
        : [400, 'bad_request', 'The request could not be parsed as HTTP.'];
  const title = status === 431 ? 'Request header fields too large' : (STATUS_TITLES[status] ?? 'Bad request');
  const body = JSON.stringify({ type: problemType(code), title, status, code, detail, requestId: randomUUID() } satisfies Problem);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${title}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** PostgreSQL/PGlite foreign-key violation (23503) on a `<table>_user_fk` constraint (migration 0050). */
function isWriteForDeletedUser(error: unknown): boolean {
  const { code, constraint, message } = error as { code?: unknown; constraint?: unknown; message?: unknown };
  if (code !== '23503') return false;
  const name = typeof constraint === 'string' ? constraint : typeof message === 'string' ? message : '';
  return /_user_fk\b/.test(name);
}

export function registerErrorHandling(app: App): void {
  app.setErrorHandler((error: FastifyError | AppError, request, reply) => {
    if (error instanceof AppError) {
      return sendProblem(
        request,
        reply,
        {
          title: error.title,
          status: error.status,
          code: error.code,
          ...(error.detail === undefined ? {} : { detail: error.detail }),
          ...(error.errors === undefined ? {} : { errors: error.errors }),
          ...error.extra,
        },
        error.headers,
      );
    }
    if (error.validation !== undefined) {
      const errors = fieldProblems(error);
      return sendProblem(request, reply, {
        title: 'Validation failed',
        status: 400,
        code: 'validation_failed',
        detail: errors.map((e) => `${e.field} ${e.message}`).join('; '),
        errors,
      });
    }
    if (isWriteForDeletedUser(error)) {
      // A write racing the deletion of its user: the foreign key refused it, so nothing
      // was orphaned. The principal no longer exists, which is what 401 says.
      return sendProblem(request, reply, { title: 'Authentication failed', status: 401, code: 'authentication_failed' }, { 'www-authenticate': 'Bearer' });
    }
    const status = typeof error.statusCode === 'number' ? error.statusCode : 500;
    if (status === 415) {
      // Names what the route does accept: its OpenAPI `consumes`, JSON otherwise.
      const accepted = (request.routeOptions.schema as { consumes?: string[] } | undefined)?.consumes ?? ['application/json'];
      const sent = String(request.headers['content-type'] ?? '').split(';')[0]?.trim() || 'none';
      return sendProblem(request, reply, {
        title: STATUS_TITLES[415] ?? 'Unsupported media type',
        status,
        code: 'unsupported_media_type',
        detail: `Content-Type ${sent.slice(0, 100)} is not accepted here; send ${accepted.join(' or ')}.`,
        accepted,
      });
    }
    if (status >= 400 && status < 500) {
      const title = STATUS_TITLES[status] ?? 'Bad request';
      return sendProblem(request, reply, {
        title,
        status,
        code: FASTIFY_CODES[error.code] ?? snake(title),
        detail: error.message,
      });
    }
    request.log.error({ err: error, event: 'unhandled_error' }, 'unhandled error');
    return sendProblem(request, reply, {
      title: STATUS_TITLES[500] ?? 'Internal server error',
      status: 500,
      code: 'internal_error',
      detail: 'An unexpected error occurred. Quote the request id when reporting it.',
    });
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(request, reply, {
      title: 'Not found',
      status: 404,
      code: 'not_found',
      detail: `No route for ${request.method} ${request.url.split('?')[0] ?? ''}.`,
    }),
  );
}
