// Turns every error into problem JSON. Domain errors (AppError) and client errors
// Fastify raises keep their status and a clear detail; anything else is logged once with
// its stack and answered with a generic 500 carrying only the request id (FAIL-004).
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

export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  problem: Omit<Problem, 'type' | 'requestId'> & Record<string, unknown>,
  headers: Record<string, string> = {},
): FastifyReply {
  const body: Problem = { type: problemType(problem.code), ...problem, requestId: request.id };
  return reply.code(problem.status).headers(headers).type(PROBLEM_CONTENT_TYPE).send(body);
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
    const status = typeof error.statusCode === 'number' ? error.statusCode : 500;
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
