// One error model: an AppError carries a stable snake_case code and an HTTP status, and
// the HTTP layer turns it into RFC 9457 problem JSON. Anything else is a bug and is
// answered with a generic 500 (FAIL-004).

export interface FieldProblem {
  field: string;
  message: string;
}

export interface AppErrorOptions {
  detail?: string;
  headers?: Record<string, string>;
  errors?: FieldProblem[];
  cause?: unknown;
  /** Extra members of the problem body (snake_case keys). */
  extra?: Record<string, unknown>;
}

export class AppError extends Error {
  readonly status: number;
  readonly code: string;
  readonly title: string;
  readonly detail: string | undefined;
  readonly headers: Record<string, string>;
  readonly errors: FieldProblem[] | undefined;
  readonly extra: Record<string, unknown> | undefined;

  constructor(status: number, code: string, title: string, options: AppErrorOptions = {}) {
    super(options.detail ?? title, { cause: options.cause });
    this.name = 'AppError';
    this.status = status;
    this.code = code;
    this.title = title;
    this.detail = options.detail;
    this.headers = options.headers ?? {};
    this.errors = options.errors;
    this.extra = options.extra;
  }
}

export const badRequest = (code: string, detail: string, errors?: FieldProblem[]) =>
  new AppError(400, code, 'Bad request', { detail, errors });

export const validationFailed = (errors: FieldProblem[]) =>
  new AppError(400, 'validation_failed', 'Validation failed', {
    detail: errors.map((e) => `${e.field}: ${e.message}`).join('; '),
    errors,
  });

export const unauthorized = (code = 'authentication_failed', detail?: string) =>
  new AppError(401, code, 'Authentication failed', { detail, headers: { 'www-authenticate': 'Bearer' } });

export const forbidden = (detail = 'You are not allowed to do this.') =>
  new AppError(403, 'forbidden', 'Forbidden', { detail });

/** Also what another user's resource answers: it must look exactly like a missing one. */
export const notFound = (what = 'Resource') =>
  new AppError(404, 'not_found', 'Not found', { detail: `${what} not found.` });

export const conflict = (code: string, detail: string) => new AppError(409, code, 'Conflict', { detail });

export const unprocessable = (code: string, detail: string) =>
  new AppError(422, code, 'Unprocessable content', { detail });

export const tooManyRequests = (retryAfterSeconds: number, code = 'rate_limited', headers: Record<string, string> = {}) =>
  new AppError(429, code, 'Too many requests', {
    detail: `Try again in ${retryAfterSeconds} s.`,
    headers: { 'retry-after': String(retryAfterSeconds), ...headers },
  });

export const serviceUnavailable = (code: string, detail: string, retryAfterSeconds?: number) =>
  new AppError(503, code, 'Service unavailable', {
    detail,
    headers: retryAfterSeconds === undefined ? {} : { 'retry-after': String(retryAfterSeconds) },
  });
